"""The audit log's hash chains: changed, deleted and inserted rows are found (written
straight into the database, its append-only triggers dropped), on both databases."""

import importlib

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from conftest import at_once
from twofold.accounts.models import User
from twofold.accounts.services import set_mfa_state
from twofold.audit import chain
from twofold.audit.models import AuditAction, AuditEvent, AuditResult, ChainHead
from twofold.audit.services import record, record_for_users

pytestmark = pytest.mark.django_db
TABLE = AuditEvent._meta.db_table


def _drop_triggers() -> None:
    """What someone with the database's password could do (undone with the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS audit_event_no_change ON {TABLE}")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS audit_event_no_update")


def _sql(statement: str, params: list | None = None) -> None:
    _drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _count(user) -> int:
    return AuditEvent.objects.filter(organisation_id=user.organisation_id).count()


def _events(user, count: int = 4) -> list[AuditEvent]:
    return [
        record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user, index=index)
        for index in range(count)
    ]


def test_an_organisations_events_verify_as_an_intact_chain(user) -> None:
    _events(user)
    verdict = chain.verify(user.organisation_id)
    assert (verdict.ok, verdict.events) == (True, _count(user))


def test_each_event_is_chained_to_the_digest_of_the_one_before(user) -> None:
    events = _events(user, 3)
    assert [event.previous_digest for event in events[1:]] == [e.digest for e in events[:2]]


def test_a_changed_event_is_found_and_named(user) -> None:
    events = _events(user)
    _sql(f"UPDATE {TABLE} SET result = 'failure' WHERE id = %s", [events[1].pk])  # noqa: S608
    verdict = chain.verify(user.organisation_id)
    assert (verdict.broken_at, verdict.reason) == (events[1].pk, "its content changed")


def test_a_changed_digest_is_found_at_the_event_after_it(user) -> None:
    events = _events(user)
    _sql(f"UPDATE {TABLE} SET digest = %s WHERE id = %s", ["f" * 64, events[1].pk])  # noqa: S608
    assert chain.verify(user.organisation_id).broken_at == events[1].pk


def test_a_deleted_event_is_found_at_the_event_after_it(user) -> None:
    events = _events(user)
    _sql(f"DELETE FROM {TABLE} WHERE id = %s", [events[1].pk])  # noqa: S608
    verdict = chain.verify(user.organisation_id)
    assert (verdict.broken_at, verdict.reason) == (
        events[2].pk,
        "an event before it is missing or added",
    )


def test_a_deleted_last_event_is_found(user) -> None:
    events = _events(user)
    _sql(f"DELETE FROM {TABLE} WHERE id = %s", [events[-1].pk])  # noqa: S608
    verdict = chain.verify(user.organisation_id)
    assert (verdict.ok, verdict.reason) == (False, chain._AT_THE_END)


def _copy_as(new_id: int, event: AuditEvent, **changes: object) -> None:
    """Insert a copy of ``event`` under ``new_id`` (its digests too, unless changed)."""
    columns = [field.column for field in AuditEvent._meta.concrete_fields if field.column != "id"]
    values = {column: getattr(event, column) for column in columns} | changes
    values["details"] = '{"forged": 1}'
    marks = ", ".join("%s" for _ in columns)
    _sql(
        f"INSERT INTO {TABLE} (id, {', '.join(columns)}) VALUES (%s, {marks})",  # noqa: S608
        [new_id, *(values[column] for column in columns)],
    )


def test_an_event_inserted_between_two_is_found_and_named(user, other_organisation) -> None:
    first = record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
    gap = record(AuditAction.SIGNOUT, AuditResult.SUCCESS, organisation=other_organisation)
    last = record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
    _sql(f"DELETE FROM {TABLE} WHERE id = %s", [gap.pk])  # noqa: S608 - an ID free between
    # A forged event in between, chained to the first one as a writer would have.
    forged = AuditEvent(**{f.attname: getattr(first, f.attname) for f in AuditEvent._meta.fields})
    forged.details = {"forged": 1}
    _copy_as(gap.pk, first, digest=chain.digest(first.digest, forged), previous_digest=first.digest)
    verdict = chain.verify(user.organisation_id)
    assert (verdict.broken_at, verdict.reason) == (
        last.pk,
        "an event before it is missing or added",
    )


def test_an_event_added_at_the_end_is_found_and_named(user) -> None:
    events = _events(user)
    forged = AuditEvent(
        **{f.attname: getattr(events[-1], f.attname) for f in AuditEvent._meta.fields}
    )
    forged.details = {"forged": 1}
    new_id = events[-1].pk + 1000
    _copy_as(new_id, events[-1], digest=chain.digest(events[-1].digest, forged),
             previous_digest=events[-1].digest)  # fmt: skip
    verdict = chain.verify(user.organisation_id)
    assert (verdict.broken_at, verdict.reason) == (new_id, chain._AT_THE_END)


def test_events_without_an_organisation_form_the_installation_chain(user) -> None:
    record(AuditAction.CALLBACK_REJECTED, AuditResult.DENIED)
    record(AuditAction.CALLBACK_REJECTED, AuditResult.DENIED)
    verdict = chain.verify(chain.INSTALLATION)
    assert (verdict.ok, verdict.events) == (True, 2)


def test_events_for_many_users_at_once_are_chained(make_user, user) -> None:
    for index in range(3):
        make_user(f"user{index}@contoso.example")
    record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
    set_mfa_state(User.objects.all(), "disabled")
    verdict = chain.verify(user.organisation_id)
    assert verdict.ok
    assert verdict.events == AuditEvent.objects.filter(organisation_id=user.organisation_id).count()


def test_a_changed_event_of_a_bulk_write_is_found(make_user) -> None:
    users = [make_user(f"user{index}@contoso.example") for index in range(3)]
    record_for_users(AuditAction.USER_UNBLOCKED, AuditResult.SUCCESS, User.objects.all())
    target = AuditEvent.objects.filter(subject=users[1], action=AuditAction.USER_UNBLOCKED).get()
    _sql(f"UPDATE {TABLE} SET subject_label = 'x' WHERE id = %s", [target.pk])  # noqa: S608
    assert chain.verify(users[0].organisation_id).broken_at == target.pk


def _legacy(user) -> list[AuditEvent]:
    """Events as they were before the chain began (no digests, no heads), then the
    migration's anchoring."""
    events = _events(user, 3)
    _sql(f"UPDATE {TABLE} SET digest = '', previous_digest = ''")  # noqa: S608
    ChainHead.objects.all().delete()
    importlib.import_module("twofold.audit.migrations.0008_hash_chain").anchor(apps, None)
    return events


