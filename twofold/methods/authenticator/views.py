"""The authenticator app's pages: setting up an app for codes and activating the twofold
Authenticator (one enrolment flow, hosted by the settings page and first-time
registration, methods/enrolment.py), and deleting an app from the settings page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from twofold.accounts.middleware import polled
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods import enrolment, stepup
from twofold.methods.authenticator import activation, services
from twofold.methods.authenticator.forms import DeviceForm
from twofold.methods.authenticator.method import APP_CODE, APP_NOTIFICATION


def _render(
    request: HttpRequest, enrolling: enrolment.Enrolling, template: str, context: dict
) -> HttpResponse:
    """Every step shows the person's organisation's branding (at registration nobody is
    signed in yet) and knows its host: the pages' words differ a little between them."""
    context = {
        **context,
        "organisation": enrolling.user.organisation,
        "registering": enrolling.host == enrolment.REGISTRATION,
        "back": enrolling.next,
    }
    return render(request, template, context)


def _here(name: str, enrolling: enrolment.Enrolling) -> HttpResponse:
    return redirect(f"{reverse(name)}?{urlencode({'next': enrolling.next})}")


@never_cache
@require_http_methods(["GET", "POST"])
@enrolment.hosted
def setup(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    """Show the QR code and the key; save the app once the code it shows is right. Hosted
    by the settings page and by first-time registration (methods/enrolment.py): in
    registration, the code from the new app is the second factor."""
    user = enrolling.user
    if not services.may_add_device(user):
        if services.allowed(user):
            messages.error(request, _("You cannot add another authenticator app."))
        return redirect(enrolling.next)
    secret = services.enrolment_secret(request.session)
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_device(user, form.cleaned_data["name"], secret, form.cleaned_data["code"])
        except services.EnrolmentCodeRefused as refused:
            form.add_error("code", refused.message)
        except (InvalidInput, NotAllowed) as invalid:
            form.add_error("name", invalid.message)
        else:
            services.forget_enrolment_secret(request.session)
            said = _("Your authenticator app is set up.")
            return enrolment.finish(request, enrolling, proof=APP_CODE, said=said)
    uri = services.provisioning_uri(user, secret)
    context = {
        "form": form,
        "qr_code": services.qr_code_svg(uri),
        "grouped_secret": services.grouped(secret),
        # As people know it, on both hosts alike (the key URI keeps the organisation's
        # name: services.provisioning_uri).
        "issuer": user.organisation.shown_name,
        "account": user.username,
        # Registration lists the twofold Authenticator as a choice of its own.
        "may_activate": enrolling.host == enrolment.SETTINGS and activation.may_activate(user),
    }
    return _render(request, enrolling, "authenticator/setup.html", context)


@never_cache
@require_POST
@enrolment.hosted
def restart(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    """Drop the key being set up; the setup page then shows a new one."""
    services.forget_enrolment_secret(request.session)
    return _here("authenticator-setup", enrolling)


@never_cache
@login_required
@stepup.step_up_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, device_id: int) -> HttpResponse:
    """Ask, then delete one of the user's apps."""
    try:
        device = services.get_device(request.user, device_id)
        if request.method == "POST":
            services.delete_device(request.user, device.pk)
            messages.success(
                request,
                _("The authenticator app “%(name)s” is deleted.") % {"name": device.shown_name},
            )
            return redirect("security-verification")
    except NotFound:
        raise Http404 from None
    return render(request, "authenticator/delete.html", {"device": device})


# --- The twofold Authenticator: activation by a one-time link --------------------------------

_ACTIVATION = "twofold.authenticator.activation"


@never_cache
@require_http_methods(["GET", "POST"])
@enrolment.hosted
def activate(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    """Issue a one-time activation link and show it as a QR code (and as text). The
    phone proves the app when it uses the link; the page then hands back to its host."""
    try:
        issued, code = activation.issue(enrolling.user)
    except NotAllowed as refused:
        if enrolling.host == enrolment.SETTINGS:
            messages.error(request, refused.message)
        return redirect(enrolling.next)
    request.session[_ACTIVATION] = issued.pk
    enrolment.keep(request, enrolling)  # once activated, registration sees a method
    link = activation.link(request.build_absolute_uri("/"), code)
    context = {
        "qr_code": services.qr_code_svg(link),
        "link": link,
        "code": activation.grouped(code),
        "minutes": int(activation.LIFETIME.total_seconds() // 60),
    }
    return _render(request, enrolling, "authenticator/activate.html", context)


def _activated(request: HttpRequest, enrolling: enrolment.Enrolling) -> bool:
    issued = request.session.get(_ACTIVATION)
    return bool(issued) and activation.activated(enrolling.user, issued)


@polled
@never_cache
@require_GET
def activation_status(request: HttpRequest) -> JsonResponse:
    """What the activation page polls: has the app used the link yet?"""
    enrolling = enrolment.kept(request)
    return JsonResponse({"activated": enrolling is not None and _activated(request, enrolling)})


@never_cache
@require_POST
@enrolment.resumed
def activation_complete(request: HttpRequest, enrolling: enrolment.Enrolling) -> HttpResponse:
    """The app used this session's link: that proves it, as a code proves an ordinary app
    (in registration, it completes the sign-in)."""
    if not _activated(request, enrolling):
        messages.error(request, _("Open the link on your phone and tap Activate first."))
        return _here("authenticator-activate", enrolling)
    request.session.pop(_ACTIVATION, None)
    return enrolment.finish(request, enrolling, proof=APP_NOTIFICATION)
