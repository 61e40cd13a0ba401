"""The security verification settings page: one form, one Save; each method adds its own
fields to the form, its own panel and pages (the phone's numbers and the page to prove a new
one the page saved are in methods/phone/)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from twofold.accounts import services as accounts
from twofold.core.errors import InvalidInput, RateLimited, TwofoldError
from twofold.methods import base, enrolment, stepup
from twofold.selfservice import services
from twofold.selfservice.forms import SecurityVerificationForm
from twofold.signin import flow


def _step_up(request: HttpRequest) -> HttpResponse:
    target = reverse("security-verification")
    return redirect(f"{reverse('step-up')}?{urlencode({'next': target})}")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def security_verification(request: HttpRequest) -> HttpResponse:
    user = request.user
    data = request.POST or None
    form = SecurityVerificationForm(user, base.settings_fields(user, data), data)
    limit_met: RateLimited | None = None
    if request.method == "POST":
        if not stepup.may_change_methods(request):
            messages.info(request, _("Verify it's you, then save your changes again."))
            return _step_up(request)
        if form.all_valid():
            try:
                changes = [part.changes() for part in form.parts]
                result = services.save(user, form.cleaned_data["preferred_option"], changes)
            except RateLimited as limited:  # a cap on texts and calls: said here, with when
                form.add_error(None, limited.message)
                limit_met = limited
            except InvalidInput as refused:
                form.add_refusal(refused.field, refused.message)
            except TwofoldError as failed:
                form.add_error(None, failed.message)
            else:
                if result.verification is not None:
                    flow.remember(request, result.verification)
                    return redirect(result.proof_url)
                if result.changed:
                    messages.success(request, _("Your changes were saved."))
                return redirect("security-verification")
    elif (back := stepup.return_after_registration(request)) is not None:
        return redirect(back)  # the page the first method was registered for (an admin's)
    context = {
        "form": form,
        "options": base.options_for(user),
        # Each method says what waits above the form, adds its fields to it, draws its own
        # panel, and offers what may be added now (methods/base.py).
        "notices": base.settings_notices(request, user),
        "panels": base.settings_panels(request, user),
        "enrolments": base.enrolments_for(user, enrolment.SETTINGS),
        "can_change": stepup.may_change_methods(request),
        "organisation": user.organisation,
        # A directory user looking for where to change their password: not here.
        "password_kept_elsewhere": accounts.password_kept_elsewhere(user),
    }
    return _limited(render(request, "selfservice/security_verification.html", context), limit_met)


def _limited(response: HttpResponse, limit_met: RateLimited | None) -> HttpResponse:
    """A page that says a limit inline answers 429 with when to retry: never a full-page
    dead end in the middle of a change."""
    if limit_met is not None:
        response.status_code = 429
        response["Retry-After"] = str(limit_met.retry_after)
    return response


@never_cache
@login_required
@stepup.step_up_required
@require_http_methods(["GET", "POST"])
def restore_trusted_devices(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.restore_trusted_devices(request.user)
        messages.success(
            request, _("Done. Every device will ask for verification at the next sign-in.")
        )
        return redirect("security-verification")
    return render(request, "selfservice/restore_confirm.html")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """No recent second factor needed: ending the other sessions is what someone who lost
    their phone (and still has this browser) must be able to do."""
    if request.method == "POST":
        accounts.sign_out_everywhere(request.user, request=request)
        messages.success(request, _("Done. You are signed out everywhere but here."))
        return redirect("security-verification")
    return render(request, "selfservice/sign_out_confirm.html")


def mfasetup(request: HttpRequest) -> HttpResponse:
    return redirect("security-verification")
