"""Making, spending and forgetting sets (docs/security.md 28)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from conftest import OFFICE_NUMBER, at_once
from twofold.accounts.models import User
from twofold.audit.models import AuditEvent
from twofold.core.errors import NotAllowed
from twofold.methods import verification
from twofold.methods.phone import services as phone_services
from twofold.methods.recovery import codes, services
from twofold.methods.recovery.models import RecoveryCode


def _spend(user, typed: str) -> bool:
    """As the verification path does: the user's row locked, then the code spent."""
    with transaction.atomic():
        locked = verification.lock_user(user.pk)
        return services.spend(locked, codes.normalise(typed))


@pytest.fixture(autouse=True)
def _a_way_to_verify(with_phone) -> None:
    """A set is made only beside another way to verify: ``user`` has a phone."""


def _bob(make_user):
    bob = make_user("bob@contoso.example")
    phone_services.set_number(bob, "authentication", "+14255550111", mode="text")
    return bob


def test_a_set_has_ten_different_codes_in_groups(user) -> None:
    made = services.make_set(user)
    assert len(made) == len(set(made)) == 10
    assert all(len(code) == 19 and code.count("-") == 3 for code in made)
    assert services.standing(user).left == 10


def test_only_keyed_digests_are_at_rest(user) -> None:
    made = services.make_set(user)
    table = RecoveryCode._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - the model's own table
        rows = [" ".join(str(value) for value in row) for row in cursor.fetchall()]
    assert len(rows) == 10
    for code in made:
        plain = codes.normalise(code)
        for row in rows:
            assert plain not in row.lower()
            assert code not in row.lower()
    stored = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert stored == {codes.digest(user.pk, codes.normalise(code)) for code in made}


def test_each_code_works_once(user) -> None:
    made = services.make_set(user)
    assert _spend(user, made[0]) is True
    assert _spend(user, made[0]) is False
    assert _spend(user, made[1].upper().replace("-", " ")) is True
    assert services.standing(user).left == 8


def test_a_new_set_stops_the_old_one(user) -> None:
    old = services.make_set(user)
    new = services.make_set(user)
    assert not set(old) & set(new)
    assert all(_spend(user, code) is False for code in old)
    assert _spend(user, new[0]) is True
    assert RecoveryCode.objects.filter(user=user).count() == 10


def test_one_users_code_is_nothing_to_another(user, make_user) -> None:
    made = services.make_set(user)
    bob = _bob(make_user)
    services.make_set(bob)
    assert _spend(bob, made[0]) is False
    assert _spend(user, made[0]) is True


def test_forgetting_removes_the_codes(user, make_user) -> None:
    services.make_set(user)
    bob = _bob(make_user)
    services.make_set(bob)
    assert services.forget(User.objects.filter(pk=user.pk).values("pk")) == 10
    assert services.standing(user).has_set is False
    assert services.standing(bob).left == 10


def test_making_and_using_codes_is_audited_without_a_code(user) -> None:
    made = services.make_set(user)
    _spend(user, made[0])
    events = list(AuditEvent.objects.filter(action__startswith="recovery_codes.").order_by("pk"))
    assert [event.action for event in events] == [services.MADE, services.USED]
    assert events[1].details["left"] == 9
    for event in events:
        text = str(event.details).lower()
        assert not any(codes.normalise(code) in text or code in text for code in made)


def test_the_person_is_texted_when_a_set_is_made_and_when_a_code_is_used(
    user, outbox, django_capture_on_commit_callbacks
) -> None:
    before = len(outbox.texts())
    with django_capture_on_commit_callbacks(execute=True):
        made = services.make_set(user)
    assert len(outbox.texts()) == before + 1
    assert "new recovery codes" in outbox.texts()[0].body
    with django_capture_on_commit_callbacks(execute=True):
        _spend(user, made[0])
    assert len(outbox.texts()) == before + 2
    body = outbox.texts()[0].body
    assert "recovery codes was used" in body
    assert "9 left" in body
    assert not any(codes.normalise(code) in body for code in made)


def test_without_an_authentication_phone_nobody_is_texted(
    make_user, outbox, django_capture_on_commit_callbacks
) -> None:
    carol = make_user("carol@contoso.example")
    phone_services.set_number(carol, "office", OFFICE_NUMBER, mode="call")
    with django_capture_on_commit_callbacks(execute=True):
        services.make_set(carol)
    assert outbox.texts() == []


@pytest.mark.django_db(transaction=True)
def test_one_code_spent_ten_times_at_once_works_once(user) -> None:
    # docs/security.md 7 and 28: the user's row lock and the conditional update; truly
    # concurrent on PostgreSQL.
    made = services.make_set(user)
    assert sorted(at_once(lambda: _spend(user, made[0]))) == [False] * 9 + [True]
    assert services.standing(user).left == 9


def test_no_set_is_made_without_another_way_to_verify(make_user) -> None:
    dave = make_user("dave@contoso.example")
    with pytest.raises(NotAllowed):
        services.make_set(dave)
    assert RecoveryCode.objects.filter(user=dave).count() == 0


def test_an_administrators_reset_removes_the_codes(user, make_user) -> None:
    from twofold.methods import resets

    services.make_set(user)
    resets.require_reregistration(User.objects.filter(pk=user.pk), actor_label="test")
    assert RecoveryCode.objects.filter(user=user).count() == 0


def test_no_set_is_made_where_the_organisation_does_not_allow_them(user) -> None:
    organisation = user.organisation
    organisation.allowed_methods = [
        kind for kind in organisation.allowed_methods if kind != "recovery_code"
    ]
    organisation.save()
    with pytest.raises(NotAllowed):
        services.make_set(user)
    assert services.may_make(user) is False
