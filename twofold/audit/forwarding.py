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
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Max, Min, Q, QuerySet
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


class Start(models.TextChoices):
    """Where a new destination starts (README, "Audit events to a SIEM")."""

    NEXT = "next", _("From the next event")
    BEGINNING = "beginning", _("From the beginning of the retained log")


def _start_cursor(organisation: Organisation, start: str) -> int:
    """The cursor a new destination of ``organisation`` starts at: after the events already
    written (the default), or before the organisation's first event still in the log, so
    that it receives the whole retained log first (a backfill)."""
    if start == Start.BEGINNING:
        first = AuditEvent.objects.filter(organisation=organisation).aggregate(first=Min("id"))[
            "first"
        ]
        return first - 1 if first else _latest_event_id()
    if start != Start.NEXT:
        raise InvalidInput(_("Choose where it starts."), field="start")
    return _latest_event_id()


def _refused_address(error: transports.DeliveryError, otherwise: str) -> InvalidInput:
    if isinstance(error, transports.NotPublic):
        return InvalidInput(
            _("Enter the address of a public server: twofold does not send to private networks."),
            field="url",
        )
    return InvalidInput(otherwise, field="url")


def add_webhook(
    organisation: Organisation,
    url: str,
    *,
    start: str = Start.NEXT,
    actor: User | None = None,
) -> tuple[ForwardDestination, str]:
    """An organisation's webhook, from the next event on (or from the beginning of the
    retained log), with a new signing secret: returned once (to be shown once), stored only
    encrypted. Audited."""
    try:
        transports.check_webhook_url(url, public_only=_public_only())
    except transports.DeliveryError as error:
        raise _refused_address(error, _("Enter an http:// or https:// address.")) from None
    secret = crypto.random_token()
    with transaction.atomic():
        destination = ForwardDestination.objects.create(
            organisation=organisation,
            kind=ForwardKind.WEBHOOK,
            url=url,
            secret=crypto.encrypt(secret.encode()),
            cursor=_start_cursor(organisation, start),
        )
        record(
            AuditAction.SIEM_WEBHOOK_ADDED,
            AuditResult.SUCCESS,
            organisation=organisation,
            actor=actor,
            kind=start,
        )
    return destination, secret


#: Organisations' syslog destinations: TLS only. Their events (names, addresses, browsers)
#: cross the internet to a public address: plain TCP would show them to anyone on the way
#: and UDP would lose them unseen (no acknowledgement: at least once cannot hold).
ORGANISATION_SYSLOG_SCHEMES = ("tcp+tls",)


def _checked_ca(ca_pem: str) -> str:
    """The CA bundle as given, once the TLS library has read a certificate from it."""
    ca_pem = ca_pem.strip()
    if not ca_pem:
        return ""
    try:
        transports.tls_context(ca_pem=ca_pem)
    except (ssl.SSLError, ValueError):
        raise InvalidInput(
            _("Paste one or more certificates in PEM form (-----BEGIN CERTIFICATE-----)."),
            field="ca_pem",
        ) from None
    return ca_pem + "\n"


def add_syslog(
    organisation: Organisation,
    url: str,
    *,
    ca_pem: str = "",
    start: str = Start.NEXT,
    actor: User | None = None,
) -> ForwardDestination:
    """An organisation's syslog destination (RFC 5424 over TCP with TLS), from the next
    event on (or from the beginning of the retained log). ``ca_pem``: the CAs its
    certificate is checked against instead of the system's. Audited."""
    try:
        transports.check_syslog_url(
            url, public_only=_public_only(), schemes=ORGANISATION_SYSLOG_SCHEMES
        )
    except transports.DeliveryError as error:
        raise _refused_address(
            error, _("Enter a tcp+tls:// address with a host and a port.")
        ) from None
    with transaction.atomic():
        destination = ForwardDestination.objects.create(
            organisation=organisation,
            kind=ForwardKind.SYSLOG,
            url=url,
            ca_pem=_checked_ca(ca_pem),
            cursor=_start_cursor(organisation, start),
        )
        record(
            AuditAction.SIEM_SYSLOG_ADDED,
            AuditResult.SUCCESS,
            organisation=organisation,
            actor=actor,
            kind=start,
        )
    return destination


