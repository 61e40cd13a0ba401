"""The password rules (docs/security.md 25): at least 8 characters, long passphrases
welcome, no composition rules, common passwords refused; a refused one changes nothing."""

from __future__ import annotations

import pytest

from twofold.accounts.services import set_password
from twofold.core.errors import InvalidInput

pytestmark = pytest.mark.django_db


def refused(user, password: str) -> bool:
    """Whether ``set_password`` refuses ``password``; the stored hash must not move then."""
    before = type(user).objects.get(pk=user.pk).password
    try:
        set_password(user, password)
    except InvalidInput:
        assert type(user).objects.get(pk=user.pk).password == before
        return True
    return False


def test_seven_characters_are_refused(user) -> None:
    assert refused(user, "vX9#kq2")


def test_eight_characters_are_enough(user) -> None:
    assert not refused(user, "vX9#kq2m")


@pytest.mark.parametrize("length", [64, 65, 256])
def test_long_passphrases_are_accepted(user, length) -> None:
    passphrase = ("tall ships sail north at dawn " * 10)[:length]
    assert not refused(user, passphrase)


def test_an_absurd_length_is_refused(user) -> None:
    assert refused(user, "tall ships sail north " * 20)


def test_no_mix_of_kinds_is_required(user) -> None:
    assert not refused(user, "lanterns over the quiet harbour")


@pytest.mark.parametrize("common", ["password123", "qwertyuiop", "iloveyou1"])
def test_a_common_password_is_refused(user, common) -> None:
    assert refused(user, common)


def test_the_refusal_says_why(user) -> None:
    with pytest.raises(InvalidInput, match="too common"):
        set_password(user, "password123")
