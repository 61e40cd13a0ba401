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

from django.db import connection, transaction
from django.utils import timezone

from twofold.audit.models import AuditEvent, ChainHead
from twofold.core import bulk

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
    """Insert ``events`` (all of one chain) chained to its head, in this transaction. A
    single event gets its ID; many are inserted in bulk (``core.bulk.insert``) and do not."""
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
            ChainHead.objects.filter(pk=head.pk).update(digest=previous)
        else:  # in the list's order, so IDs follow the chain; their IDs are not read back
            bulk.insert(AuditEvent, events, along=_moved(head.pk, previous))
    return events


def _moved(chain: int, digest: str) -> tuple[str, list]:
    """The UPDATE that moves the chain's head to ``digest``: sent with the INSERT of the
    events it follows where the database takes both in one statement (core.bulk)."""
    quote = connection.ops.quote_name
    table = quote(ChainHead._meta.db_table)
    column = quote(ChainHead._meta.get_field("digest").column)
    key = quote(ChainHead._meta.pk.column)
    return f"UPDATE {table} SET {column} = %s WHERE {key} = %s", [digest, chain]  # noqa: S608 - names from the model


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


def _events(chain: int, after: int) -> Iterator[AuditEvent]:
    events = AuditEvent.objects.order_by("id").filter(pk__gt=after)
    if chain == INSTALLATION:
        events = events.filter(organisation__isnull=True)
    else:
        events = events.filter(organisation_id=chain)
    return events.iterator(chunk_size=2000)


def _head(chain: int) -> ChainHead:
    return ChainHead.objects.filter(pk=chain).first() or ChainHead(pk=chain)


class _Walk:
    """The running digest along one chain; ``step`` says what is wrong with an event."""

    def __init__(self, head: ChainHead) -> None:
        self.anchor_id, self.anchor_digest = head.anchor_event_id, head.anchor_digest
        self.running, self.count, self.last_id = GENESIS, 0, 0

    def step(self, event: AuditEvent) -> str:
        self.count, self.last_id = self.count + 1, event.pk
        if event.pk <= self.anchor_id:  # before the chain began: hashed, not stored
            self.running = digest(self.running, event)
            return ""
        problem = self.anchored()
        if problem:
            return problem
        if event.previous_digest != self.running:
            return "an event before it is missing or added"
        self.running = digest(self.running, event)
        return "" if event.digest == self.running else "its content changed"

    def anchored(self) -> str:
        """Past the anchor: the earlier events must have given its digest."""
        if self.anchor_id and self.running != self.anchor_digest:
            return "the events before the chain began changed"
        self.anchor_id, self.running = (
            0,
            self.running if self.anchor_id == 0 else self.anchor_digest,
        )
        return ""


def verify(chain: int) -> Verdict:
    """Walk the chain in the order of the events' IDs, recompute every digest, and end at
    the head (writers may append meanwhile: the walk goes on until it meets the head)."""
    walk = _Walk(_head(chain))
    while True:
        walked = walk.count
        for event in _events(chain, walk.last_id):
            problem = walk.step(event)
            if problem:
                return Verdict(chain, walk.count, event.pk, problem)
        head = _head(chain)
        problem = walk.anchored()
        if problem:
            return Verdict(chain, walk.count, None, problem)
        if walk.running == head.digest:
            return Verdict(chain, walk.count)
        if walk.count == walked:
            return Verdict(chain, walk.count, _after(chain, head.digest), _AT_THE_END)


_AT_THE_END = "the chain does not end at its head: events at the end added or removed"


def _after(chain: int, head_digest: str) -> int | None:
    """The first event after the head's (an event added at the end), if any."""
    last = AuditEvent.objects.filter(digest=head_digest).values_list("pk", flat=True).first()
    if last is None:
        return None
    return next(iter(_events(chain, last)), AuditEvent()).pk


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