def test_events_from_before_the_chain_are_anchored_and_verified(user) -> None:
    _legacy(user)
    record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
    verdict = chain.verify(user.organisation_id)
    assert (verdict.ok, verdict.events) == (True, _count(user))


def test_a_changed_event_from_before_the_chain_is_found(user) -> None:
    events = _legacy(user)
    after = record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
    _sql(f"UPDATE {TABLE} SET action = 'x' WHERE id = %s", [events[0].pk])  # noqa: S608
    verdict = chain.verify(user.organisation_id)
    assert (verdict.broken_at, verdict.reason) == (
        after.pk,
        "the events before the chain began changed",
    )


def test_the_command_names_the_broken_event_and_keeps_the_result(user, capsys) -> None:
    events = _events(user)
    _sql(f"UPDATE {TABLE} SET correlation_id = 'x' WHERE id = %s", [events[2].pk])  # noqa: S608
    with pytest.raises(CommandError):
        call_command("audit", "verify", "--org", user.organisation.slug)
    assert f"BROKEN at event {events[2].pk}" in capsys.readouterr().out
    head = ChainHead.objects.get(pk=user.organisation_id)
    assert (head.verified_ok, head.verified_broken_at) == (False, events[2].pk)


def test_the_command_says_an_intact_chain_is_intact(user, capsys) -> None:
    _events(user)
    call_command("audit", "verify")
    assert f"contoso: {_count(user)} events, chain intact" in capsys.readouterr().out


def test_the_command_refuses_an_unknown_organisation(db) -> None:
    with pytest.raises(CommandError, match="No organisation"):
        call_command("audit", "verify", "--org", "nobody")


def test_an_ipv6_address_is_chained_as_the_database_keeps_it(user) -> None:
    from twofold.core import context

    token = context.activate(context.RequestContext("cid", "2001:DB8:0:0::1", "Firefox"))
    try:
        record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
    finally:
        context.deactivate(token)
    assert chain.verify(user.organisation_id).ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_a_valid_chain(user) -> None:
    def write() -> bool:
        for _ in range(5):
            record(AuditAction.SIGNOUT, AuditResult.SUCCESS, subject=user)
        return True

    before = _count(user)
    at_once(write, times=8)
    assert _count(user) == before + 40
    verdict = chain.verify(user.organisation_id)
    assert (verdict.ok, verdict.events) == (True, _count(user))


@pytest.mark.django_db(transaction=True)
def test_a_bulk_change_beside_a_check_of_one_of_its_users_deadlocks_neither(
    user, monkeypatch
) -> None:
    # The chain's head is the last lock: a bulk write locks its users before the head, so
    # it queues behind a check that holds one of them instead of holding the head it needs.
    from django.db import transaction

    from conftest import Rendezvous, side_by_side
    from twofold.accounts import services as account_services
    from twofold.methods.verification import lock_user

    meeting = Rendezvous()
    meeting.after(monkeypatch, account_services, "record_for_users")

    def bulk() -> str:
        with transaction.atomic():
            set_mfa_state(User.objects.filter(pk=user.pk), "enforced")
        return "ok"

    def check() -> str:
        with transaction.atomic():
            lock_user(user.pk)
            meeting.meet()
            record(AuditAction.CHALLENGE_VERIFIED, AuditResult.FAILURE, subject=user)
        return "ok"

    assert side_by_side(bulk, check) == ["ok", "ok"]
    assert chain.verify(user.organisation_id).ok
