"""First-time registration at sign-in ("more information required").

A user whose two-step verification is on but who has no usable method (or whom an
administrator asked to provide contact methods again) registers one here, proving it
there and then; the proof is their second factor for this sign-in.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import languages, phones
from twofold.core.errors import InvalidInput, NotAllowed, RateLimited, TwofoldError
from twofold.core.ratelimit import Limit, resume_time
from twofold.methods import base, resets, verification
from twofold.methods.authenticator import activation
from twofold.methods.authenticator import services as authenticator
from twofold.methods.authenticator.forms import DeviceForm
from twofold.methods.forms import CodeForm
from twofold.methods.models import ChallengePurpose, ChallengeState
from twofold.methods.phone import kinds
from twofold.methods.phone import services as phone_services
from twofold.methods.phone.models import ContactMode, Phone, PhoneRole
from twofold.methods.verification import SecondFactorLocked
from twofold.signin import flow, services
from twofold.signin.views import SIGNIN_NEXT, _pending_or_restart, _safe


class PhoneForm(forms.Form):
    country = forms.ChoiceField(label=gettext_lazy("Country or region"), choices=())
    number = forms.CharField(
        label=gettext_lazy("Phone number"),
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel-national"}),
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("How should we contact you?"),
        choices=(),
        widget=forms.RadioSelect,
    )

    def __init__(self, user: User, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("initial", {"country": user.organisation.default_country})
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [
            (c.code, c.label) for c in phones.countries(languages.geocoder_language())
        ]
        organisation = user.organisation
        self.fields["mode"].choices = [
            (mode, label)
            for mode, label in ContactMode.choices
            if organisation.allows(kinds.TEXT if mode == ContactMode.TEXT else kinds.CALL)
        ]
        self.fields["mode"].initial = (
            self.fields["mode"].choices[0][0] if self.fields["mode"].choices else ""
        )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        if "number" in cleaned and "country" in cleaned:
            try:
                cleaned["e164"] = phones.parse(cleaned["number"], cleaned["country"])
            except InvalidInput as invalid:
                self.add_error("number", invalid.message)
        return cleaned


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
        context = {"choices": {}, "refusal": locked.message, "locked": True}
        return _render(request, user, "signin/register.html", context, refused=locked)
    return None


def _choices(user: User) -> dict[str, bool]:
    organisation = user.organisation
    return {
        "app": authenticator.allowed(user),
        "push": activation.may_activate(user),
        "phone": organisation.allows(kinds.TEXT) or organisation.allows(kinds.CALL),
    }


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


def _gate(view):
    """Every wizard step: only for a user who needs it, never while locked, and after an
    administrator's reset only with the access code."""

    def wrapper(request: HttpRequest, user: User) -> HttpResponse:
        if not needs_registration(user):
            return redirect("signin-verify")
        if (locked := _locked(request, user)) is not None:
            return locked
        if not _may_register(request, user):
            return redirect("signin-register")
        return view(request, user)

    wrapper.__name__ = view.__name__
    return wrapper


def _registered(request: HttpRequest, user: User, preferred: str) -> HttpResponse:
    resets.complete(user)
    request.session.pop(ACCESS_OK, None)
    User.objects.filter(pk=user.pk).update(preferred_option=preferred)
    amr = ["pwd", *services.amr_for(preferred)]
    services.finish(request, user, amr=amr, via="registration", option=preferred)
    messages.success(request, _("You're all set. We'll ask for this each time you sign in."))
    return redirect(_safe(request, request.session.pop(SIGNIN_NEXT, None), "my-account"))


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


@never_cache
@require_http_methods(["GET", "POST"])
@_pending_or_restart
@_gate
def register_app(request: HttpRequest, user: User) -> HttpResponse:
    if not _choices(user)["app"]:
        return redirect("signin-register")
    secret = authenticator.enrolment_secret(request.session)
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            authenticator.add_device(
                user, form.cleaned_data["name"], secret, form.cleaned_data["code"]
            )
        except authenticator.EnrolmentCodeRefused as refused:
            form.add_error("code", refused.message)
        except (InvalidInput, NotAllowed) as invalid:
            form.add_error("name", invalid.message)
        else:
            authenticator.forget_enrolment_secret(request.session)
            return _registered(request, user, "app_code")
    context = {
        "form": form,
        "qr_code": authenticator.qr_code_svg(authenticator.provisioning_uri(user, secret)),
        "grouped_secret": authenticator.grouped(secret),
        "issuer": user.organisation.shown_name,
        "account": user.username,
    }
    return _render(request, user, "signin/register_app.html", context)


