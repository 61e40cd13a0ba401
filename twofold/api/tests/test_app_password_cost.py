"""/validate/check: an app-password-shaped password costs the same hashing for an unknown
user, a user with none, one or three app passwords, a wrong one and the right one
(docs/security.md 21). Counted (every Argon2 hash made or verified), never timed."""

from __future__ import annotations

import pytest

from twofold.core.hashers import Argon2idHasher
from twofold.methods.app_passwords import services as app_passwords

pytestmark = pytest.mark.django_db(transaction=True)

WRONG = "abcd efgh jkmn pqrs"


@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """Every Argon2 computation from now on, in the live server's thread too."""
    seen: list[str] = []
    verify, encode = Argon2idHasher.verify, Argon2idHasher.encode

    def counted_verify(self, password: str, encoded: str) -> bool:
        seen.append("verify")
        return verify(self, password, encoded)

    def counted_encode(self, password: str, salt: str) -> str:
        seen.append("encode")
        return encode(self, password, salt)

    app_passwords.check_nobody(WRONG)  # the dummy hash, made once per process
    monkeypatch.setattr(Argon2idHasher, "verify", counted_verify)
    monkeypatch.setattr(Argon2idHasher, "encode", counted_encode)
    return seen


@pytest.fixture
def allowing(organisation):
    organisation.allow_app_passwords = True
    organisation.save()
    return organisation


def cost(validator, hashes, user: str, password: str) -> tuple[str, int]:
    hashes.clear()
    answer = validator.post("/validate/check", {"user": user, "password": password}).json()
    return answer["result"], len(hashes)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_wrong_app_password_costs_what_an_unknown_user_costs(
    validator, allowing, make_user, hashes, count
) -> None:
    user = make_user("carol@contoso.example")
    for index in range(count):
        app_passwords.create(user, f"App {index}")
    unknown = cost(validator, hashes, "nobody@contoso.example", WRONG)
    assert cost(validator, hashes, user.username, WRONG) == unknown == ("reject", 2)


def test_the_right_app_password_costs_the_same_as_a_wrong_one(
    validator, allowing, make_user, hashes
) -> None:
    user = make_user("carol@contoso.example")
    passwords = [app_passwords.create(user, f"App {index}")[1] for index in range(3)]
    assert cost(validator, hashes, user.username, passwords[0]) == ("accept", 2)
