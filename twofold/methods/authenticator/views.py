"""Setting up and deleting authenticator apps (pages reached from the settings page)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods import base, stepup
from twofold.methods.authenticator import activation, services
from twofold.methods.authenticator.forms import DeviceForm


@never_cache
@login_required
@stepup.step_up_required
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Show the QR code and the key; save the app once the code it shows is right."""
    user = request.user
    if not services.may_add_device(user):
        messages.error(request, _("You cannot add another authenticator app."))
        return redirect("security-verification")
    secret = services.enrolment_secret(request.session)
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        first_method = not base.options_for(user)
        try:
            services.add_device(user, form.cleaned_data["name"], secret, form.cleaned_data["code"])
        except services.EnrolmentCodeRefused as refused:
            form.add_error("code", refused.message)
        except (InvalidInput, NotAllowed) as invalid:
            form.add_error("name", invalid.message)
        else:
            services.forget_enrolment_secret(request.session)
            if first_method:
                # Proving the new app is this user's first second factor.
                stepup.mark_verified(request)
            messages.success(request, _("Your authenticator app is set up."))
            return redirect("security-verification")
    uri = services.provisioning_uri(user, secret)
    context = {
        "form": form,
        "qr_code": services.qr_code_svg(uri),
        "grouped_secret": services.grouped(secret),
        # As people know it, as registration at sign-in shows it (the key URI keeps the
        # organisation's name: services.provisioning_uri).
        "issuer": user.organisation.shown_name,
        "may_activate": activation.may_activate(user),
    }
    return render(request, "authenticator/setup.html", context)


@never_cache
@login_required
@require_POST
def restart(request: HttpRequest) -> HttpResponse:
    """Drop the key being set up; the setup page then shows a new one."""
    services.forget_enrolment_secret(request.session)
    return redirect("authenticator-setup")


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
@login_required
@stepup.step_up_required
@require_POST
def activate(request: HttpRequest) -> HttpResponse:
    """Issue a one-time activation link and show it as a QR code (and as text)."""
    try:
        issued, code = activation.issue(request.user)
    except NotAllowed as refused:
        messages.error(request, refused.message)
        return redirect("security-verification")
    request.session[_ACTIVATION] = issued.pk
    link = activation.link(request.build_absolute_uri("/"), code)
    context = {
        "qr_code": services.qr_code_svg(link),
        "link": link,
        "code": activation.grouped(code),
        "minutes": int(activation.LIFETIME.total_seconds() // 60),
    }
    return render(request, "authenticator/activate.html", context)


@never_cache
@login_required
@require_GET
def activation_status(request: HttpRequest) -> JsonResponse:
    """What the activation page polls: has the app used the link yet?"""
    issued = request.session.get(_ACTIVATION)
    done = bool(issued) and activation.activated(request.user, issued)
    if done:
        request.session.pop(_ACTIVATION, None)
    return JsonResponse({"activated": done})
