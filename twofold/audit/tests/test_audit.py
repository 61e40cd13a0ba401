import pytest
from django.db import DatabaseError, connection, transaction

from twofold.audit.models import AppendOnlyError, AuditAction, AuditEvent, AuditResult
from twofold.audit.services import (
    ALL_ADDRESSES_FACTOR,
    UnsafeAuditDetails,
    record,
    record_at_most,
)
from twofold.core import context
from twofold.core.ratelimit import Limit

pytestmark = pytest.mark.django_db


def test_record_writes_the_current_context_into_the_event(user) -> None:
    token = context.activate(context.RequestContext("cid-1", "192.0.2.10", "Firefox"))
    try:
        event = record(AuditAction.SIGNOUT, AuditResult.SUCCESS, actor=user, subject=user)
    finally:
        context.deactivate(token)
    event.refresh_from_db()
    assert (event.correlation_id, event.client_address, event.user_agent) == (
        "cid-1",
        "192.0.2.10",
        "Firefox",
    )
    assert event.organisation_id == user.organisation_id
    assert event.actor_label == event.subject_label == "alice@contoso.example"


def test_an_event_cannot_be_changed_through_the_orm(user) -> None:
    event = record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
    event.result = AuditResult.FAILURE
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(result=AuditResult.FAILURE)


def test_an_event_cannot_be_deleted_through_the_orm(user) -> None:
    event = record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_the_database_refuses_an_update_that_goes_around_the_orm(user) -> None:
    event = record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET result = 'failure' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).result == AuditResult.SUCCESS


@pytest.mark.skipif(connection.vendor != "postgresql", reason="DELETE trigger exists on PostgreSQL")
def test_postgresql_refuses_a_delete_that_goes_around_the_orm(user) -> None:
    event = record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "details",
    [
        {"password": "hunter2"},
        {"code": "123456"},
        {"totp_secret": "JBSWY3DP"},
        {"changes": {"phone": "+14255550134"}},
        {"reason": "user typed 123456"},
    ],
)
def test_record_refuses_details_that_carry_a_secret_or_a_number(user, details) -> None:
    with pytest.raises(UnsafeAuditDetails):
        record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user, **details)
    assert not AuditEvent.objects.filter(action=AuditAction.SIGNOUT).exists()


def test_record_accepts_masked_numbers_and_plain_reasons(user) -> None:
    event = record(
        AuditAction.SIGNOUT,
        AuditResult.SUCCESS,
        subject=user,
        masked_number="+1 XXX XXX XX34",
        reason="signed out from the menu",
    )
    assert event.details["masked_number"] == "+1 XXX XXX XX34"


def test_an_event_outlives_the_user_it_names(make_user) -> None:
    carol = make_user("carol@contoso.example")
    event = record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=carol)
    carol.delete()
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.subject_id is not None
    assert event.subject_label == "carol@contoso.example"


def test_the_audit_log_is_indexed_by_correlation_id() -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, AuditEvent._meta.db_table)
    indexed = [spec["columns"] for spec in constraints.values() if spec["index"]]
    assert ["correlation_id"] in indexed


def test_finding_events_by_correlation_id_uses_the_index(user) -> None:
    for index in range(50):
        token = context.activate(context.RequestContext(f"cid-{index}"))
        record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
        context.deactivate(token)
    plan = AuditEvent.objects.filter(correlation_id="cid-7").explain()
    if connection.vendor == "postgresql":
        # A tiny table may be scanned sequentially; forbid that to see the index is usable.
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
        plan = AuditEvent.objects.filter(correlation_id="cid-7").explain()
    assert "audit_correlation_id" in plan


def test_events_limited_per_address_also_stop_at_a_ceiling_for_every_address() -> None:
    # A flood from ever new addresses (forged UDP sources, many IPv6 /64s): each address
    # stays under its own limit, but the audit log takes only so many in all.
    per_address = Limit("test-flood", 2, 60)
    ceiling = per_address.limit * ALL_ADDRESSES_FACTOR
    written = 0
    for index in range(ceiling):  # twice the ceiling in events, two from each address
        token = context.activate(
            context.RequestContext(client_address=f"10.{index // 250}.{index % 250}.1")
        )
        try:
            for _ in range(2):
                event = record_at_most(
                    per_address, AuditAction.RADIUS_DROPPED, AuditResult.DENIED, reason="flood"
                )
                written += event is not None
        finally:
            context.deactivate(token)

    assert written == ceiling
    assert AuditEvent.objects.filter(action=AuditAction.RADIUS_DROPPED).count() == ceiling
