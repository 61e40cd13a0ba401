"""Password sign-in in two steps (user name, then password), sign-out and "My account"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN, PasswordResetConfirmView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from twofold.accounts import services
from twofold.accounts.forms import PasswordForm, PreferencesForm, UsernameForm
from twofold.accounts.models import User
from twofold.accounts.names import seal, unseal
from twofold.core import context as request_context
from twofold.core import languages
from twofold.core.errors import InvalidInput, RateLimited
from twofold.methods import base
from twofold.oidc import services as oidc
from twofold.organisations import services as organisations
from twofold.organisations.services import find_by_username
from twofold.signin import services as second_step
from twofold.signin.views import SIGNIN_NEXT as NEXT_URL
from twofold.web.views import bad_request

PENDING_USERNAME = "twofold.signin.username"


def _safe_next(request: HttpRequest, url: str | None) -> str | None:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


@never_cache
@require_http_methods(["GET", "POST"])
def signin_username(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("my-account")
    next_url = _safe_next(request, request.GET.get("next"))
    if next_url:
        request.session[NEXT_URL] = next_url
    form = UsernameForm(
        request.POST or None, initial={"username": unseal(request.session.get(PENDING_USERNAME))}
    )
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"].strip()
        # Sealed: a password typed into the user-name box must not sit in the session store.
        request.session[PENDING_USERNAME] = seal(username)
        # Noted in the same write: the password page, which notes it too, then writes nothing.
        organisations.remember_for_session_by_username(request, username)
        return redirect("signin-password")
    context = {"form": form, "method_panels": base.signin_panels(request)}
    return render(request, "accounts/signin_username.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def signin_password(request: HttpRequest) -> HttpResponse:
    username = unseal(request.session.get(PENDING_USERNAME))
    if not username:
        return redirect("signin")
    # Known before any check: an error page (a dependency down) shows its branding too.
    request.organisation = organisation = find_by_username(username)
    organisations.remember_for_session(request, organisation)
    if organisation is not None and organisation.is_suspended:  # no password is checked
        context = {"username": username, "organisation": organisation}
        return render(request, "accounts/signin_suspended.html", context, status=403)
    form = PasswordForm(request.POST or None)
    retry_after, support = 0, False
    if request.method == "POST" and form.is_valid():
        try:
            user = services.check_password(
                request,
                username,
                form.cleaned_data["password"],
                organisation=organisation,  # found above: not looked up twice
                say_blocked=True,
            )
        except RateLimited as limited:  # said next to the field, with when to try again
            form.add_error("password", limited.message)
            retry_after, support = limited.retry_after, True
        except services.AccountBlocked as blocked:
            form.add_error("password", blocked.message)
            support = True  # the help desk needs the correlation ID to find this refusal
        except services.InvalidCredentials as refused:
            form.add_error("password", refused.message)
        else:
            request.session.pop(PENDING_USERNAME, None)
            return _after_password(request, user)
    context = {
        "form": form,
        "username": username,
        "organisation": organisation,
        "support": support,
    }
    response = render(
        request, "accounts/signin_password.html", context, status=429 if retry_after else 200
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _after_password(request: HttpRequest, user: User) -> HttpResponse:
    """On to the second step, the registration, or (none needed) where the person was going."""
    # A push approval names the application the sign-in is for, if any.
    application = oidc.application_named_in(request.session.get(NEXT_URL), user.organisation)
    with request_context.for_application(application):
        step = second_step.after_password(request, user)
    if step is second_step.Next.CHALLENGE:
        return redirect("signin-verify")
    if step is second_step.Next.REGISTER:
        return redirect("signin-register")
    next_url = request.session.pop(NEXT_URL, None)
    return redirect(_safe_next(request, next_url) or "my-account")


@never_cache
@require_http_methods(["GET", "POST"])
def signout(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.sign_out(request)
        return render(request, "accounts/signed_out.html")
    if not request.user.is_authenticated:
        return redirect("signin")
    return render(request, "accounts/signout_confirm.html")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def my_account(request: HttpRequest) -> HttpResponse:
    """My account, with the person's language and time zone (changed without a step-up:
    neither touches a method)."""
    user = request.user
    initial = {"language": user.language, "time_zone": user.time_zone}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.set_preferences(
                user,
                language=form.cleaned_data["language"],
                time_zone=form.cleaned_data["time_zone"],
            )
        except InvalidInput as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            response = redirect("my-account")
            if changed:
                # Say it in the language just chosen: the next page will be in it too.
                with translation.override(languages.language_for(user)):
                    messages.success(request, _("Your language and time zone were saved."))
            if user.language:  # and the sign-in page keeps it after signing out
                languages.remember_in_browser(response, user.language)
            return response
    context = {"organisation": user.organisation, "form": form}
    return render(request, "accounts/my_account.html", context, status=400 if form.errors else 200)


@require_POST
def choose_language(request: HttpRequest) -> HttpResponse:
    """The sign-in page's language switch: remember the choice in the language cookie.

    A signed-in person's own setting (My account) still comes first.
    """
    code = request.POST.get("language", "")
    if not languages.supported(code):
        return bad_request(request)
    response = redirect(_safe_next(request, request.POST.get("next")) or "signin")
    languages.remember_in_browser(response, code)
    return response


@require_POST
def forget_username(request: HttpRequest) -> HttpResponse:
    """ "Use another account": go back to the user name step."""
    request.session.pop(PENDING_USERNAME, None)
    return redirect("signin")


class SetPassword(PasswordResetConfirmView):
    """The one-time set-password link (from an administrator, or from a user import)."""

    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("set-password-done")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # A directory user's password is changed in the directory: the page says so and
        # offers no form (a link made before that rule, say).
        context["kept_elsewhere"] = self.validlink and services.password_kept_elsewhere(self.user)
        return context

    def form_valid(self, form):
        # Through our service, so that the change is validated, audited and forgets devices.
        try:
            services.set_password(
                form.user, form.cleaned_data["new_password1"], via="one-time link"
            )
        except services.PasswordKeptElsewhere:
            return self.render_to_response(self.get_context_data(form=form))
        self.request.session.pop(INTERNAL_RESET_SESSION_TOKEN, None)
        return HttpResponseRedirect(self.get_success_url())


def set_password_done(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/set_password_done.html")
