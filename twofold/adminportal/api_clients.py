"""The admin portal's API clients: the organisation's applications that call the REST API.

A client's token is shown once, when it is made; the database keeps only its digest.
Everything is scoped to the administrator's organisation: another's client is "not found".
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from twofold.adminportal.access import admin_required
from twofold.api import clients
from twofold.api.models import ApiClient, ApiScope
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core.errors import InvalidInput, NotFound


class ClientForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=clients.MAX_NAME_LENGTH,
        help_text=gettext_lazy("The application that will use it, such as “VPN gateway”."),
    )
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("What it may do"),
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    reports_person_address = forms.BooleanField(
        label=gettext_lazy("This client may report the end user's address."),
        help_text=gettext_lazy(
            "Tick only for a VPN or RADIUS client you run that sends each person's own address "
            "(Calling-Station-Id). Trusted address ranges and per-address limits then use "
            "that address. The client's own address never counts as trusted."
        ),
        required=False,
    )


class ReportingForm(forms.Form):
    reports_person_address = forms.BooleanField(required=False)


def _client_or_404(request: HttpRequest, client_id: int) -> ApiClient:
    """One of the organisation's clients; another's is "not found" too, and audited."""
    try:
        return clients.get(request.user.organisation, client_id)
    except NotFound:
        if ApiClient.objects.filter(pk=client_id).exists():
            record(
                AuditAction.ADMIN_ACCESS_DENIED,
                AuditResult.DENIED,
                actor=request.user,
                reason="API client of another organisation",
            )
        raise Http404 from None


def _list_page(request: HttpRequest, form: ClientForm) -> HttpResponse:
    context = {"clients": list(clients.clients_of(request.user.organisation)), "form": form}
    return render(request, "adminportal/api_clients.html", context)


@never_cache
@admin_required
@require_GET
def client_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, ClientForm())


@never_cache
@admin_required
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    """Make a client and show its token, this once."""
    form = ClientForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form)
    try:
        client, token = clients.create(
            request.user.organisation,
            form.cleaned_data["name"],
            form.cleaned_data["scopes"],
            actor=request.user,
            reports_person_address=form.cleaned_data["reports_person_address"],
        )
    except InvalidInput as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        return _list_page(request, form)
    return render(
        request, "adminportal/api_clients_created.html", {"client": client, "token": token}
    )


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def revoke(request: HttpRequest, client_id: int) -> HttpResponse:
    """Ask, then revoke: the token is refused from the next call on."""
    client = _client_or_404(request, client_id)
    if request.method == "POST":
        clients.revoke(client, actor=request.user)
        messages.success(request, _("%(name)s is revoked.") % {"name": client.name})
        return redirect("admin-api-clients")
    return render(request, "adminportal/api_clients_revoke.html", {"client": client})


@never_cache
@admin_required
@require_POST
def reporting(request: HttpRequest, client_id: int) -> HttpResponse:
    """Trust the client to report its end users' addresses, or stop trusting it."""
    client = _client_or_404(request, client_id)
    form = ReportingForm(request.POST)
    form.is_valid()  # an unticked box is simply absent: always valid
    allowed = form.cleaned_data["reports_person_address"]
    if clients.set_reports_person_address(client, allowed, actor=request.user):
        message = (
            _("%(name)s may now report the end user's address.")
            if allowed
            else _("%(name)s no longer reports the end user's address.")
        )
        messages.success(request, message % {"name": client.name})
    return redirect("admin-api-clients")
