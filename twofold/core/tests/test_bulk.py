"""core.bulk: rows inserted in bulk (COPY on PostgreSQL, executemany on SQLite) and the
``__any`` lookup (one array instead of an IN list on PostgreSQL); on both databases
(docs/directory.md, "Speed")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from twofold.accounts import services as accounts
from twofold.accounts.models import MfaState, User
from twofold.audit import chain
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.core import bulk

pytestmark = pytest.mark.django_db

POSTGRESQL = connection.vendor == "postgresql"


def _events(organisation, count: int) -> list[AuditEvent]:
    return [
        AuditEvent(
            at=datetime(2026, 12, 6, 15, 0, index, 123456, tzinfo=UTC),
            organisation_id=organisation.pk,
            actor_label="bulk test",
            subject_label=f"person{index}@contoso.example",
            action=AuditAction.USER_CREATED,
            result=AuditResult.SUCCESS,
            client_address="2001:DB8::0:1" if index % 2 else "192.0.2.7",
            correlation_id=f"c{index:03d}",
            details={"via": "directory", "fields": ["ü", "名前"], "count": index},
        )
        for index in range(count)
    ]


def _made(organisation, names: list[str]) -> list[User]:
    users = [
        accounts.new_user(organisation, name, display_name="Zoë", mfa_state=MfaState.ENABLED)
        for name in names
    ]
    return accounts.create_users(users, actor_label="test")


@pytest.mark.parametrize("count", [3, 40], ids=["one INSERT", "COPY or executemany"])
def test_a_batch_of_events_keeps_every_value_and_its_order(organisation, count) -> None:
    with transaction.atomic():
        chain.append(_events(organisation, count))
    stored = list(AuditEvent.objects.filter(actor_label="bulk test").order_by("id"))
    assert [e.correlation_id for e in stored] == [f"c{index:03d}" for index in range(count)]
    first, second = stored[0], stored[1]
    assert first.at == datetime(2026, 12, 6, 15, 0, 0, 123456, tzinfo=UTC)
    assert (first.client_address, second.client_address) == ("192.0.2.7", "2001:db8::1")
    assert second.details == {"via": "directory", "fields": ["ü", "名前"], "count": 1}
    assert (first.actor_id, first.subject_id) == (None, None)
    assert chain.verify(organisation.pk).ok


def test_users_made_in_bulk_are_stored_as_made(organisation) -> None:
    made = _made(organisation, ["adele@contoso.example", "bianca@contoso.example"])
    adele = User.objects.get(username="adele@contoso.example")
    assert adele.pk == made[0].pk
    assert (adele.display_name, adele.mfa_state, adele.is_admin) == ("Zoë", "enabled", False)
    assert adele.is_active
    assert not adele.has_usable_password()


def test_a_taken_name_in_a_bulk_insert_is_an_integrity_error(organisation) -> None:
    """Django's IntegrityError (which callers catch to go one at a time), not the driver's."""
    accounts.create_user(organisation, "bianca@contoso.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        _made(organisation, ["adele@contoso.example", "bianca@contoso.example"])
    assert not User.objects.filter(username="adele@contoso.example").exists()


@pytest.mark.skipif(not POSTGRESQL, reason="COPY is PostgreSQL's")
def test_a_bulk_insert_is_one_copy_not_inserts_on_postgresql(organisation) -> None:
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        chain.append(_events(organisation, 40))
    assert not [query for query in queries if "INSERT" in query["sql"].upper()]
    # Logged as Django logs its own statements, so that tests counting them see it.
    assert len([query for query in queries if query["sql"].startswith("COPY")]) == 1
    assert AuditEvent.objects.filter(actor_label="bulk test").count() == 40


def test_a_few_rows_are_one_insert_statement(organisation) -> None:
    """With the chain head's UPDATE in the same statement on PostgreSQL (``along``)."""
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        chain.append(_events(organisation, bulk.FEW_ROWS))
    statements = [
        query["sql"] for query in queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    inserts = [sql for sql in statements if "INSERT" in sql.upper()]
    assert len(inserts) == 1
    head_moved = [sql for sql in statements if 'UPDATE "audit_chainhead"' in sql]
    if POSTGRESQL:
        assert head_moved == inserts  # WITH along AS (UPDATE …) INSERT …: one round trip
        assert len(statements) == 2  # and the head's lock before it
    else:
        assert len(head_moved) == 1
    assert AuditEvent.objects.filter(actor_label="bulk test").count() == bulk.FEW_ROWS
    assert chain.verify(organisation.pk).ok


def test_any_selects_the_rows_whose_value_is_listed(organisation) -> None:
    made = _made(organisation, [f"p{index}@contoso.example" for index in range(5)])
    names = ["p1@contoso.example", "p3@contoso.example", "nobody@contoso.example"]
    found = User.objects.filter(username__any=names).values_list("username", flat=True)
    assert sorted(found) == ["p1@contoso.example", "p3@contoso.example"]
    pks = [made[0].pk, made[4].pk, 10**9]
    assert set(User.objects.filter(pk__any=pks)) == {made[0], made[4]}
    assert not User.objects.filter(pk__any=[]).exists()


def test_any_sends_a_thousand_values_as_one_parameter_on_postgresql(organisation) -> None:
    names = [f"p{index}@contoso.example" for index in range(1000)]
    sql, params = User.objects.filter(username__any=names).query.sql_with_params()
    if POSTGRESQL:
        assert sql.count("%s") == 1
        assert "= ANY(%s)" in sql
        assert params == (names,)
    else:  # SQLite: an IN list, which it handles fast
        assert sql.count("%s") == 1000
