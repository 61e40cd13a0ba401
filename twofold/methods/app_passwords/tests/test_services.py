"""App passwords: random, shown once, hashed, revoked at once, API only (docs/security.md 15)."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.db import connection
from django.utils import timezone

from twofold.audit.models import AuditEvent, AuditResult
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods import base
from twofold.methods.app_passwords import actions as app_password_actions
from twofold.methods.app_passwords import services
from twofold.methods.app_passwords.models import AppPassword

pytestmark = pytest.mark.django_db


def raw_password_column(app_password_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT password FROM app_passwords_apppassword WHERE id = %s", [app_password_id]
        )
        return cursor.fetchone()[0]


def test_a_new_app_password_is_16_random_lowercase_letters(allowed, user) -> None:
    _first, password = services.create(user, "Mail")
    _second, other = services.create(user, "Calendar")
    assert re.fullmatch(r"[a-z]{16}", password)
    assert password != other


def test_an_app_password_is_stored_only_as_an_argon2id_hash(allowed, user) -> None:
    app_password, password = services.create(user, "Mail")
    stored = raw_password_column(app_password.pk)
    assert password not in stored
    assert identify_hasher(stored).algorithm == "argon2"
    assert stored.startswith("argon2$argon2id$")


def test_creating_one_is_audited_without_the_password(allowed, user) -> None:
    app_password, password = services.create(user, "Mail")
    event = AuditEvent.objects.get(action=app_password_actions.CREATED)
    assert event.subject_id == user.pk
    assert event.details == {"id": app_password.pk}
    assert password not in str(event.details)


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_an_app_password_needs_a_name_of_at_most_60_characters(allowed, user, name) -> None:
    with pytest.raises(InvalidInput):
        services.create(user, name)
    assert not AppPassword.objects.exists()


def test_none_is_created_where_the_organisation_does_not_allow_them(user) -> None:
    with pytest.raises(NotAllowed):
        services.create(user, "Mail")
    assert not AppPassword.objects.exists()


@pytest.mark.parametrize(
    "shown",
    [lambda p: p, services.grouped, lambda p: services.grouped(p).upper()],
    ids=["without spaces", "as shown", "in capitals"],
)
def test_the_check_accepts_it_as_shown_or_without_spaces(allowed, user, shown) -> None:
    _app_password, password = services.create(user, "Mail")
    assert services.check(user, shown(password))


def test_the_check_refuses_a_wrong_password(allowed, user) -> None:
    _app_password, password = services.create(user, "Mail")
    assert not services.check(user, password[::-1])
    event = AuditEvent.objects.get(action=app_password_actions.USED)
    assert event.result == AuditResult.FAILURE


def test_the_check_refuses_the_users_own_password(allowed, user) -> None:
    from conftest import STRONG_PASSWORD

    services.create(user, "Mail")
    assert not services.check(user, STRONG_PASSWORD)


def test_a_users_app_password_does_not_work_for_another_user(allowed, user, make_user) -> None:
    _app_password, password = services.create(user, "Mail")
    assert not services.check(make_user("bob@contoso.example"), password)


def test_a_successful_check_records_the_last_use(allowed, user) -> None:
    app_password, password = services.create(user, "Mail")
    before = timezone.now()
    services.check(user, password)
    app_password.refresh_from_db()
    assert app_password.last_used_at >= before
    event = AuditEvent.objects.get(action=app_password_actions.USED)
    assert (event.result, event.details) == (AuditResult.SUCCESS, {"id": app_password.pk})


def test_the_check_refuses_them_once_the_organisation_stops_allowing_them(allowed, user) -> None:
    _app_password, password = services.create(user, "Mail")
    allowed.allow_app_passwords = False
    allowed.save()
    user.refresh_from_db()
    assert not services.check(user, password)


def test_the_check_refuses_them_while_the_second_factor_is_locked(allowed, user) -> None:
    _app_password, password = services.create(user, "Mail")
    user.mfa_locked_until = timezone.now() + timedelta(minutes=5)
    user.save()
    assert not services.check(user, password)


def test_the_check_refuses_a_blocked_user(allowed, user) -> None:
    _app_password, password = services.create(user, "Mail")
    user.is_blocked = True
    user.save()
    assert not services.check(user, password)


def test_a_deleted_app_password_is_refused_at_once(allowed, user) -> None:
    app_password, password = services.create(user, "Mail")
    services.delete(user, app_password.pk)
    assert not services.check(user, password)
    assert AuditEvent.objects.filter(action=app_password_actions.DELETED).count() == 1


def test_deleting_one_leaves_the_others_working(allowed, user) -> None:
    first, _ = services.create(user, "Mail")
    _second, password = services.create(user, "Calendar")
    services.delete(user, first.pk)
    assert services.check(user, password)


def test_another_users_app_password_cannot_be_deleted(allowed, user, make_user) -> None:
    app_password, _password = services.create(user, "Mail")
    with pytest.raises(NotFound):
        services.delete(make_user("bob@contoso.example"), app_password.pk)
    assert AppPassword.objects.filter(pk=app_password.pk).exists()


def test_deleting_all_revokes_every_one_and_says_how_many(allowed, user, make_user) -> None:
    admin = make_user("admin@contoso.example", is_admin=True)
    passwords = [services.create(user, name)[1] for name in ("Mail", "Calendar", "VPN")]
    _bobs, _bobs_password = services.create(make_user("bob@contoso.example"), "Mail")
    assert services.delete_all(user, actor=admin) == 3
    assert not any(services.check(user, password) for password in passwords)
    assert AppPassword.objects.count() == 1
    event = AuditEvent.objects.get(action=app_password_actions.DELETED)
    assert (event.actor_id, event.subject_id, event.details["count"]) == (admin.pk, user.pk, 3)


def test_app_passwords_are_never_a_sign_in_option(allowed, user) -> None:
    services.create(user, "Mail")
    assert base.get("app_passwords").second_factor is False
    assert [o for o in base.options_for(user) if o.method == "app_passwords"] == []
