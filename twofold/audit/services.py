"""``record()``: the one way an audit event is written."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import Context, ContextVar, copy_context
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from twofold.audit import chain
from twofold.audit.models import AuditAction, AuditEvent, AuditResult, is_known_action
from twofold.core import context, metrics
from twofold.core.ratelimit import Limit

if TYPE_CHECKING:
    from twofold.accounts.models import User
    from twofold.organisations.models import Organisation

log = logging.getLogger(__name__)

# Details describe what happened, never the secret itself.
_FORBIDDEN_KEY = re.compile(r"pass(word)?|secret|code|token|seed|key|otp|pin", re.IGNORECASE)
# key_ids: encryption keys' IDs (core.crypto.key_id, a digest's first digits), never keys.
_ALLOWED_KEYS = {
    "reason", "fields", "method", "count", "changes", "via", "kind", "masked_number", "key_ids",
}  # fmt: skip
_LONG_NUMBER = re.compile(r"\d{6,}")  # codes have 6 digits, phone numbers more
_BATCH = 2000


class UnsafeAuditDetails(ValueError):
    """Details would have put a secret, a code or a full phone number into the log."""


def _check(details: dict[str, Any]) -> None:
    for key, value in details.items():
        if key not in _ALLOWED_KEYS and _FORBIDDEN_KEY.search(key):
            raise UnsafeAuditDetails(f"audit details may not carry {key!r}")
        if isinstance(value, dict):
            _check(value)
        elif isinstance(value, str) and _LONG_NUMBER.search(value.replace(" ", "")):
            raise UnsafeAuditDetails(f"audit detail {key!r} looks like a number or a code")


def _known(action: str) -> None:
    """A misspelt action is a programming error, refused before anything is written."""
    if not is_known_action(str(action)):
        raise ValueError(f"unknown audit action {action!r}")


def safe_text(text: str, limit: int = 200) -> str:
    """Free text for an event (an administrator's reason): long digit runs masked."""
    return _LONG_NUMBER.sub("…", " ".join(text.split()))[:limit]


def _with_person(details: dict[str, Any], request_context: context.RequestContext) -> dict:
    """An integration's call: the event's address is the integration's, and the person's
    address it reported (and was believed) goes with it (docs/security.md 32)."""
    if request_context.integration and request_context.reported_address:
        return {"person_address": request_context.reported_address, **details}
    return details


def record(
    action: AuditAction | str,
    result: AuditResult,
    *,
    organisation: Organisation | None = None,
    actor: User | None = None,
    actor_label: str = "",
    subject: User | None = None,
    subject_label: str = "",
    **details: Any,
) -> AuditEvent:
    """Write one audit event with the current request's correlation ID, address and browser
    (and, for an integration's call, the person's address it reported).

    ``action``: an AuditAction, or one of a method's own ``audit_actions``."""
    _known(action)
    _check(details)
    request_context = context.current()
    # Every event belongs to an organisation where one is known, so its administrators
    # can find it (by correlation ID, say): given, else the subject's, else the actor's.
    organisation_id = organisation.pk if organisation else None
    for person in (subject, actor):
        if organisation_id is None and person is not None:
            organisation_id = person.organisation_id
    event = AuditEvent(
        organisation_id=organisation_id,
        actor=actor,
        actor_label=actor_label or (actor.username if actor else ""),
        subject=subject,
        subject_label=subject_label or (subject.username if subject else ""),
        action=action,
        result=result,
        client_address=request_context.client_address,
        user_agent=request_context.user_agent,
        correlation_id=request_context.correlation_id,
        details=_with_person(details, request_context),
    )
    queued = _batch.get()
    if queued is not None:  # written with the batch's other events (``batch``)
        queued.add(event, details)
        return event
    event = chain.append([event])[0]
    metrics.observe_event(action, result, details)  # written, then counted
    return event


class _Queued:
    """A queued event, its details, the context it was recorded in (its metrics are
    labelled by the request's channel then, not when the batch is written), and its mark
    in the transaction's on-commit list."""

    __slots__ = ("context", "details", "event")

    def __init__(self, event: AuditEvent, details: dict[str, Any]) -> None:
        self.event = event
        self.details = details
        self.context: Context = copy_context()

    def __call__(self) -> None:
        """Run on commit: nothing to do (the event was written before it)."""


class Batch(list):
    """The events ``record`` queued inside ``batch``, in the order they were recorded."""

    def add(self, event: AuditEvent, details: dict[str, Any]) -> None:
        """Queue ``event``. It is marked in the transaction's on-commit list, from which
        Django removes what was registered inside a savepoint that rolls back: an event of
        work undone that way is not written (``write``)."""
        queued = _Queued(event, details)
        transaction.on_commit(queued)
        self.append(queued)

    def _kept(self) -> list[_Queued]:
        """The queued events whose savepoints did not roll back."""
        marks = transaction.get_connection().run_on_commit
        alive = {id(mark) for _savepoints, mark, _robust in marks}
        return [queued for queued in self if id(queued) in alive]

    def write(self) -> None:
        """Write them, chained (one head lock, one INSERT, one head update per chain), in
        the caller's transaction; then count them."""
        kept = self._kept()
        by_chain: dict[int, list[AuditEvent]] = {}
        for queued in kept:
            event = queued.event
            by_chain.setdefault(chain.chain_of(event.organisation_id), []).append(event)
        with transaction.atomic(savepoint=False):
            for key in sorted(by_chain):  # heads locked in one order: no deadlock between them
                chain.append(by_chain[key])
        for queued in kept:
            event = queued.event
            queued.context.run(metrics.observe_event, event.action, event.result, queued.details)
        self.clear()


_batch: ContextVar[Batch | None] = ContextVar("audit_batch", default=None)


def batching() -> bool:
    """Whether ``record`` queues its events (inside ``batch``): the caller holds one
    transaction for its whole work (``together``)."""
    return _batch.get() is not None


@contextmanager
def batch() -> Iterator[Batch]:
    """Inside, ``record`` queues its events (unsaved) instead of writing each with its own
    head lock, INSERT and head update: the caller writes them all with ``Batch.write``
    before its transaction ends, or drops them with a transaction it rolls back (events not
    written when the block ends are dropped, as are those recorded inside a savepoint that
    rolled back). The chain's head is then still the transaction's last lock (issue 20)."""
    if batching():
        raise RuntimeError("audit batches do not nest")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("an audit batch belongs inside the transaction that writes it")
    queued = Batch()
    token = _batch.set(queued)
    try:
        yield queued
    finally:
        _batch.reset(token)


Result = TypeVar("Result")


def together(
    work: Callable[[], Result],
    *,
    finish: Callable[[Result], None],
    undone: Callable[[Result], bool] = lambda result: False,
) -> Result:
    """Run ``work`` as one transaction whose audit events are written together at its end
    (``batch``), with ``finish(result)`` recording the caller's own event of it (an API
    call's, a RADIUS request's) among them: one head lock, one INSERT, one head update.

    Work that is ``undone`` (a 5xx answer), or that an error escaped from a block without
    its savepoint, rolls back with everything it recorded, and ``finish`` then records the
    caller's event alone, as for any call whose work rolled back. The work must take the
    user's row first of all its locks (the lock order, methods/verification.py): callers
    look at ``batching()`` to know (api/checks.py). An exception out of ``work`` rolls it
    back and propagates, with no event, as it would without this.
    """
    with transaction.atomic(), batch() as events:
        result = work()
        rolled_back = transaction.get_connection().needs_rollback or undone(result)
        if rolled_back:
            transaction.set_rollback(True)
        else:
            finish(result)
            events.write()
    if rolled_back:
        finish(result)
    return result


#: However many addresses a flood comes from (UDP sources are forged at will, and IPv6
#: gives anyone many /64s), an action limited per address is audited at most this many
#: times its per-address limit in a window, counting every address together.
ALL_ADDRESSES_FACTOR = 20


def record_at_most(
    limit: Limit,
    action: AuditAction | str,
    result: AuditResult,
    **kwargs: Any,
) -> AuditEvent | None:
    """``record()``, but at most ``limit.limit`` times per window for each client address
    (an IPv6 address's /64, as per-address limits count it), and at most
    ``ALL_ADDRESSES_FACTOR`` times that for every address together.

    For refusals anybody can provoke (forged callbacks, guessed credentials, forged
    datagrams): beyond the limits they are still refused, but a flood of them cannot fill
    the audit log. The operator's log says so once a window per address, and once when
    the ceiling for all addresses is met.
    """
    source = context.address_bucket_of(context.current().client_address) or "unknown"
    count = limit.hit(source)
    if count > limit.limit:
        if count == limit.limit + 1:
            log.warning("%s events from one address are no longer audited", action)
        return None
    everyone = Limit(f"{limit.scope}:all", limit.limit * ALL_ADDRESSES_FACTOR, limit.window)
    count = everyone.hit("all")
    if count > everyone.limit:
        if count == everyone.limit + 1:
            log.warning("%s events are no longer audited: too many from every address", action)
        return None
    return record(action, result, **kwargs)


def _event(organisation_id: int | None, pk: int, label: str, common: dict) -> AuditEvent:
    return AuditEvent(organisation_id=organisation_id, subject_id=pk, subject_label=label, **common)


def record_for_users(
    action: AuditAction | str,
    result: AuditResult,
    users: QuerySet,
    *,
    actor: User | None = None,
    actor_label: str = "",
    **details: Any,
) -> int:
    """One event per user in ``users``, written in batches chained like any other.

    ``actor_label``: who acted when no user did (an API client's label); else "system".

    The users' rows are locked first (FOR NO KEY UPDATE, what the change that follows
    takes anyway): the chain's head must be the last lock of a transaction. Call it before
    the change if the change alters what ``users`` selects.
    """
    _known(action)
    _check(details)
    request_context = context.current()
    common = {
        "at": timezone.now(),
        "actor_id": actor.pk if actor else None,
        "actor_label": actor_label or (actor.username if actor else "system"),
        "action": str(action),
        "result": result.value,
        "client_address": request_context.client_address,
        "user_agent": request_context.user_agent,
        "correlation_id": request_context.correlation_id,
        "details": json.loads(json.dumps(_with_person(details, request_context))),
    }
    count = 0
    with transaction.atomic(savepoint=False):
        rows = (
            users.model.objects.filter(pk__in=users.order_by().values("pk"))
            .select_for_update(no_key=True)
            .order_by("organisation_id", "pk")
            .values_list("pk", "username", "organisation_id")
        )
        by_chain: dict[int, list[AuditEvent]] = {}
        for pk, username, organisation_id in rows.iterator(chunk_size=_BATCH):
            by_chain.setdefault(chain.chain_of(organisation_id), []).append(
                _event(organisation_id, pk, username, common)
            )
        for key in sorted(by_chain):  # heads locked in one order: no deadlock between them
            for start in range(0, len(by_chain[key]), _BATCH):
                count += len(chain.append(by_chain[key][start : start + _BATCH]))
    return count


def record_each(
    action: AuditAction | str,
    result: AuditResult,
    subjects: list[tuple[User, dict[str, Any]]],
    *,
    actor_label: str,
) -> int:
    """One event per (subject, details), as ``record`` writes it, chained in batches: for
    users whose rows this transaction already holds (made or locked by it), each event
    with its own details (a masked number, say)."""
    _known(action)
    request_context = context.current()
    by_chain: dict[int, list[AuditEvent]] = {}
    for subject, details in subjects:
        _check(details)
        by_chain.setdefault(chain.chain_of(subject.organisation_id), []).append(
            AuditEvent(
                organisation_id=subject.organisation_id,
                actor_label=actor_label,
                subject=subject,
                subject_label=subject.username,
                action=action,
                result=result,
                client_address=request_context.client_address,
                user_agent=request_context.user_agent,
                correlation_id=request_context.correlation_id,
                details=json.loads(json.dumps(_with_person(details, request_context))),
            )
        )
    count = 0
    with transaction.atomic(savepoint=False):
        for key in sorted(by_chain):  # heads locked in one order: no deadlock between them
            for start in range(0, len(by_chain[key]), _BATCH):
                for event in chain.append(by_chain[key][start : start + _BATCH]):
                    metrics.observe_event(action, result, event.details)
                    count += 1
    return count
