"""The admin portal's applications: web apps that sign the organisation's people in (OIDC).

Everything is scoped to the administrator's organisation: another organisation's
application is "not found", exactly like one that doesn't exist, and the attempt is
audited. A confidential application's client secret is shown once, on the page that
answers the registration (or a new secret), and kept only as a hash.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from twofold.accounts.models import User
from twofold.adminportal.access import admin_required
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core.errors import InvalidInput
from twofold.oidc import services
from twofold.oidc.models import Application

_LINES = forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"})


class ApplicationForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=120,
        help_text=gettext_lazy("People see it when they approve a sign-in on their phone."),
    )
    client_type = forms.ChoiceField(
        label=gettext_lazy("Kind of application"),
        choices=[
            (services.CONFIDENTIAL, gettext_lazy("Web application with a server (has a secret)")),
            (services.PUBLIC, gettext_lazy("Single-page or native app (no secret; PKCE)")),
        ],
        initial=services.CONFIDENTIAL,
        widget=forms.RadioSelect,
    )
    redirect_uris = forms.CharField(
        label=gettext_lazy("Redirect URIs"),
        widget=_LINES,
        help_text=gettext_lazy(
            "One per line, exactly as the application sends them. https only (plain http "
            "only to this machine: 127.0.0.1 or localhost)."
        ),
    )
    post_logout_redirect_uris = forms.CharField(
        label=gettext_lazy("Addresses to return to after signing out"),
        widget=_LINES,
        required=False,
        help_text=gettext_lazy("Optional. One per line."),
    )
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("What it may read besides the user ID and organisation"),
        choices=[
            ("profile", gettext_lazy("Name and user name (profile)")),
            ("email", gettext_lazy("E-mail address (email)")),
        ],
        initial=["profile", "email"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def fields_for_service(self) -> dict[str, object]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "redirect_uris": data["redirect_uris"].split(),
            "post_logout_redirect_uris": data["post_logout_redirect_uris"].split(),
            "scopes": ["openid", *data["scopes"]],
        }


class EditForm(ApplicationForm):
    """The kind of application stays what it was registered as."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["client_type"]


def _initial(application: Application) -> dict[str, object]:
    return {
        "name": application.name,
        "redirect_uris": "\n".join(application.redirect_uris.split()),
        "post_logout_redirect_uris": "\n".join(application.post_logout_redirect_uris.split()),
        "scopes": [scope for scope in application.allowed_scopes if scope != "openid"],
    }


def application_or_404(admin: User, application_id: int) -> Application:
    """An application of the administrator's organisation; any other is "not found"."""
    application = (
        Application.objects.select_related("organisation").filter(pk=application_id).first()
    )
    if application is None:
        raise Http404
    if application.organisation_id != admin.organisation_id:
        record(
            AuditAction.ADMIN_ACCESS_DENIED,
            AuditResult.DENIED,
            actor=admin,
            reason="application of another organisation",
        )
        raise Http404
    return application


def _refused(form: forms.Form, refused: InvalidInput) -> None:
    """The service's refusal next to the field it is about (the model says allowed_scopes)."""
    field = {"allowed_scopes": "scopes"}.get(refused.field or "", refused.field)
    form.add_error(field if field in form.fields else None, refused.message)


@never_cache
@admin_required
@require_GET
def application_list(request: HttpRequest) -> HttpResponse:
    applications = services.applications_of(request.user.organisation)
    return render(request, "adminportal/applications.html", {"applications": applications})


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application, secret = services.register_application(
                request.user.organisation,
                request.user,
                client_type=form.cleaned_data["client_type"],
                **form.fields_for_service(),
            )
        except InvalidInput as refused:
            _refused(form, refused)
        else:
            return _registered_page(request, application, secret, new=True)
    return render(request, "adminportal/applications_form.html", {"form": form})


def _registered_page(
    request: HttpRequest, application: Application, secret: str, *, new: bool
) -> HttpResponse:
    """The one page that shows the secret: rendered in answer to the POST, never stored."""
    context = {"application": application, "secret": secret, "new": new}
    return render(request, "adminportal/applications_secret.html", context)


@never_cache
@admin_required
@require_GET
def detail(request: HttpRequest, application_id: int) -> HttpResponse:
    application = application_or_404(request.user, application_id)
    context = {
        "application": application,
        "discovery_url": request.build_absolute_uri(
            reverse("oauth2_provider:oidc-connect-discovery-info")
        ),
    }
    return render(request, "adminportal/applications_detail.html", context)


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, application_id: int) -> HttpResponse:
    application = application_or_404(request.user, application_id)
    form = EditForm(request.POST or None, initial=_initial(application))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_application(application, request.user, **form.fields_for_service())
        except InvalidInput as refused:
            _refused(form, refused)
        else:
            messages.success(request, _("The application is saved."))
            return redirect("admin-application", application_id=application.pk)
    context = {"form": form, "application": application}
    return render(request, "adminportal/applications_form.html", context)


@never_cache
@admin_required
@require_POST
def new_secret(request: HttpRequest, application_id: int) -> HttpResponse:
    application = application_or_404(request.user, application_id)
    try:
        secret = services.new_client_secret(application, request.user)
    except InvalidInput as refused:
        messages.error(request, refused.message)
        return redirect("admin-application", application_id=application.pk)
    return _registered_page(request, application, secret, new=False)


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, application_id: int) -> HttpResponse:
    """Ask, then delete the application: its people can no longer sign in to it."""
    application = application_or_404(request.user, application_id)
    if request.method == "POST":
        services.delete_application(application, request.user)
        messages.success(request, _("%(name)s is deleted.") % {"name": application.name})
        return redirect("admin-applications")
    return render(request, "adminportal/applications_delete.html", {"application": application})
