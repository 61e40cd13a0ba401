"""Ten submissions of one valid code at the same moment: exactly one succeeds (docs/security.md 7);
ten push starts at the same moment: exactly one push (docs/security.md 11)."""

import pytest
from django.db import transaction

from conftest import Rendezvous, at_once, side_by_side
from twofold.core.errors import InvalidInput, TwofoldError
from twofold.methods import base
from twofold.methods.authenticator import activation, push
from twofold.methods.authenticator.method import AuthenticatorMethod
from twofold.methods.authenticator.tests.phone_app import PhoneApp
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.methods.verification import start_challenge, verify_code

SUBMISSIONS = 10


@pytest.mark.django_db(transaction=True)
def test_one_code_submitted_ten_times_at_once_for_one_challenge_succeeds_once(
    enrolled, clock
) -> None:
    user = enrolled.user
    clock.advance()
    code = clock.code(enrolled.secret)
    challenge = start_challenge(user, "app_code", ChallengePurpose.SIGNIN)

    def submit() -> bool:
        try:
            verify_code(user, challenge.pk, code)
        except InvalidInput:
            return False
        return True

    assert sorted(at_once(submit)) == [False] * (SUBMISSIONS - 1) + [True]


@pytest.mark.django_db(transaction=True)
def test_one_code_checked_ten_times_at_once_matches_once_whatever_the_challenge(
    enrolled, clock
) -> None:
    # Two challenges (two browsers, or a browser and the API) must not both take one code:
    # the device's row lock and its last used step decide.
    clock.advance()
    code = clock.code(enrolled.secret)
    challenge = start_challenge(enrolled.user, "app_code", ChallengePurpose.SIGNIN)
    method = base.get("authenticator")

    def check() -> bool:
        with transaction.atomic():
            return method.check(challenge, code)

    assert sorted(at_once(check)) == [False] * (SUBMISSIONS - 1) + [True]


@pytest.mark.django_db(transaction=True)
def test_ten_push_starts_at_once_leave_exactly_one_pending_push(client, user) -> None:
    # docs/security.md 11: one pending push per user, however many sign-ins start one at once.
    _issued, activation_code = activation.issue(user)
    assert PhoneApp().activate(client, activation_code).status_code == 200

    def start() -> bool:
        try:
            start_challenge(user, push.APP_NOTIFICATION, ChallengePurpose.SIGNIN)
        except TwofoldError:
            return False
        return True

    assert sorted(at_once(start)) == [False] * (SUBMISSIONS - 1) + [True]
    pushes = Challenge.objects.filter(user=user, option=push.APP_NOTIFICATION)
    assert pushes.filter(state=ChallengeState.PENDING).count() == pushes.count() == 1


def _outcome(call, *args) -> str:
    """What a person would see: "ok", or the code of the typed refusal."""
    try:
        call(*args)
    except TwofoldError as refused:
        return refused.code
    return "ok"


@pytest.mark.django_db(transaction=True)
def test_a_lockout_reached_as_a_push_starts_deadlocks_neither(client, user, monkeypatch) -> None:
    # Before the one lock order, the check held the challenge and its lockout waited for
    # the user's row, which the push start held while it waited to expire that challenge.
    _issued, activation_code = activation.issue(user)
    assert PhoneApp().activate(client, activation_code).status_code == 200
    user.organisation.lockout_threshold = 1
    user.organisation.save()
    challenge = start_challenge(user, "app_code", ChallengePurpose.SIGNIN)
    meeting = Rendezvous()
    meeting.before(monkeypatch, AuthenticatorMethod, "check")  # the check: locks taken
    meeting.after(monkeypatch, push, "refuse_start")  # the push start: the user's row held

    check, start = side_by_side(
        lambda: _outcome(verify_code, user, challenge.pk, "000000"),
        lambda: _outcome(start_challenge, user, push.APP_NOTIFICATION, ChallengePurpose.SIGNIN),
    )
    assert (check, start) in {("locked", "ok"), ("finished", "ok")}
