"""Audit events written as one batch at the end of a transaction (``services.batch`` and
``services.together``: the REST API's checks, RADIUS): chained like any others, or
dropped with the transaction, or the savepoint, that rolls back."""

import pytest
from django.db import transaction

from twofold.audit import chain
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.audit.services import batch, record, together

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in(user) -> None:
    record(AuditAction.SIGNIN_COMPLETED, AuditResult.SUCCESS, actor=user, subject=user)


def test_batched_events_are_written_at_the_end_in_order_on_an_intact_chain(user) -> None:
    before = AuditEvent.objects.count()
    with transaction.atomic(), batch() as events:
        _signed_in(user)
        record(AuditAction.API_CALL, AuditResult.FAILURE, subject=user, kind="POST x")
        assert AuditEvent.objects.count() == before  # queued, not written yet
        events.write()
    written = list(AuditEvent.objects.order_by("-id").values_list("action", "result")[:2])
    assert written == [("api.call", "failure"), ("signin.completed", "success")]
    assert chain.verify(user.organisation_id).ok


def test_batched_events_of_a_transaction_that_rolls_back_are_not_written(user) -> None:
    before = AuditEvent.objects.count()
    with transaction.atomic(), batch():
        _signed_in(user)
        transaction.set_rollback(True)
    assert AuditEvent.objects.count() == before
    _signed_in(user)  # the chain goes on from where it was
    assert chain.verify(user.organisation_id).ok


def test_a_batch_needs_the_transaction_that_writes_it(user) -> None:
    with pytest.raises(RuntimeError), batch():
        pass


def test_batches_do_not_nest(user) -> None:
    with pytest.raises(RuntimeError), transaction.atomic(), batch(), batch():
        pass


def test_an_event_recorded_in_a_savepoint_that_rolls_back_is_not_written(user) -> None:
    """Its work is undone: so is its event (the mark Django drops with the savepoint)."""
    with transaction.atomic(), batch() as events:
        _signed_in(user)
        with transaction.atomic():  # released: its event stays
            record(AuditAction.API_CALL, AuditResult.SUCCESS, subject=user, kind="POST kept")
        try:
            with transaction.atomic():  # rolled back: its event goes with it
                record(AuditAction.API_CALL, AuditResult.FAILURE, subject=user, kind="POST gone")
                raise RuntimeError("undone")
        except RuntimeError:
            pass
        events.write()
    written = list(AuditEvent.objects.order_by("-id").values_list("action", "details")[:2])
    assert written == [("api.call", {"kind": "POST kept"}), ("signin.completed", {})]
    assert chain.verify(user.organisation_id).ok


def _inserts(captured) -> int:
    return sum(
        'INSERT INTO "audit_auditevent"' in query["sql"]  # on PostgreSQL after WITH (core.bulk)
        for query in captured.captured_queries
    )


def test_together_writes_the_works_events_and_the_callers_in_one_insert(user) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def finish(result: str) -> None:
        record(AuditAction.API_CALL, AuditResult.SUCCESS, subject=user, kind=result)

    with CaptureQueriesContext(connection) as captured:
        assert together(lambda: _signed_in(user) or "POST done", finish=finish) == "POST done"
    assert _inserts(captured) == 1
    written = list(AuditEvent.objects.order_by("-id").values_list("action", "details")[:2])
    assert written == [("api.call", {"kind": "POST done"}), ("signin.completed", {})]
    assert chain.verify(user.organisation_id).ok


@pytest.mark.parametrize("how", ["undone", "escaped a block without its savepoint"])
def test_together_rolls_undone_work_back_and_writes_the_callers_event_alone(user, how) -> None:
    from twofold.accounts.models import User

    def work() -> str:
        User.objects.filter(pk=user.pk).update(display_name="Changed")
        _signed_in(user)
        if how != "undone":
            try:
                with transaction.atomic(savepoint=False):
                    raise RuntimeError("a failure inside")
            except RuntimeError:
                pass
        return "POST failed"

    def finish(result: str) -> None:
        record(AuditAction.API_CALL, AuditResult.FAILURE, subject=user, kind=result)

    before = AuditEvent.objects.count()
    together(work, finish=finish, undone=lambda result: how == "undone")
    assert User.objects.get(pk=user.pk).display_name != "Changed"
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.latest("id").action == "api.call"
    assert chain.verify(user.organisation_id).ok


def test_a_batched_event_is_counted_on_the_channel_it_was_recorded_in(user) -> None:
    """Written after the integration's context has ended, counted as recorded within it."""
    from prometheus_client import REGISTRY

    from twofold.core import context

    labels = {"step": "password", "result": "success", "channel": "radius"}

    def counted() -> float:
        return REGISTRY.get_sample_value("twofold_signins_total", labels) or 0.0

    before = counted()
    with transaction.atomic(), batch() as events:
        with context.for_integration("radius-client:1", None):
            record(AuditAction.SIGNIN_PASSWORD, AuditResult.SUCCESS, actor=user, subject=user)
        events.write()
    assert counted() == before + 1
