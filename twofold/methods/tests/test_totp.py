"""The TOTP check shared by the authenticator app and hardware tokens (methods/totp.py):
the window of accepted steps, the refusal of a spent step, and clocks that drift."""

from __future__ import annotations

import pytest
from django.db import transaction

from twofold.core import crypto
from twofold.methods import totp
from twofold.methods.authenticator import services as authenticator
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.oath.models import HardwareToken

SECRET = bytes(range(20))
# 15 seconds into a 30-second step (and into a 60-second one).
NOW = 1_700_000_055.0


def seed(*, period: int = 30, last_used_step: int = -1) -> HardwareToken:
    """An unsaved row holding SECRET: matching_step reads only the TotpSeed fields."""
    return HardwareToken(
        secret=crypto.encrypt(SECRET), period=period, last_used_step=last_used_step
    )


def code_at(steps: int, *, period: int = 30) -> str:
    """The code a device whose clock is ``steps`` steps off the server's shows now."""
    return crypto.totp(SECRET, NOW + steps * period, period=period)


def step_now(period: int = 30) -> int:
    return crypto.totp_step(NOW, period)


class TestWindow:
    def test_the_current_steps_code_matches_that_step(self) -> None:
        assert totp.matching_step(seed(), code_at(0), NOW) == step_now()

    @pytest.mark.parametrize("steps", [-1, 1])
    def test_a_clock_one_step_off_is_still_accepted(self, steps: int) -> None:
        assert totp.matching_step(seed(), code_at(steps), NOW) == step_now() + steps

    @pytest.mark.parametrize("steps", [-2, 2])
    def test_a_clock_two_steps_off_is_refused(self, steps: int) -> None:
        assert totp.matching_step(seed(), code_at(steps), NOW) is None

    def test_the_edges_of_the_window_are_whole_steps_of_the_seeds_period(self) -> None:
        slow = seed(period=60)
        assert totp.matching_step(slow, code_at(-1, period=60), NOW) == step_now(60) - 1
        assert totp.matching_step(slow, code_at(-2, period=60), NOW) is None
        # A 30-second code is not a 60-second one.
        assert totp.matching_step(slow, code_at(0), NOW) is None

    @pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "123456\n"])
    def test_anything_but_six_ascii_digits_matches_nothing(self, code: str) -> None:
        assert totp.matching_step(seed(), code, NOW) is None


class TestReplay:
    def test_the_last_spent_step_is_refused(self) -> None:
        spent = seed(last_used_step=step_now())
        assert totp.matching_step(spent, code_at(0), NOW) is None

    def test_a_step_older_than_the_last_spent_one_is_refused(self) -> None:
        spent = seed(last_used_step=step_now())
        assert totp.matching_step(spent, code_at(-1), NOW) is None

    def test_a_later_step_than_the_last_spent_one_is_accepted(self) -> None:
        spent = seed(last_used_step=step_now())
        assert totp.matching_step(spent, code_at(1), NOW) == step_now() + 1

    def test_a_seed_no_key_opens_is_an_outage_not_a_wrong_code(self) -> None:
        unreadable = seed()
        unreadable.secret = "not a ciphertext"
        with pytest.raises(crypto.StoredSecretUnreadable):
            totp.matching_step(unreadable, code_at(0), NOW)


class TestNewSeed:
    def test_a_code_of_the_new_seed_gives_its_step(self, monkeypatch) -> None:
        monkeypatch.setattr(totp, "clock", lambda: NOW)
        assert totp.step_of_new_seed(SECRET, code_at(1)) == step_now() + 1

    def test_a_code_of_another_seed_gives_nothing(self, monkeypatch) -> None:
        monkeypatch.setattr(totp, "clock", lambda: NOW)
        other = crypto.totp(bytes(20), NOW)
        assert totp.step_of_new_seed(SECRET, other) is None


@pytest.fixture
def devices(user, monkeypatch) -> list[AuthenticatorDevice]:
    """Two apps set up through the service, each proved with the previous step's code."""
    monkeypatch.setattr(totp, "clock", lambda: NOW)
    made = []
    for name, secret in (("First", bytes(20)), ("Second", SECRET)):
        made.append(authenticator.add_device(user, name, secret, code_at_for(secret, -1)))
    return made


def code_at_for(secret: bytes, steps: int) -> str:
    return crypto.totp(secret, NOW + steps * 30)


def spend(user, code: str) -> AuthenticatorDevice | None:
    with transaction.atomic():
        rows = AuthenticatorDevice.objects.select_for_update().filter(user=user).order_by("pk")
        return totp.spend(rows, code)


@pytest.mark.django_db
class TestSpend:
    def test_the_seed_the_code_comes_from_is_found_and_its_step_remembered(
        self, user, devices
    ) -> None:
        found = spend(user, code_at(0))
        assert getattr(found, "pk", None) == devices[1].pk
        stored = AuthenticatorDevice.objects.get(pk=devices[1].pk)
        assert (stored.last_used_step, stored.last_used_at is not None) == (step_now(), True)

    def test_the_same_code_is_refused_the_second_time(self, user, devices) -> None:
        assert spend(user, code_at(0)) is not None
        assert spend(user, code_at(0)) is None

    def test_after_a_later_step_an_earlier_code_still_in_the_window_is_refused(
        self, user, devices
    ) -> None:
        assert spend(user, code_at(1)) is not None
        assert spend(user, code_at(0)) is None

    def test_the_step_the_seed_was_proved_with_is_spent_already(self, user, devices) -> None:
        assert spend(user, code_at(-1)) is None
        assert AuthenticatorDevice.objects.get(pk=devices[1].pk).last_used_step == step_now() - 1

    def test_a_refused_code_changes_no_seed(self, user, devices) -> None:
        before = list(AuthenticatorDevice.objects.values_list("last_used_step", "last_used_at"))
        assert spend(user, code_at(2)) is None
        after = list(AuthenticatorDevice.objects.values_list("last_used_step", "last_used_at"))
        assert after == before

    def test_the_check_reads_the_one_clock(self, user, devices, monkeypatch) -> None:
        monkeypatch.setattr(totp, "clock", lambda: NOW + 90)
        assert spend(user, code_at(3)) is not None