@never_cache
@require_POST
@_pending_or_restart
@_gate
def register_app_restart(request: HttpRequest, user: User) -> HttpResponse:
    authenticator.forget_enrolment_secret(request.session)
    return redirect("signin-register-app")


_PUSH_ACTIVATION = "twofold.signin.push_activation"


@never_cache
@require_GET
@_pending_or_restart
@_gate
def register_push(request: HttpRequest, user: User) -> HttpResponse:
    """The twofold Authenticator: a one-time activation link, shown only to this session."""
    if not activation.may_activate(user):
        return redirect("signin-register")
    issued, code = activation.issue(user)
    request.session[_PUSH_ACTIVATION] = issued.pk
    link = activation.link(request.build_absolute_uri("/"), code)
    context = {
        "qr_code": authenticator.qr_code_svg(link),
        "link": link,
        "code": activation.grouped(code),
        "minutes": int(activation.LIFETIME.total_seconds() // 60),
    }
    return _render(request, user, "signin/register_push.html", context)


@never_cache
@require_POST
@_pending_or_restart
def register_push_complete(request: HttpRequest, user: User) -> HttpResponse:
    """The app used this session's link: that proves it, as a code proves an ordinary app.

    Not behind the wizard's gate: the new app is a method now, which the gate would
    take for "nothing left to register".
    """
    issued = request.session.get(_PUSH_ACTIVATION)
    if not (issued and activation.activated(user, issued)):
        messages.error(request, _("Open the link on your phone and tap Activate first."))
        return redirect("signin-register-push")
    if (locked := _locked(request, user)) is not None:
        return locked
    request.session.pop(_PUSH_ACTIVATION, None)
    return _registered(request, user, "app_notification")


@never_cache
@require_GET
@_pending_or_restart
def register_push_status(request: HttpRequest, user: User) -> JsonResponse:
    """What the registration page polls: has the phone used its link yet?"""
    issued = request.session.get(_PUSH_ACTIVATION)
    return JsonResponse({"activated": bool(issued) and activation.activated(user, issued)})


@never_cache
@require_http_methods(["GET", "POST"])
@_pending_or_restart
@_gate
def register_phone(request: HttpRequest, user: User) -> HttpResponse:
    if not _choices(user)["phone"]:
        return redirect("signin-register")
    form = PhoneForm(user, request.POST or None)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            challenge = phone_services.request_change(
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
            return redirect("signin-register-phone-verify")
    return _render(request, user, "signin/register_phone.html", {"form": form}, refused)


@never_cache
@require_http_methods(["GET", "POST"])
@_pending_or_restart
@_gate
def register_phone_verify(request: HttpRequest, user: User) -> HttpResponse:
    challenge = flow.current(request, user, ChallengePurpose.VERIFY_NUMBER)
    if challenge is None:
        return redirect("signin-register-phone")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            verification.verify_code(user, challenge.pk, form.cleaned_data["code"])
        except SecondFactorLocked:
            return _locked(request, user) or redirect("signin-register")
        except RateLimited as limited:  # too many wrong codes from this address
            form.add_error("code", limited.message)
        except InvalidInput as refused:
            form.add_error("code", refused.message)
        else:
            return _phone_registered(request, user, challenge)
    phone = Phone.objects.filter(user=user, role=PhoneRole.AUTHENTICATION).first()
    context = {
        "challenge": challenge,
        "phone": phone,
        "form": form,
        "mode": challenge.option.partition(":")[0],
    }
    return _render(request, user, "signin/register_phone_verify.html", context)


def _phone_registered(request: HttpRequest, user: User, challenge) -> HttpResponse:
    try:
        phone_services.confirm_change(user, challenge)
    except InvalidInput as refused:  # the number went meanwhile: nothing was registered
        flow.forget(request)
        messages.error(request, refused.message)
        return redirect("signin-register-phone")
    mode = challenge.option.partition(":")[0]
    return _registered(request, user, f"{mode}:authentication")


@never_cache
@require_POST
@_pending_or_restart
@_gate
def register_phone_complete(request: HttpRequest, user: User) -> HttpResponse:
    challenge = flow.current(request, user, ChallengePurpose.VERIFY_NUMBER)
    if challenge is not None and challenge.state == ChallengeState.APPROVED:
        return _phone_registered(request, user, challenge)
    return redirect("signin-register-phone-verify")
