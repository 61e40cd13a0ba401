"""The admin portal's RADIUS clients: the organisation's VPN concentrators and Wi-Fi
controllers that ask ``twofold radius`` (docs/radius.md).

A client's shared secret is shown once, when it is made; the database keeps it encrypted
(the server needs it to check every packet). Everything is scoped to the administrator's
organisation: another's client is "not found".
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
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core.errors import InvalidInput, NotFound
from twofold.radius import clients
from twofold.radius.models import RadiusClient


class RadiusClientForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=clients.MAX_NAME_LENGTH,
        help_text=gettext_lazy("The gateway, such as “Office VPN”."),
    )
    network = forms.CharField(
        label=gettext_lazy("Source address or network"),
        max_length=64,
        help_text=gettext_lazy(
            "The address its packets come from, or its network: 192.0.2.10 or 192.0.2.0/28."
        ),
    )
    reports_person_address = forms.BooleanField(
        label=gettext_lazy("This client may report the end user's address."),
        help_text=gettext_lazy(
            "Tick only for a gateway you run that sends each person's own IP address as "
            "Calling-Station-Id. Trusted address ranges and per-address limits then use that "
            "address. The gateway's own address never counts as trusted."
        ),
        required=False,
    )
    reply_class = forms.CharField(
        label=gettext_lazy("Class on accept (optional)"),
        max_length=clients.MAX_REPLY_LENGTH,
        required=False,
    )
    reply_filter_id = forms.CharField(
        label=gettext_lazy("Filter-Id on accept (optional)"),
        max_length=clients.MAX_REPLY_LENGTH,
        required=False,
    )


def _client_or_404(request: HttpRequest, client_id: int) -> RadiusClient:
    """One of the organisation's clients; another's is "not found" too, and audited."""
    try:
        return clients.get(request.user.organisation, client_id)
    except NotFound:
        if RadiusClient.objects.filter(pk=client_id).exists():
            record(
                AuditAction.ADMIN_ACCESS_DENIED,
                AuditResult.DENIED,
                actor=request.user,
                reason="RADIUS client of another organisation",
            )
        raise Http404 from None


def _list_page(request: HttpRequest, form: RadiusClientForm) -> HttpResponse:
    context = {"clients": list(clients.clients_of(request.user.organisation)), "form": form}
    return render(request, "adminportal/radius_clients.html", context)


@never_cache
@admin_required
@require_GET
def client_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, RadiusClientForm())


@never_cache
@admin_required
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    """Make a client and show its shared secret, this once."""
    form = RadiusClientForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form)
    try:
        client, secret = clients.create(
            request.user.organisation,
            form.cleaned_data["name"],
            form.cleaned_data["network"],
            actor=request.user,
            reports_person_address=form.cleaned_data["reports_person_address"],
            reply_class=form.cleaned_data["reply_class"],
            reply_filter_id=form.cleaned_data["reply_filter_id"],
        )
    except InvalidInput as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        return _list_page(request, form)
    return render(
        request, "adminportal/radius_clients_created.html", {"client": client, "secret": secret}
    )


@never_cache
@admin_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, client_id: int) -> HttpResponse:
    """Ask, then delete: the gateway's packets are dropped from the next one on."""
    client = _client_or_404(request, client_id)
    if request.method == "POST":
        clients.delete(client, actor=request.user)
        messages.success(request, _("%(name)s is deleted.") % {"name": client.name})
        return redirect("admin-radius-clients")
    return render(request, "adminportal/radius_clients_delete.html", {"client": client})
