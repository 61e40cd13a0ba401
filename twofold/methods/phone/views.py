"""The phone's pages: adding an authentication phone (one flow, hosted by first-time
registration and the settings page, methods/enrolment.py) and proving a new number the
settings page saved (its pending change)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from twofold.core.errors import InvalidInput, RateLimited, TwofoldError
from twofold.methods import enrolment, flow, stepup, verification
from twofold.methods.forms import CodeForm
from twofold.methods.models import ChallengePurpose, ChallengeState
from twofold.methods.phone import kinds, services
from twofold.methods.phone.forms import PhoneForm
from twofold.methods.phone.models import Phone, PhoneRole


def _render(
    request: HttpRequest,
    enrolling: enrolment.Enrolling,
    template: str,
    context: dict,
    refused: RateLimited | None = None,
) -> HttpResponse:
    """Every step shows the person's organisation's branding; ``refused``: a limit met on
    it (a cap on texts, too many codes), said on the page itself with when to retry."""
    context = {**context, "organisation": enrolling.user.organisation, "back": enrolling.next}
    response = render(request, template, context, status=429 if refused else 200)
    if refused is not None:
        response["Retry-After"] = str(refused.retry_after)
    return response


def _here(name: str, enrolling: enrolment.Enrolling) -> HttpResponse:
    from django.urls import reverse

    return redirect(f"{reverse(name)}?{urlencode({'next': enrolling.next})}")


@never_cache
@require_http_methods(["GET", "POST"])
@enrolment.hosted
def enrol(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    """A number for the authentication phone; a text or a call proves it next."""
    user = enrolling.user
    organisation = user.organisation
    if not (organisation.allows(kinds.TEXT) or organisation.allows(kinds.CALL)):
        return redirect(enrolling.next)
    form = PhoneForm(user, request.POST or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            challenge = services.request_change(
                user,
                PhoneRole.AUTHENTICATION,
                form.cleaned_data["e164"],
                mode=form.cleaned_data["mode"],
            )
        except RateLimited as limited:  # a cap on texts and calls: said here, with when
            form.add_error(None, limited.message)
            refused = limited
        except TwofoldError as failed:
            form.add_error(None, failed.message)
        else:
            flow.remember(request, challenge)
            return _here("phone-enrol-verify", enrolling)
    return _render(request, enrolling, "phone/enrol.html", {"form": form}, refused)


@never_cache
@require_http_methods(["GET", "POST"])
@enrolment.hosted
def enrol_verify(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    user = enrolling.user
    challenge = flow.current(request, user, ChallengePurpose.VERIFY_NUMBER)
    if challenge is None:
        return _here("phone-enrol", enrolling)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            approved = verification.verify(user, challenge.pk, form.cleaned_data["code"])
        except verification.SecondFactorLocked:
            return redirect(enrolling.next)  # the host says until when
        except RateLimited as limited:  # too many wrong codes from this address
            form.add_error("code", limited.message)
        except InvalidInput as refused:
            form.add_error("code", refused.message)
        else:
            return _enrolled(request, enrolling, approved)
    phone = Phone.objects.filter(user=user, role=PhoneRole.AUTHENTICATION).first()
    context = {
        "challenge": challenge,
        "phone": phone,
        "form": form,
        "mode": challenge.option.partition(":")[0],
    }
    return _render(request, enrolling, "phone/enrol_verify.html", context)


def _enrolled(request: HttpRequest, enrolling: enrolment.Enrolling, challenge) -> HttpResponse:
    try:
        services.confirm_change(enrolling.user, challenge)
    except InvalidInput as refused:  # the number went meanwhile: nothing was registered
        flow.forget(request)
        messages.error(request, refused.message)
        return _here("phone-enrol", enrolling)
    flow.forget(request)
    return enrolment.finish(request, enrolling, proof=challenge)


@never_cache
@require_POST
@enrolment.hosted
def enrol_complete(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    """A call answered with #: the waiting page posts here once the challenge is approved."""
    challenge = flow.current(request, enrolling.user, ChallengePurpose.VERIFY_NUMBER)
    if challenge is not None and challenge.state == ChallengeState.APPROVED:
        return _enrolled(request, enrolling, challenge)
    return _here("phone-enrol-verify", enrolling)


# --- Proving a new number the settings page saved (its pending change) -----------------


def _limited(response: HttpResponse, limit_met: RateLimited | None) -> HttpResponse:
    """A page that says a limit inline answers 429 with when to retry."""
    if limit_met is not None:
        response.status_code = 429
        response["Retry-After"] = str(limit_met.retry_after)
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify_phone(request: HttpRequest) -> HttpResponse:
    """Prove a new number: type the texted code, or answer the call with #."""
    user = request.user
    challenge = flow.current(request, user, ChallengePurpose.VERIFY_NUMBER)
    if challenge is None:
        return redirect("security-verification")
    role = services.proven_role(challenge)
    phone = Phone.objects.filter(user=user, role=role).first()
    form = CodeForm(request.POST or None)
    limit_met: RateLimited | None = None
    if request.method == "POST" and challenge.state == ChallengeState.PENDING and form.is_valid():
        try:
            verification.verify(user, challenge.pk, form.cleaned_data["code"])
        except RateLimited as limited:  # too many wrong codes: said beside the code
            form.add_error("code", limited.message)
            limit_met = limited
        except InvalidInput as refused:
            form.add_error("code", refused.message)
        else:
            return _confirmed(request, challenge)
    context = {
        "challenge": challenge,
        "phone": phone,
        "form": form,
        "mode": challenge.option.partition(":")[0],
    }
    return _limited(render(request, "phone/verify.html", context), limit_met)


def _confirmed(request: HttpRequest, challenge) -> HttpResponse:
    try:
        services.confirm_change(request.user, challenge)
    except InvalidInput as refused:  # the change went meanwhile: nothing was changed
        flow.forget(request)
        messages.error(request, refused.message)
        return redirect("security-verification")
    flow.forget(request)
    stepup.mark_verified(request)  # proving a number is a second factor just passed
    messages.success(request, _("Your new number is verified and in use."))
    return redirect("security-verification")


@never_cache
@login_required
@require_POST
def verify_phone_complete(request: HttpRequest) -> HttpResponse:
    challenge = flow.current(request, request.user, ChallengePurpose.VERIFY_NUMBER)
    if challenge is not None and challenge.state == ChallengeState.APPROVED:
        return _confirmed(request, challenge)
    return redirect("verify-phone")


@never_cache
@login_required
@require_POST
def verify_phone_resend(request: HttpRequest) -> HttpResponse:
    held = flow.current(request, request.user, ChallengePurpose.VERIFY_NUMBER)
    role = services.proven_role(held) if held else request.POST.get("role", "")
    try:
        challenge = services.start_verification(request.user, role)
    except RateLimited as limited:  # the cooldown or a cap: said on the proof page
        messages.error(request, limited.message)
        return redirect("verify-phone")
    except TwofoldError as failed:
        messages.error(request, failed.message)
        return redirect("security-verification")
    flow.remember(request, challenge)
    return redirect("verify-phone")


@never_cache
@login_required
@require_POST
def cancel_phone_change(request: HttpRequest) -> HttpResponse:
    services.cancel_change(request.user, request.POST.get("role", ""))
    flow.forget(request)
    messages.info(request, _("The new number was discarded. Your previous settings still apply."))
    return redirect("security-verification")
