"""Creating, showing once and deleting app passwords (pages reached from the settings page)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from twofold.core import crypto
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods import stepup
from twofold.methods.app_passwords import services
from twofold.methods.app_passwords.forms import AppPasswordForm

# Between the form's POST and the page that shows the password once: encrypted, then dropped.
_JUST_CREATED = "twofold.app_passwords.just_created"


def _require_enabled(request: HttpRequest) -> None:
    if not services.is_enabled(request.user):
        raise PermissionDenied(_("Your organisation does not allow app passwords."))


@never_cache
@login_required
@stepup.step_up_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    _require_enabled(request)
    form = AppPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            app_password, password = services.create(request.user, form.cleaned_data["name"])
        except (InvalidInput, NotAllowed) as refused:
            form.add_error("name", refused.message)
        else:
            request.session[_JUST_CREATED] = {
                "name": app_password.name,
                "password": crypto.encrypt(password.encode()),
            }
            return redirect("app-password-created")
    return render(request, "app_passwords/create.html", {"form": form})


@never_cache
@login_required
@require_GET
def created(request: HttpRequest) -> HttpResponse:
    """Show the new password once; it leaves the session as it is shown."""
    _require_enabled(request)
    just_created = request.session.pop(_JUST_CREATED, None)
    if just_created is None:
        return redirect("security-verification")
    try:
        password = crypto.decrypt(just_created["password"]).decode()
    except crypto.DecryptionError:
        messages.error(
            request, _("The new app password could not be shown. Delete it and create another.")
        )
        return redirect("security-verification")
    context = {"name": just_created["name"], "password": services.grouped(password)}
    return render(request, "app_passwords/created.html", context)


@never_cache
@login_required
@stepup.step_up_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, app_password_id: int) -> HttpResponse:
    """Ask, then revoke one of the user's app passwords."""
    _require_enabled(request)
    try:
        app_password = services.get(request.user, app_password_id)
        if request.method == "POST":
            services.delete(request.user, app_password.pk)
            messages.success(
                request,
                _("The app password “%(name)s” is deleted.") % {"name": app_password.name},
            )
            return redirect("security-verification")
    except NotFound:
        raise Http404 from None
    return render(request, "app_passwords/delete.html", {"app_password": app_password})
