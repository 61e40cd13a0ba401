"""Properties of app codes through the real sign-in path (docs/security.md 5 and 6).

Hypothesis draws the seed and a sequence of server-clock moves and code submissions;
every submission goes through start_challenge and verify_code, as a sign-in does. The
runs are derandomized and few, so the suite stays fast and CI stable.
"""

from itertools import pairwise

import pytest
from django.core.cache import cache
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twofold.core import crypto
from twofold.methods.authenticator import services
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.models import ChallengePurpose
from twofold.methods.verification import WrongCode, start_challenge, verify_code

from .conftest import START

pytestmark = pytest.mark.django_db

PROPERTIES = settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    # The clock and the user are reset by hand for every example (see _fresh_example).
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
SEEDS = st.binary(min_size=20, max_size=64)
# A clock move (seconds, backwards as well: servers' clocks get corrected) or a submission
# of the code the app shows ``offset`` steps away from the server's time.
MOVE = st.tuples(st.just("move"), st.integers(min_value=-45, max_value=120))
SUBMIT = st.tuples(st.just("submit"), st.integers(min_value=-3, max_value=3))
ACTIONS = st.lists(st.one_of(MOVE, SUBMIT), min_size=1, max_size=12)


@pytest.fixture
def patient(user):
    """The organisation's lockout set to its ceiling: wrong codes here test replay, not lockout."""
    organisation = user.organisation
    organisation.lockout_threshold = 100
    organisation.save()
    return user


def _submit(user, code: str) -> bool:
    challenge = start_challenge(user, "app_code", ChallengePurpose.SIGNIN)
    try:
        verify_code(user, challenge.pk, code)
    except WrongCode:
        return False
    return True


def _run(user, clock, secret: bytes, actions) -> list[tuple[int, int]]:
    """Play ``actions``; return (accepted step, server step at the time) per success."""
    clock.now = START
    services.add_device(user, "Phone", secret, clock.code(secret))
    accepted = []
    for action, amount in actions:
        if action == "move":
            clock.now += amount
            continue
        server_step = crypto.totp_step(clock.now)
        if _submit(user, crypto.hotp(secret, server_step + amount)):
            step = AuthenticatorDevice.objects.get(user=user).last_used_step
            accepted.append((step, server_step))
    return accepted


def _fresh_example(user, clock, secret: bytes, actions) -> list[tuple[int, int]]:
    """One example in a savepoint rolled back afterwards, with empty counters."""
    cache.clear()
    with transaction.atomic():
        accepted = _run(user, clock, secret, actions)
        transaction.set_rollback(True)
    return accepted


@PROPERTIES
@given(secret=SEEDS, actions=ACTIONS)
def test_every_accepted_step_is_within_one_of_the_server_time(patient, clock, secret, actions):
    for step, server_step in _fresh_example(patient, clock, secret, actions):
        assert abs(step - server_step) <= 1


@PROPERTIES
@given(secret=SEEDS, actions=ACTIONS)
def test_no_step_is_accepted_twice(patient, clock, secret, actions) -> None:
    steps = [step for step, _server in _fresh_example(patient, clock, secret, actions)]
    assert len(steps) == len(set(steps))


@PROPERTIES
@given(secret=SEEDS, actions=ACTIONS)
def test_no_step_at_or_before_the_last_accepted_one_is_accepted(patient, clock, secret, actions):
    enrolled_step = crypto.totp_step(START)
    steps = [step for step, _server in _fresh_example(patient, clock, secret, actions)]
    assert all(later > earlier for earlier, later in pairwise([enrolled_step, *steps]))


def _expected(actions) -> list[int]:
    """What RFC 6238 with replay protection accepts: the steps, in order of success."""
    now, last, accepted = START, crypto.totp_step(START), []
    for action, amount in actions:
        if action == "move":
            now += amount
        elif abs(amount) <= 1 and crypto.totp_step(now) + amount > last:
            last = crypto.totp_step(now) + amount
            accepted.append(last)
    return accepted


@PROPERTIES
@given(secret=SEEDS, actions=ACTIONS)
def test_exactly_the_fresh_codes_within_the_window_are_accepted(patient, clock, secret, actions):
    steps = [step for step, _server in _fresh_example(patient, clock, secret, actions)]
    assert steps == _expected(actions)
