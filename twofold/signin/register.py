"""First-time registration at sign-in ("more information required").

A user whose two-step verification is on but who has no usable method (or whom an
administrator asked to provide contact methods again) registers one here, proving it
there and then; the proof is their second factor for this sign-in.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from twofold.accounts import pending
from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core.errors import InvalidInput, RateLimited
from twofold.core.ratelimit import Limit, resume_time
from twofold.methods import base, enrolment, resets, verification
from twofold.methods.verification import SecondFactorLocked
from twofold.signin import services
from twofold.signin.views import SIGNIN_NEXT, _pending_or_restart, _safe


def _render(
    request: HttpRequest,
    user: User,
    template: str,
    context: dict,
    refused: RateLimited | None = None,
) -> HttpResponse:
    """Every wizard page shows the user's organisation's branding; ``refused``: a limit met
    on it (a cap on texts, too many codes), said on the page itself with when to retry."""
    context = {**context, "organisation": user.organisation}
    if refused is None:
        return render(request, template, context)
    context["shown"] = refused.message  # not repeated by a queued message
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(refused.retry_after)
    return response


def _locked(request: HttpRequest, user: User) -> HttpResponse | None:
    """The wizard's first page saying until when verification is locked, if it is."""
    try:
        verification.refuse_if_locked(user)
    except SecondFactorLocked as locked:
        context = {"choices": [], "refusal": locked.message, "locked": True}
        return _render(request, user, "signin/register.html", context, refused=locked)
    return None


def _choices(user: User) -> list[base.Enrolment]:
    """What the person may register here: every method's enrolments (methods/base.py)."""
    return base.enrolments_for(user, enrolment.REGISTRATION)


ACCESS_OK = "twofold.signin.access_code_ok"
_ACCESS_CODE_TRIES = Limit("reregistration-code", 10, 15 * 60)


class AccessCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Access code from your administrator"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )


def needs_registration(user: User) -> bool:
    """Only users with nothing to verify with, or asked by an administrator to start
    again, may register at sign-in: for anyone else a password alone must never be
    enough to add a method."""
    return user.must_reregister or not base.options_for(user)


def _may_register(request: HttpRequest, user: User) -> bool:
    """After an administrator's reset: only with their access code, or within the window."""
    return not resets.needs_access_code(user) or request.session.get(ACCESS_OK) == user.pk


def _registered(request: HttpRequest, user: User, preferred: str) -> HttpResponse:
    """The first method is proven: it is this sign-in's second factor. Then whatever a
    method offers right after a first one (recovery codes), else where the sign-in went."""
    resets.complete(user)
    request.session.pop(ACCESS_OK, None)
    User.objects.filter(pk=user.pk).update(preferred_option=preferred)
    amr = ["pwd", *services.amr_for(preferred)]
    services.finish(request, user, amr=amr, via="registration", option=preferred)
    messages.success(request, _("You're all set. We'll ask for this each time you sign in."))
    target = resolve_url(_safe(request, request.session.pop(SIGNIN_NEXT, None), "my-account"))
    offer = base.after_first_method(user)
    if offer is not None:
        return redirect(f"{reverse(offer.url_name)}?{urlencode({'next': target})}")
    return redirect(target)


@_pending_or_restart
def _refuse(request: HttpRequest, user: User) -> HttpResponse:
    """Why this person may not register here: they have a method (verify with it), their
    verification is locked (said, with until when), or the access code is still owed."""
    if not needs_registration(user):
        return redirect("signin-verify")
    return _locked(request, user) or redirect("signin-register")


class RegistrationHost:
    """First-time registration as a host of methods' enrolments (methods/enrolment.py):
    the person whose password was just right, who needs a method and may register one."""

    name = enrolment.REGISTRATION

    def user(self, request: HttpRequest) -> User | None:
        user = pending.pending_user(request)
        if user is None or not needs_registration(user) or not _may_register(request, user):
            return None
        return None if verification.locked_until(user) else user

    def refusal(self, request: HttpRequest) -> HttpResponse:
        return _refuse(request)  # _pending_or_restart finds the person, or restarts

    def finish(
        self, request: HttpRequest, user: User, option: str, next_url: str, said: str = ""
    ) -> HttpResponse:
        # A proof made away from this page (an app activated from the phone) may come
        # while verification is locked: the sign-in waits, and the page says until when.
        return _locked(request, user) or _registered(request, user, option)

    def person(self, request: HttpRequest) -> User | None:
        return pending.pending_user(request)

    def default_next(self) -> str:
        return reverse("signin-register")


@never_cache
@require_http_methods(["GET", "POST"])
@_pending_or_restart
def register(request: HttpRequest, user: User) -> HttpResponse:
    """Choose what to register; after an administrator's reset, first the access code."""
    if not needs_registration(user):
        return redirect("signin-verify")
    if (locked := _locked(request, user)) is not None:
        return locked
    if _may_register(request, user):
        context = {"choices": _choices(user), "reregister": user.must_reregister}
        return _render(request, user, "signin/register.html", context)
    form = AccessCodeForm(request.POST or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            _check_access_code(request, user, form.cleaned_data["code"])
        except RateLimited as limited:
            form.add_error("code", limited.message)
            refused = limited
        except InvalidInput as wrong:
            form.add_error("code", wrong.message)
        else:
            return redirect("signin-register")
    return _render(request, user, "signin/access_code.html", {"form": form}, refused)


def _check_access_code(request: HttpRequest, user: User, code: str) -> None:
    """Let this session register, if ``code`` is the administrator's; tries are limited."""
    subject = str(user.pk)
    if _ACCESS_CODE_TRIES.exceeded(subject):
        seconds = _ACCESS_CODE_TRIES.retry_after(subject)
        raise RateLimited(
            _("Too many wrong access codes. Try again after %(time)s.")
            % {"time": resume_time(seconds)},
            retry_after=seconds,
        )
    if not resets.access_code_matches(user, code):
        _ACCESS_CODE_TRIES.hit(subject)
        record(AuditAction.ACCESS_CODE_REFUSED, AuditResult.FAILURE, subject=user)
        raise InvalidInput(_("This access code is not right, or it has expired."))
    request.session[ACCESS_OK] = user.pk
