"""Forwarding audit events to SIEMs: at least once, in order, nothing lost while a receiver
is down.

Why a cursor rather than an outbox row per event: ``record()`` is on the validate hot path,
and a cursor costs it nothing (no extra INSERT, no lock). Each destination remembers the ID
of the last event it received; the sender walks the audit log past it in ID order and moves
the cursor only after the receiver took the batch. A crash between sending and moving the
cursor sends the batch again: receivers drop duplicates by the event's ID.

IDs are handed out when a row is inserted but become visible when its transaction commits,
so a lower ID can appear after a higher one was read. The sender never moves past a missing
ID unless the event after the gap is older than ``GAP_GRACE``: by then the transaction that
took the missing ID has rolled back (twofold's transactions last well under a second).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.audit import transports
from twofold.audit.models import (
    AuditAction,
    AuditEvent,
    AuditResult,
    ForwardDestination,
    ForwardKind,
)
from twofold.audit.services import record
from twofold.core import crypto
from twofold.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from twofold.accounts.models import User
    from twofold.organisations.models import Organisation

log = logging.getLogger(__name__)

BATCH_SIZE = 200
GAP_GRACE = timedelta(seconds=60)
BACKOFF_FIRST_SECONDS = 2
BACKOFF_MAX_SECONDS = 300


def event_payload(event: AuditEvent) -> dict[str, Any]:
    """What a SIEM receives of an event: everything the audit log holds (never a secret:
    ``record()`` refuses details that would carry one)."""
    return {
        "id": event.pk,
        "at": event.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "organisation_id": event.organisation_id,
        "action": event.action,
        "result": event.result,
        "actor": event.actor_label,
        "subject": event.subject_label,
        "client_address": event.client_address,
        "user_agent": event.user_agent,
        "correlation_id": event.correlation_id,
        "details": event.details,
    }


def _latest_event_id() -> int:
    return AuditEvent.objects.aggregate(latest=Max("id"))["latest"] or 0


def sync_installation_destinations() -> None:
    """Make the installation's destinations match the environment: one syslog and one
    webhook at most. A new one starts after the events already written."""
    wanted = {
        ForwardKind.SYSLOG: settings.TWOFOLD_SYSLOG_URL,
        ForwardKind.WEBHOOK: settings.TWOFOLD_WEBHOOK_URL,
    }
    for kind, url in wanted.items():
        if not url:
            ForwardDestination.objects.filter(from_environment=True, kind=kind).delete()
            continue
        # Written only when it changes: this runs on every pass of every sender.
        current = ForwardDestination.objects.filter(from_environment=True, kind=kind).first()
        if current is None:
            try:
                with transaction.atomic():
                    ForwardDestination.objects.create(
                        from_environment=True, kind=kind, url=url, cursor=_latest_event_id()
                    )
            except IntegrityError:
                pass  # another sender made it at the same moment
        elif current.url != url:
            ForwardDestination.objects.filter(pk=current.pk).update(url=url)


def add_webhook(
    organisation: Organisation, url: str, *, actor: User | None = None
) -> tuple[ForwardDestination, str]:
    """An organisation's webhook, from the next event on, with a new signing secret: returned
    once (to be shown once), stored only encrypted. Audited."""
    try:
        transports.check_webhook_url(url, public_only=_public_only())
    except transports.NotPublic:
        raise InvalidInput(
            _("Enter the address of a public server: twofold does not send to private networks."),
            field="url",
        ) from None
    except transports.DeliveryError:
        raise InvalidInput(_("Enter an http:// or https:// address."), field="url") from None
    secret = crypto.random_token()
    with transaction.atomic():
        destination = ForwardDestination.objects.create(
            organisation=organisation,
            kind=ForwardKind.WEBHOOK,
            url=url,
            secret=crypto.encrypt(secret.encode()),
            cursor=_latest_event_id(),
        )
        record(
            AuditAction.SIEM_WEBHOOK_ADDED,
            AuditResult.SUCCESS,
            organisation=organisation,
            actor=actor,
        )
    return destination, secret


def webhooks_of(organisation: Organisation) -> list[ForwardDestination]:
    """The organisation's webhooks, oldest first."""
    return list(ForwardDestination.objects.filter(organisation=organisation).order_by("pk"))


