"""The audit log for administrators: filters, newest first, keyset paging, CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from twofold.accounts.models import User
from twofold.adminportal import activity
from twofold.adminportal.access import admin_required
from twofold.audit import chain
from twofold.audit.models import (
    AuditAction,
    AuditEvent,
    AuditResult,
    ChainHead,
    action_choices,
    organisation_wide,
)
from twofold.audit.services import record
from twofold.core.spreadsheet import escape_cell

PAGE_SIZE = 50


class AuditFilter(forms.Form):
    correlation_id = forms.CharField(label=_("Correlation ID"), required=False, max_length=64)
    user = forms.CharField(label=_("User name"), required=False, max_length=254)
    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=lambda: [("", _("Any action")), *action_choices()],
    )
    result = forms.ChoiceField(
        label=_("Result"), required=False, choices=[("", _("Any result")), *AuditResult.choices]
    )
    since = forms.DateTimeField(
        label=_("From"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = forms.DateTimeField(
        label=_("To"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def apply(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        if not self.is_valid():
            return events.none()
        data = self.cleaned_data
        if data["correlation_id"]:
            events = events.filter(correlation_id=data["correlation_id"].strip())
        if data["user"]:
            events = events.filter(_concerning(data["user"].strip().lower()))
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["result"]:
            events = events.filter(result=data["result"])
        if data["since"]:
            events = events.filter(at__gte=data["since"])
        if data["until"]:
            events = events.filter(at__lte=data["until"])
        return events


def _concerning(name: str) -> Q:
    """Events naming ``name`` as actor or subject, and those that applied to every user of
    their organisation while that user existed (one event stands for them all)."""
    named = Q(subject_label=name) | Q(actor_label=name)
    user = User.objects.filter(username=name).only("organisation_id", "created_at").first()
    if user is None:
        return named
    return named | Q(
        organisation_wide(), organisation_id=user.organisation_id, at__gte=user.created_at
    )


def _events(request: HttpRequest) -> tuple[AuditFilter, QuerySet[AuditEvent]]:
    filters = AuditFilter(request.GET or {})
    events = AuditEvent.objects.filter(organisation_id=request.user.organisation_id)
    return filters, filters.apply(events).order_by("-at", "-id")


@never_cache
@admin_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    filters, events = _events(request)
    before = request.GET.get("before", "")
    if before.isascii() and before.isdigit() and int(before) < 2**63:
        anchor = AuditEvent.objects.filter(pk=int(before)).values_list("at", flat=True).first()
        if anchor is not None:
            events = events.filter(Q(at__lt=anchor) | Q(at=anchor, pk__lt=int(before)))
    rows = list(events[: PAGE_SIZE + 1])
    for event in rows:  # a sign-in's "why", in words, beside its event (help desk)
        if event.action == AuditAction.SIGNIN_DECIDED:
            event.why = activity.decision_sentence(event.details)
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "verified": ChainHead.objects.filter(pk=request.user.organisation_id).first(),
        "filters": filters,
        "events": rows[:PAGE_SIZE],
        "next": rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None,
        "filter_query": query.urlencode(),
    }
    return render(request, "adminportal/audit.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(
        [
            "time (UTC)",
            "action",
            "result",
            "actor",
            "subject",
            "address",
            "correlation ID",
            "details",
            # The hash chain (docs/audit-chain.md): the event as hashed, and its digests.
            "id",
            "event",
            "previous digest",
            "digest",
        ]
    )
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            escape_cell(cell)
            for cell in (
                event.at.isoformat(),
                event.action,
                event.result,
                event.actor_label,
                event.subject_label,
                event.client_address,
                event.correlation_id,
                event.details,
                event.pk,
                chain.canonical(event).decode(),
                event.previous_digest,
                event.digest,
            )
        )


@never_cache
@admin_required
@require_GET
def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    _filters, events = _events(request)
    record(AuditAction.AUDIT_EXPORTED, AuditResult.SUCCESS, actor=request.user,
           organisation=request.user.organisation)  # fmt: skip
    response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
