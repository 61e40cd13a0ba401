"""Passkeys' pages: add (name it; the page's script talks to the authenticator), rename,
delete, and passwordless sign-in.

The passwordless view completes a sign-in through ``signin.services.finish``, as the
second-step pages do: an entry point of its own, reaching up from methods/ (listed in
docs/design.md's exceptions).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from twofold.core.errors import InvalidInput, NotAllowed, NotFound, RateLimited
from twofold.methods import enrolment, stepup
from twofold.methods.passkeys import passwordless, services
from twofold.methods.passkeys.forms import AddForm, AssertionForm, NameForm, PolicyForm

_SETTINGS = "security-verification"


@never_cache
@require_http_methods(["GET", "POST"])
@enrolment.hosted
def add(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    """Name the new passkey; the script fills in the authenticator's answer and posts.
    Hosted by the settings page and by first-time registration (methods/enrolment.py): in
    registration, the new passkey (made with user verification) is the second factor."""
    user = enrolling.user
    form = AddForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.finish_registration(
                request.session, user, form.cleaned_data["response"], form.cleaned_data["name"]
            )
        except (InvalidInput, NotAllowed) as refused:
            form.add_error("name" if refused.field == "name" else None, refused.message)
            status = 400
        else:
            messages.success(request, _("Your passkey is added."))
            return enrolment.finish(request, enrolling, proof=services.OPTION)
    elif request.method == "POST":
        status = 400
    context = {"form": form, "allowed": services.allowed(user), "enrolling": enrolling}
    return render(request, "passkeys/add.html", context, status=status)


@never_cache
@require_POST
@enrolment.hosted
def add_options(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    """The options for ``navigator.credentials.create()``, as JSON."""
    try:
        options = services.begin_registration(request.session, enrolling.user)
    except NotAllowed as refused:
        return JsonResponse({"error": refused.message}, status=403)
    return HttpResponse(options, content_type="application/json")


@never_cache
@login_required
@stepup.step_up_required
@require_http_methods(["GET", "POST"])
def rename(request: HttpRequest, passkey_id: int) -> HttpResponse:
    passkey = _own(request, passkey_id)
    form = NameForm(request.POST or None, initial={"name": passkey.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.rename(request.user, passkey.pk, form.cleaned_data["name"])
        except InvalidInput as refused:
            form.add_error("name", refused.message)
        else:
            messages.success(request, _("The passkey is renamed."))
            return redirect(_SETTINGS)
    status = 400 if form.errors else 200
    return render(
        request, "passkeys/rename.html", {"form": form, "passkey": passkey}, status=status
    )


@never_cache
@login_required
@stepup.step_up_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, passkey_id: int) -> HttpResponse:
    """Ask, then delete one of the user's passkeys."""
    passkey = _own(request, passkey_id)
    if request.method == "POST":
        services.delete(request.user, passkey.pk)
        messages.success(request, _("The passkey “%(name)s” is deleted.") % {"name": passkey.name})
        return redirect(_SETTINGS)
    return render(request, "passkeys/delete.html", {"passkey": passkey})


def _own(request: HttpRequest, passkey_id: int):
    try:
        return services.own_passkey(request.user, passkey_id)
    except NotFound:
        raise Http404 from None


# --- Administrators: remove a user's passkey from the user's page -------------------------


@never_cache
@require_POST
def admin_remove(request: HttpRequest, user_id: int, passkey_id: int) -> HttpResponse:
    """An administrator removes one of a user of their organisation's passkeys."""
    from twofold.adminportal.access import admin_required  # the portal's own gate

    return admin_required(_admin_remove)(request, user_id, passkey_id)


def _admin_remove(request: HttpRequest, user_id: int, passkey_id: int) -> HttpResponse:
    try:
        subject = services.user_of_organisation(request.user.organisation, user_id)
        passkey = services.own_passkey(subject, passkey_id)
        services.delete(subject, passkey.pk, actor=request.user)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("The passkey “%(name)s” is removed.") % {"name": passkey.name})
    return redirect("admin-user", user_id=subject.pk)


@never_cache
@require_POST
def admin_policy(request: HttpRequest) -> HttpResponse:
    """The passkey rules of the administrator's organisation (from the policy page)."""
    from twofold.adminportal.access import admin_required  # the portal's own gate

    return admin_required(_admin_policy)(request)


def _admin_policy(request: HttpRequest) -> HttpResponse:
    form = PolicyForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("admin-policy")
    changed = services.set_policy(
        request.user.organisation, actor=request.user, **form.cleaned_data
    )
    messages.success(request, _("Passkey rules saved.") if changed else _("Nothing changed."))
    return redirect("admin-policy")


# --- Passwordless sign-in -------------------------------------------------------------------


@never_cache
@require_POST
def signin_options(request: HttpRequest) -> HttpResponse:
    """The options for ``navigator.credentials.get()`` with any passkey of this site."""
    return HttpResponse(passwordless.begin(request.session), content_type="application/json")


@never_cache
@require_POST
def signin(request: HttpRequest) -> HttpResponse:
    """Judge the passkey's answer; a good one signs its user in, both factors at once."""
    from twofold.signin import services as second_step  # an entry point's rule (see above)
    from twofold.signin.views import SIGNIN_NEXT

    form = AssertionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Your browser sent no passkey. Try again."))
        return redirect("signin")
    try:
        used = passwordless.finish(request.session, form.cleaned_data["response"])
    except (InvalidInput, RateLimited) as refused:
        messages.error(request, refused.message)
        return redirect("signin")
    second_step.finish(
        request, used.passkey.user, amr=used.amr, via="passkey", mfa=True, option=services.OPTION
    )
    next_url = request.session.pop(SIGNIN_NEXT, None)
    safe = next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(next_url if safe else "my-account")
