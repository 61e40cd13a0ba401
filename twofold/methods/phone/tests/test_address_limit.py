"""The per-address second-factor limit: one address spraying codes at many users is stopped
(TWOFOLD_MFA_FAILURES_PER_ADDRESS within TWOFOLD_MFA_FAILURES_WINDOW_SECONDS)."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from twofold.config import load
from twofold.core import context
from twofold.core.errors import RateLimited
from twofold.methods import verification
from twofold.methods.models import ChallengePurpose, ChallengeState
from twofold.methods.phone import services as phone_services

from .conftest import AUTH_NUMBER

pytestmark = pytest.mark.django_db
SIGNIN = ChallengePurpose.SIGNIN
ATTACKER = "198.51.100.7"
ELSEWHERE = "203.0.113.20"


@contextmanager
def from_address(address: str) -> Iterator[None]:
    token = context.activate(context.RequestContext(client_address=address))
    try:
        yield
    finally:
        context.deactivate(token)


@pytest.fixture
def per_address_limit(settings) -> int:
    """A small limit, below the organisation's lockout so that no single user locks."""
    settings.TWOFOLD = {**settings.TWOFOLD, "mfa_failures_per_address": 4}
    return 4


def _texted(user, outbox):
    with from_address(ELSEWHERE):
        challenge = verification.start_challenge(user, "text:authentication", SIGNIN)
    return challenge, outbox.last_code()


def _fail_from(address: str, users, outbox) -> None:
    for user in users:
        challenge, code = _texted(user, outbox)
        wrong = "000000" if code != "000000" else "111111"
        with from_address(address), pytest.raises(verification.WrongCode):
            verification.verify_code(user, challenge.pk, wrong)


@pytest.fixture
def victims(make_user):
    users = []
    for index in range(4):
        user = make_user(f"user{index}@contoso.example")
        phone_services.set_number(user, "authentication", f"+1425555020{index}", mode="text")
        users.append(user)
    return users


@pytest.fixture
def alice(user):
    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


def test_the_limit_comes_from_the_configuration(tmp_path) -> None:
    config = load(
        {
            "TWOFOLD_DATA_DIR": str(tmp_path),
            "TWOFOLD_MFA_FAILURES_PER_ADDRESS": "7",
            "TWOFOLD_MFA_FAILURES_WINDOW_SECONDS": "60",
        }
    )
    assert (config.mfa_failures_per_address, config.mfa_failures_window_seconds) == (7, 60)


def test_the_default_is_fifty_failures_in_fifteen_minutes(tmp_path) -> None:
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path)})
    assert (config.mfa_failures_per_address, config.mfa_failures_window_seconds) == (50, 900)


def test_failures_from_one_address_refuse_another_users_right_code_from_it(
    per_address_limit, victims, alice, outbox
) -> None:
    _fail_from(ATTACKER, victims, outbox)
    challenge, code = _texted(alice, outbox)
    with from_address(ATTACKER), pytest.raises(RateLimited):
        verification.verify_code(alice, challenge.pk, code)
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.PENDING


def test_the_same_right_code_from_another_address_still_works(
    per_address_limit, victims, alice, outbox
) -> None:
    _fail_from(ATTACKER, victims, outbox)
    challenge, code = _texted(alice, outbox)
    with from_address(ELSEWHERE):
        approved = verification.verify_code(alice, challenge.pk, code)
    assert approved.state == ChallengeState.APPROVED


def test_one_failure_fewer_than_the_limit_refuses_nothing(
    per_address_limit, victims, alice, outbox
) -> None:
    _fail_from(ATTACKER, victims[:-1], outbox)
    challenge, code = _texted(alice, outbox)
    with from_address(ATTACKER):
        assert verification.verify_code(alice, challenge.pk, code).state == ChallengeState.APPROVED