def remove_webhook(organisation: Organisation, pk: int, *, actor: User | None = None) -> None:
    """Stop sending the organisation's events to one of its webhooks. Audited; another
    organisation's is NotFound."""
    with transaction.atomic():
        removed, _counts = ForwardDestination.objects.filter(
            organisation=organisation, pk=pk
        ).delete()
        if not removed:
            raise NotFound
        record(
            AuditAction.SIEM_WEBHOOK_REMOVED,
            AuditResult.SUCCESS,
            organisation=organisation,
            actor=actor,
        )


def _horizon(cursor: int, now: datetime) -> int:
    """The highest event ID up to which no event can still appear (see the module's note)."""
    rows = (
        AuditEvent.objects.filter(id__gt=cursor).order_by("id").values_list("id", "at")[:BATCH_SIZE]
    )
    horizon = cursor
    for event_id, at in rows:
        if event_id != horizon + 1 and at > now - GAP_GRACE:
            break
        horizon = event_id
    return horizon


def _send(destination: ForwardDestination, events: list[AuditEvent]) -> None:
    payloads = [event_payload(event) for event in events]
    if destination.kind == ForwardKind.SYSLOG:
        ca_file = settings.TWOFOLD_SYSLOG_CA_FILE if destination.from_environment else ""
        hostname = socket.gethostname()
        messages = [transports.syslog_message(payload, hostname) for payload in payloads]
        transports.send_syslog(destination.url, ca_file, messages)
        return
    secret = (
        settings.TWOFOLD_WEBHOOK_SECRET
        if destination.from_environment
        else crypto.decrypt(destination.secret).decode()
    )
    public_only = not destination.from_environment and _public_only()
    for payload in payloads:
        transports.send_webhook(destination.url, secret, payload, public_only=public_only)


def _public_only() -> bool:
    """Whether organisations' webhooks must point at public addresses: always, unless the
    operator allowed private ones (TWOFOLD_WEBHOOKS_TO_PRIVATE_ADDRESSES). The
    installation's own webhook, set by the operator, may go anywhere."""
    return not settings.TWOFOLD_WEBHOOKS_TO_PRIVATE_ADDRESSES


def _backoff(failures: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (failures - 1)))


def forward_destination(destination: ForwardDestination, now: datetime) -> int:
    """Send one batch to one destination; on failure, wait longer before the next try.
    Returns how many event IDs its cursor moved past (another organisation's events too)."""
    horizon = _horizon(destination.cursor, now)
    events = AuditEvent.objects.filter(id__gt=destination.cursor, id__lte=horizon)
    if destination.organisation_id is not None:
        events = events.filter(organisation_id=destination.organisation_id)
    batch = list(events.order_by("id"))
    try:
        if batch:
            _send(destination, batch)
    except transports.DeliveryError as error:
        destination.failures += 1
        destination.next_attempt_at = now + _backoff(destination.failures)
        destination.last_error = str(error)[:200]
        destination.save(update_fields=["failures", "next_attempt_at", "last_error"])
        log.warning(
            "audit forwarding to %s failed (%d in a row)", destination, destination.failures
        )
        return 0
    moved = horizon - destination.cursor
    destination.cursor = horizon
    destination.failures = 0
    destination.next_attempt_at = None
    destination.last_error = ""
    destination.save(update_fields=["cursor", "failures", "next_attempt_at", "last_error"])
    return moved


def forward_due(now: datetime | None = None) -> int:
    """One pass: every destination whose backoff is over gets its next batch. A destination
    another sender is busy with is skipped. Returns how many event IDs the cursors moved past:
    0 when nothing is left to send (or nothing could be)."""
    now = now or timezone.now()
    sync_installation_destinations()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    delivered = 0
    for pk in ForwardDestination.objects.filter(due).values_list("pk", flat=True):
        with transaction.atomic():
            destination = (
                ForwardDestination.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            )
            if destination is not None:
                delivered += forward_destination(destination, now)
    return delivered


def run_forever(interval: float = 1.0, stop: Callable[[], bool] = lambda: False) -> None:
    """Forward continuously (``twofold forward``): a pass, then a pause when nothing moved."""
    while not stop():
        if forward_due() == 0:
            time.sleep(interval)
