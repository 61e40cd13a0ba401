"""Audit events written as one batch at the end of a transaction (``services.batch``, the
REST API's answer to a challenge): chained like any others, or dropped with the
transaction that rolls back."""

import pytest
from django.db import transaction

from twofold.audit import chain
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.audit.services import batch, record

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
