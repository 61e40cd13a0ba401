"""Properties of texted codes through the real sign-in path (docs/security.md 8).

Hypothesis draws sequences of texts sent, time passing and codes submitted (any code
sent so far, to any challenge sent so far). A code is accepted at most once, only for the
latest text (a newer one makes it useless) and only within its 5 minutes.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from twofold.core.errors import InvalidInput
from twofold.methods import verification
from twofold.methods.models import Challenge, ChallengePurpose

pytestmark = pytest.mark.django_db

PROPERTIES = settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    # The user's challenges and counters are reset by hand for every example.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
SEND = st.just(("send", 0, 0))
# Whole half-minutes: a code's age never lands a few milliseconds from its expiry.
WAIT = st.tuples(st.just("wait"), st.sampled_from([30, 150, 270, 330]), st.just(0))
# Which text's challenge and which text's code, counted back from the latest (0).
SUBMIT = st.tuples(st.just("submit"), st.integers(0, 3), st.integers(0, 3))
ACTIONS = st.lists(st.one_of(SEND, WAIT, SUBMIT), min_size=1, max_size=12)
LIFETIME = 5 * 60
# The three refusals named above, always tried on top of the drawn sequences.
REUSED = [("send", 0, 0), ("submit", 0, 0), ("submit", 0, 0)]
SUPERSEDED = [("send", 0, 0), ("send", 0, 0), ("submit", 1, 1), ("submit", 0, 0)]
EXPIRED = [("send", 0, 0), ("wait", 270, 0), ("wait", 30, 0), ("submit", 0, 0)]


@dataclass
class Sent:
    challenge: Challenge
    code: str
    age: int = 0  # seconds since it was sent
    accepted: bool = False


@pytest.fixture
def texting(with_phone, settings):
    """No cooldown or cap on texts, and a lockout that wrong codes here never reach."""
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "resend_cooldown_seconds": 0,
        "texts_per_user_per_hour": 1000,
        "texts_per_number_per_hour": 1000,
    }
    organisation = with_phone.organisation
    organisation.lockout_threshold = 100
    organisation.save()
    return with_phone


def _wait(user, sent: list[Sent], seconds: int) -> None:
    """Time passes for every text: each challenge was sent (and expires) earlier."""
    Challenge.objects.filter(user=user).update(
        created_at=F("created_at") - timedelta(seconds=seconds),
        expires_at=F("expires_at") - timedelta(seconds=seconds),
    )
    for text in sent:
        text.age += seconds


def _submit(user, text: Sent, code: str) -> bool:
    try:
        verification.verify_code(user, text.challenge.pk, code)
    except InvalidInput:  # wrong, expired or finished
        return False
    return True


def _play(user, outbox, actions) -> list[tuple[int, int, bool, bool]]:
    """Play ``actions``; per submission: (challenge, whether it should pass, whether it did)."""
    sent: list[Sent] = []
    results = []
    for action, first, second in actions:
        if action == "send":
            challenge = verification.start_challenge(
                user, "text:authentication", ChallengePurpose.SIGNIN
            )
            sent.append(Sent(challenge, outbox.last_code()))
        elif action == "wait":
            _wait(user, sent, first)
        elif sent:
            text, code = sent[-1 - first % len(sent)], sent[-1 - second % len(sent)].code
            expected = (
                text is sent[-1] and not text.accepted and text.age < LIFETIME and code == text.code
            )
            accepted = _submit(user, text, code)
            text.accepted = text.accepted or accepted
            results.append((text.challenge.pk, expected, accepted))
    return results


def _fresh_example(user, outbox, actions):
    cache.clear()
    with transaction.atomic():
        results = _play(user, outbox, actions)
        transaction.set_rollback(True)
    return results


@PROPERTIES
@given(actions=ACTIONS)
@example(actions=REUSED)
def test_a_texted_code_is_accepted_at_most_once(texting, outbox, actions) -> None:
    accepted = [
        challenge for challenge, _expected, ok in _fresh_example(texting, outbox, actions) if ok
    ]
    assert len(accepted) == len(set(accepted))


@PROPERTIES
@given(actions=ACTIONS)
@example(actions=SUPERSEDED)
@example(actions=EXPIRED)
def test_a_code_is_accepted_only_while_fresh_and_the_latest_sent(texting, outbox, actions) -> None:
    for _challenge, expected, accepted in _fresh_example(texting, outbox, actions):
        assert accepted == expected
