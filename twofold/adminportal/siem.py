"""The admin portal's SIEM page: webhooks and syslog destinations that receive the
organisation's audit events, and the state of each (README, "Audit events to a SIEM").

A webhook's signing secret is shown once, when it is added; the database keeps it only
encrypted. Another organisation's destination is "not found"."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from twofold.adminportal.access import admin_required
from twofold.audit import forwarding
from twofold.core.errors import InvalidInput, NotFound


def _start_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=gettext_lazy("It receives"),
        choices=forwarding.Start.choices,
        initial=forwarding.Start.NEXT,
        required=False,
        widget=forms.RadioSelect,
    )


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Webhook address"),
        max_length=500,
        help_text=gettext_lazy("Each audit event is posted to it as signed JSON."),
    )
    start = _start_field()


class SyslogForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Syslog address"),
        max_length=500,
        help_text=gettext_lazy(
            "Such as tcp+tls://siem.contoso.example:6514. Events are sent as RFC 5424 "
            "messages over TLS."
        ),
    )
    ca_pem = forms.CharField(
        label=gettext_lazy("CA certificates (optional)"),
        max_length=20000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text=gettext_lazy(
            "If the server's certificate is not signed by a public CA, paste the CA "
            "certificates (PEM) it is checked against."
        ),
    )
    start = _start_field()


# The syslog form's fields are prefixed: both forms have a "url", on one page.
def _page(
    request: HttpRequest,
    form: WebhookForm | None = None,
    syslog_form: SyslogForm | None = None,
) -> HttpResponse:
    context = {
        "states": forwarding.states_of(request.user.organisation),
        "form": form or WebhookForm(),
        "syslog_form": syslog_form or SyslogForm(prefix="syslog"),
    }
    return render(request, "adminportal/siem.html", context)


def _start(form: forms.Form) -> str:
    return form.cleaned_data["start"] or forwarding.Start.NEXT


@never_cache
@admin_required
@require_GET
def siem(request: HttpRequest) -> HttpResponse:
    return _page(request)


@never_cache
@admin_required
@require_POST
def add(request: HttpRequest) -> HttpResponse:
    """Add a webhook and show its signing secret, this once."""
    form = WebhookForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form)
    try:
        webhook, secret = forwarding.add_webhook(
            request.user.organisation,
            form.cleaned_data["url"],
            start=_start(form),
            actor=request.user,
        )
    except InvalidInput as refused:
        form.add_error(refused.field or "url", refused.message)
        return _page(request, form=form)
    return render(request, "adminportal/siem_added.html", {"webhook": webhook, "secret": secret})


@never_cache
@admin_required
@require_POST
def add_syslog(request: HttpRequest) -> HttpResponse:
    """Add a syslog destination (TLS only: see forwarding.ORGANISATION_SYSLOG_SCHEMES)."""
    form = SyslogForm(request.POST, prefix="syslog")
    if not form.is_valid():
        return _page(request, syslog_form=form)
    try:
        forwarding.add_syslog(
            request.user.organisation,
            form.cleaned_data["url"],
            ca_pem=form.cleaned_data["ca_pem"],
            start=_start(form),
            actor=request.user,
        )
    except InvalidInput as refused:
        form.add_error(refused.field or "url", refused.message)
        return _page(request, syslog_form=form)
    messages.success(request, _("The syslog destination is added."))
    return redirect("admin-siem")


@never_cache
@admin_required
@require_POST
def remove(request: HttpRequest, webhook_id: int) -> HttpResponse:
    """Remove a webhook or a syslog destination (the route's name is from webhooks only)."""
    try:
        forwarding.remove_destination(request.user.organisation, webhook_id, actor=request.user)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("The destination is removed."))
    return redirect("admin-siem")
