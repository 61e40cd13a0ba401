"""The audit log's hash chains: each organisation's events (and the installation's, for
events with no organisation) chained by SHA-256, so that a changed, removed or inserted
row shows (docs/audit-chain.md).

An event's digest is ``sha256(previous_digest + "\\n" + canonical(event))`` in hex, where
``canonical`` is sorted-key compact JSON of the stored fields, the time in UTC. Appends to
one chain are serialised by its head row (``ChainHead``), locked FOR UPDATE in the
writer's transaction: always the last lock a transaction takes (docs/design.md, lock order).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import transaction
from django.utils import timezone

from twofold.audit.models import AuditEvent, ChainHead

#: The previous digest of a chain's first event.
GENESIS = "0" * 64
#: The chain of events that belong to no organisation.
INSTALLATION = 0
_FIELDS = (
    "organisation_id", "actor_id", "actor_label", "subject_id", "subject_label", "action",
    "result", "client_address", "user_agent", "correlation_id",
)  # fmt: skip


def chain_of(organisation_id: int | None) -> int:
    """The chain an event of ``organisation_id`` belongs to."""
    return organisation_id or INSTALLATION


def normal_address(address: str | None) -> str | None:
    """The address as both databases give it back (PostgreSQL's inet lower-cases and
    compresses IPv6): the digest is of what is stored."""
    if not address:
        return address or None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def canonical(event: Any) -> bytes:
    """The stored fields of ``event`` as sorted-key compact JSON (UTF-8)."""
    fields = {name: getattr(event, name) for name in _FIELDS}
    fields["at"] = event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields["details"] = event.details
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(previous: str, event: Any) -> str:
    """The event's digest, chained to ``previous``."""
    return hashlib.sha256(previous.encode() + b"\n" + canonical(event)).hexdigest()


def lock_head(chain: int) -> ChainHead:
    """The chain's head, locked until the transaction ends (created on first use)."""
    head = ChainHead.objects.select_for_update().filter(pk=chain).first()
    if head is None:
        ChainHead.objects.bulk_create([ChainHead(pk=chain)], ignore_conflicts=True)
        head = ChainHead.objects.select_for_update().get(pk=chain)
    return head


def append(events: list[AuditEvent]) -> list[AuditEvent]:
    """Insert ``events`` (all of one chain) chained to its head, in this transaction."""
    if not events:
        return events
    with transaction.atomic(savepoint=False):
        head = lock_head(chain_of(events[0].organisation_id))
        previous = head.digest
        for event in events:
            event.client_address = normal_address(event.client_address)
            event.previous_digest = previous
            event.digest = previous = digest(previous, event)
        if len(events) == 1:
            events[0].save(force_insert=True)
        else:
            AuditEvent.objects.bulk_create(events)
        ChainHead.objects.filter(pk=head.pk).update(digest=previous)
    return events


@dataclass(frozen=True)
class Verdict:
    """What verifying one chain found: ``broken_at`` is the first event that does not fit
    (None when the whole chain holds), ``reason`` says how."""

    chain: int
    events: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None and not self.reason


def _events(chain: int) -> Iterator[AuditEvent]:
    events = AuditEvent.objects.order_by("id")
    if chain == INSTALLATION:
        events = events.filter(organisation__isnull=True)
    else:
        events = events.filter(organisation_id=chain)
    return events.iterator(chunk_size=2000)


def verify(chain: int) -> Verdict:
    """Walk the chain in the order of the events' IDs and recompute every digest.

    Events written before the chain began (no digest, IDs up to the head's anchor) are
    hashed the same way and must give the anchor digest the migration recorded."""
    head = ChainHead.objects.filter(pk=chain).first()
    anchor_id, running = (head.anchor_event_id, GENESIS) if head else (0, GENESIS)
    # Writers may append while this walks: the head as it was must be passed on the way.
    count, anchored = 0, anchor_id == 0
    reached = head is None or head.digest == GENESIS
    for event in _events(chain):
        count += 1
        if not anchored and event.pk > anchor_id:
            if running != head.anchor_digest:
                return Verdict(chain, count, event.pk, "the events before the chain changed")
            anchored, running = True, head.anchor_digest
        if not anchored:
            running = digest(running, event)
            continue
        if event.previous_digest != running:
            return Verdict(chain, count, event.pk, "an event before it is missing or added")
        running = digest(running, event)
        if event.digest != running:
            return Verdict(chain, count, event.pk, "its content changed")
        reached = reached or running == head.digest
    if not anchored and running != head.anchor_digest:
        return Verdict(chain, count, None, "the events before the chain changed")
    if not reached:
        return Verdict(chain, count, None, "events at the end are missing")
    return Verdict(chain, count)


def chains() -> Iterable[int]:
    """Every chain that has events or a head."""
    found = set(ChainHead.objects.values_list("pk", flat=True))
    found.update(
        chain_of(org)
        for org in AuditEvent.objects.order_by()
        .values_list("organisation_id", flat=True)
        .distinct()
    )
    return sorted(found)


def record_verdict(verdict: Verdict) -> None:
    """Keep the result with the chain's head, for the admin portal's audit page."""
    ChainHead.objects.bulk_create([ChainHead(pk=verdict.chain)], ignore_conflicts=True)
    ChainHead.objects.filter(pk=verdict.chain).update(
        verified_at=timezone.now(),
        verified_ok=verdict.ok,
        verified_events=verdict.events,
        verified_broken_at=verdict.broken_at,
        verified_reason=verdict.reason,
    )
