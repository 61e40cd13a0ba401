"""A check verifies exactly one hash, whoever asks and however many app passwords the user
has (docs/security.md 15, 21): counted, not timed."""

from __future__ import annotations

import pytest

from twofold.administration import services as admin_services
from twofold.core.hashers import Argon2idHasher
from twofold.methods.app_passwords import services
from twofold.methods.app_passwords.models import AppPassword

pytestmark = pytest.mark.django_db

WRONG = "abcdefghjkmnpqrs"  # shaped like an app password, and no one's


@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    """Every hash the password hasher verifies from now on."""
    seen: list[str] = []
    verify = Argon2idHasher.verify

    def counted(self, password: str, encoded: str) -> bool:
        seen.append(encoded)
        return verify(self, password, encoded)

    monkeypatch.setattr(Argon2idHasher, "verify", counted)
    return seen


def made(user, count: int) -> list[str]:
    return [services.create(user, f"App {index}")[1] for index in range(count)]


@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_wrong_app_password_costs_one_verification(allowed, user, verifications, count):
    made(user, count)
    assert not services.check(user, WRONG)
    assert len(verifications) == 1


@pytest.mark.parametrize(("count", "which"), [(1, 0), (3, 0), (3, 2)])
def test_a_right_app_password_costs_one_verification(allowed, user, verifications, count, which):
    passwords = made(user, count)
    assert services.check(user, passwords[which])
    assert len(verifications) == 1


def test_a_user_name_of_nobody_costs_one_verification(verifications) -> None:
    services.check_nobody(services.grouped(WRONG))
    assert len(verifications) == 1


def test_a_refused_user_costs_one_verification(allowed, user, verifications) -> None:
    (password,) = made(user, 1)
    user.is_blocked = True
    user.save()
    assert not services.check(user, password)
    assert len(verifications) == 1


def test_what_cannot_be_an_app_password_is_not_hashed(allowed, user, verifications) -> None:
    made(user, 3)
    assert not services.check(user, "a password, not an app one!")
    services.check_nobody("a password, not an app one!")
    assert verifications == []


def test_the_lookup_digest_is_not_the_password(allowed, user) -> None:
    app_password, password = services.create(user, "Mail")
    app_password.refresh_from_db()
    assert len(app_password.lookup) == 64
    assert password not in app_password.lookup


def old(user, count: int) -> list[str]:
    """App passwords as they were before the lookup digest: a hash and no digest."""
    passwords = made(user, count)
    AppPassword.objects.filter(user=user).update(lookup="")
    return passwords


def test_an_app_password_from_before_the_digest_still_works(allowed, user) -> None:
    passwords = old(user, 2)
    assert all(services.check(user, password) for password in passwords)


def test_an_old_app_password_gets_its_digest_at_first_use_and_then_costs_one(
    allowed, user, verifications
) -> None:
    _first, second = old(user, 2)
    assert services.check(user, second)
    verifications.clear()
    assert services.check(user, second)
    assert len(verifications) == 1
    assert AppPassword.objects.filter(user=user, lookup="").count() == 1


def test_old_app_passwords_cost_at_most_one_verification_each(allowed, user, verifications):
    old(user, 3)
    assert not services.check(user, WRONG)
    assert len(verifications) == 3


def test_a_revoked_app_password_is_refused_at_once_for_one_verification(
    allowed, user, verifications
) -> None:
    app_password, password = services.create(user, "Mail")
    services.delete(user, app_password.pk)
    assert not services.check(user, password)
    assert len(verifications) == 1


def test_the_administrators_delete_app_passwords_revokes_them(
    allowed, user, make_user, verifications
) -> None:
    passwords = made(user, 3)
    admin = make_user("admin@contoso.example", is_admin=True)
    users = type(user).objects.filter(pk=user.pk)
    assert admin_services.delete_app_passwords(users, actor=admin) == 1
    assert not any(services.check(user, password) for password in passwords)
    assert len(verifications) == 3
