"""The admin portal's SIEM page: webhooks that receive the organisation's audit events.

A webhook's signing secret is shown once, when it is added; the database keeps it only
encrypted. Another organisation's webhook is "not found"."""

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


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Webhook address"),
        max_length=500,
        help_text=gettext_lazy("Each audit event is posted to it as signed JSON."),
    )


def _page(request: HttpRequest, form: WebhookForm) -> HttpResponse:
    webhooks = forwarding.webhooks_of(request.user.organisation)
    return render(request, "adminportal/siem.html", {"webhooks": webhooks, "form": form})


@never_cache
@admin_required
@require_GET
def siem(request: HttpRequest) -> HttpResponse:
    return _page(request, WebhookForm())


@never_cache
@admin_required
@require_POST
def add(request: HttpRequest) -> HttpResponse:
    """Add a webhook and show its signing secret, this once."""
    form = WebhookForm(request.POST)
    if not form.is_valid():
        return _page(request, form)
    try:
        webhook, secret = forwarding.add_webhook(
            request.user.organisation, form.cleaned_data["url"], actor=request.user
        )
    except InvalidInput as refused:
        form.add_error("url", refused.message)
        return _page(request, form)
    return render(request, "adminportal/siem_added.html", {"webhook": webhook, "secret": secret})


@never_cache
@admin_required
@require_POST
def remove(request: HttpRequest, webhook_id: int) -> HttpResponse:
    try:
        forwarding.remove_webhook(request.user.organisation, webhook_id, actor=request.user)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("The webhook is removed."))
    return redirect("admin-siem")
