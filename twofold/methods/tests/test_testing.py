"""The suite's own helper for proving a TOTP secret survives a step boundary in the gap."""

from functools import partial

import pytest

from twofold.methods import totp
from twofold.methods.authenticator import services as authenticator
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.testing import prove_with_previous_step

pytestmark = pytest.mark.django_db

BOUNDARY = 1_800_000_000  # a multiple of 30: a step starts here


def test_a_step_boundary_between_reading_the_clock_and_the_check_is_proved_again(
    user, monkeypatch
) -> None:
    # The helper reads the clock a moment before the boundary; the service reads it after.
    readings = iter([BOUNDARY - 0.5] + [BOUNDARY + 0.5] * 10)
    monkeypatch.setattr(totp, "clock", lambda: next(readings))
    secret = authenticator.new_secret()

    step = prove_with_previous_step(
        secret, partial(authenticator.add_device, user, "Phone", secret)
    )

    assert step == BOUNDARY // 30 - 1  # the previous step after the boundary
    assert AuthenticatorDevice.objects.filter(user=user).count() == 1


def test_a_refusal_within_one_step_is_raised_as_it_is(user, monkeypatch) -> None:
    monkeypatch.setattr(totp, "clock", lambda: BOUNDARY + 10)
    secret = authenticator.new_secret()

    with pytest.raises(authenticator.EnrolmentCodeRefused):
        prove_with_previous_step(
            secret, lambda _code: authenticator.add_device(user, "Phone", secret, "000000")
        )