def remove_destination(organisation: Organisation, pk: int, *, actor: User | None = None) -> None:
    """Stop sending the organisation's events to one of its destinations. Audited; another
    organisation's is NotFound."""
    with transaction.atomic():
        destination = (
            ForwardDestination.objects.select_for_update()
            .filter(organisation=organisation, pk=pk)
            .first()
        )
        if destination is None:
            raise NotFound
        destination.delete()
        record(
            AuditAction.SIEM_SYSLOG_REMOVED
            if destination.kind == ForwardKind.SYSLOG
            else AuditAction.SIEM_WEBHOOK_REMOVED,
            AuditResult.SUCCESS,
            organisation=organisation,
            actor=actor,
        )


#: Counting a destination's backlog stops here: past it, the page says "more than".
BEHIND_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class State:
    """What a destination's row says: the last event it received and when, how far behind
    it is (events waiting, and since when the oldest waits), its last error and since when
    it has been failing. The error is the sender's own short sentence: an address and
    what went wrong, never a secret nor an event's content."""

    destination: ForwardDestination
    behind: int
    behind_more: bool
    waiting_since: datetime | None


def _waiting(destination: ForwardDestination) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(id__gt=destination.cursor)
    if destination.organisation_id is not None:
        events = events.filter(organisation_id=destination.organisation_id)
    return events


def state_of(destination: ForwardDestination) -> State:
    waiting = _waiting(destination)
    behind = waiting.order_by()[: BEHIND_COUNT_LIMIT + 1].count()
    oldest = waiting.order_by("id").values_list("at", flat=True).first()
    return State(
        destination,
        min(behind, BEHIND_COUNT_LIMIT),
        behind > BEHIND_COUNT_LIMIT,
        oldest,
    )


def states_of(organisation: Organisation | None) -> list[State]:
    """The state of each of the organisation's destinations, or (None) the installation's."""
    if organisation is None:
        destinations = ForwardDestination.objects.filter(organisation__isnull=True)
    else:
        destinations = ForwardDestination.objects.filter(organisation=organisation)
    return [state_of(destination) for destination in destinations.order_by("pk")]


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
    public_only = not destination.from_environment and _public_only()
    if destination.kind == ForwardKind.SYSLOG:
        hostname = socket.gethostname()
        transports.send_syslog(
            destination.url,
            [transports.syslog_message(payload, hostname) for payload in payloads],
            ca_file=settings.TWOFOLD_SYSLOG_CA_FILE if destination.from_environment else "",
            ca_pem=destination.ca_pem,
            public_only=public_only,
        )
        return
    try:
        secret = (
            settings.TWOFOLD_WEBHOOK_SECRET
            if destination.from_environment
            else crypto.open_stored(
                destination.secret, what=f"forward destination {destination.pk}"
            ).decode()
        )
    except crypto.StoredSecretUnreadable:  # kept, and tried again, until the keys are right
        raise transports.DeliveryError(
            "the signing secret cannot be read: no configured encryption key opens it"
        ) from None
    for payload in payloads:
        transports.send_webhook(
            destination.url, secret, payload, public_only=public_only, ca_pem=destination.ca_pem
        )


def _public_only() -> bool:
    """Whether organisations' destinations must be public addresses: always, unless the
    operator allowed private ones (TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES). The installation's
    own, set by the operator, may go anywhere."""
    return not settings.TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES


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
        _failed(destination, error, now)
        return 0
    moved = horizon - destination.cursor
    destination.cursor = horizon
    destination.failures = 0
    destination.next_attempt_at = None
    destination.last_error = ""
    destination.failing_since = None
    fields = ["cursor", "failures", "next_attempt_at", "last_error", "failing_since"]
    if batch:
        destination.delivered_event_id = batch[-1].pk
        destination.delivered_at = now
        fields += ["delivered_event_id", "delivered_at"]
    destination.save(update_fields=fields)
    return moved


def _failed(
    destination: ForwardDestination, error: transports.DeliveryError, now: datetime
) -> None:
    """Wait longer before the next try, and keep what went wrong (the sender's own short
    sentence, never an event's content) and since when, for the state pages."""
    destination.failures += 1
    destination.next_attempt_at = now + _backoff(destination.failures)
    destination.last_error = str(error)[:200]
    destination.failing_since = destination.failing_since or now
    destination.save(update_fields=["failures", "next_attempt_at", "last_error", "failing_since"])
    log.warning("audit forwarding to %s failed (%d in a row)", destination, destination.failures)


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
