"""Codes from the app at sign-in, through the one verification path (docs/security.md 3, 5–7)."""

import pytest

from twofold.methods import base
from twofold.methods.authenticator import kinds as app_kinds
from twofold.methods.models import ChallengePurpose, ChallengeState
from twofold.methods.phone import kinds as phone_kinds
from twofold.methods.verification import WrongCode, start_challenge, verify_code

pytestmark = pytest.mark.django_db


def sign_in_with(user, code: str):
    challenge = start_challenge(user, "app_code", ChallengePurpose.SIGNIN)
    return verify_code(user, challenge.pk, code)


def test_a_user_with_an_app_is_offered_the_app_code_option(enrolled) -> None:
    option = base.find_option(enrolled.user, "app_code")
    assert option is not None
    assert option.method == "authenticator"
    assert option.policy_kind == app_kinds.APP_CODE
    assert option.interaction == base.Interaction.CODE


def test_a_user_without_an_app_is_not_offered_the_app_code_option(user) -> None:
    assert base.find_option(user, "app_code") is None


def test_the_option_is_withdrawn_when_the_organisation_disallows_app_codes(enrolled) -> None:
    organisation = enrolled.user.organisation
    organisation.allowed_methods = [phone_kinds.TEXT, phone_kinds.CALL]
    organisation.save()
    assert base.find_option(enrolled.user, "app_code") is None


def test_a_code_from_the_app_approves_a_sign_in(enrolled, clock) -> None:
    clock.advance()
    challenge = sign_in_with(enrolled.user, clock.code(enrolled.secret))
    assert challenge.state == ChallengeState.APPROVED


def test_a_wrong_code_is_refused(enrolled, clock) -> None:
    clock.advance()
    right = clock.code(enrolled.secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(WrongCode):
        sign_in_with(enrolled.user, wrong)


def test_the_code_that_proved_the_app_cannot_sign_in(enrolled, clock) -> None:
    with pytest.raises(WrongCode):
        sign_in_with(enrolled.user, clock.code(enrolled.secret))


def test_a_used_code_is_refused(enrolled, clock) -> None:
    clock.advance()
    code = clock.code(enrolled.secret)
    sign_in_with(enrolled.user, code)
    with pytest.raises(WrongCode):
        sign_in_with(enrolled.user, code)


def test_an_older_code_is_refused_once_a_newer_one_succeeded(enrolled, clock) -> None:
    clock.advance(5)
    sign_in_with(enrolled.user, clock.code(enrolled.secret, +1))
    with pytest.raises(WrongCode):
        sign_in_with(enrolled.user, clock.code(enrolled.secret))


@pytest.mark.parametrize("steps", [-1, 0, +1])
def test_the_current_step_and_one_either_side_are_accepted(enrolled, clock, steps) -> None:
    clock.advance(5)  # far from the step the enrolment used
    challenge = sign_in_with(enrolled.user, clock.code(enrolled.secret, steps))
    assert challenge.state == ChallengeState.APPROVED


@pytest.mark.parametrize("steps", [-2, +2])
def test_two_steps_away_is_refused(enrolled, clock, steps) -> None:
    clock.advance(5)
    with pytest.raises(WrongCode):
        sign_in_with(enrolled.user, clock.code(enrolled.secret, steps))


def test_a_code_typed_after_it_left_the_window_has_expired(enrolled, clock) -> None:
    clock.advance(5)
    shown = clock.code(enrolled.secret)
    clock.advance(2)  # a minute later: outside the current step and one either side
    with pytest.raises(WrongCode):
        sign_in_with(enrolled.user, shown)


def test_a_code_typed_one_step_late_is_still_accepted(enrolled, clock) -> None:
    clock.advance(5)
    shown = clock.code(enrolled.secret)
    clock.advance(1)
    assert sign_in_with(enrolled.user, shown).state == ChallengeState.APPROVED


def test_success_records_when_the_app_was_last_used(enrolled, clock) -> None:
    clock.advance()
    sign_in_with(enrolled.user, clock.code(enrolled.secret))
    enrolled.device.refresh_from_db()
    assert enrolled.device.last_used_at is not None
    assert enrolled.device.last_used_step == int(clock.now) // 30


def test_a_code_from_any_of_the_users_apps_is_accepted(user, enrol, clock) -> None:
    enrol(user, "Work phone")
    second = enrol(user, "Hardware token")
    clock.advance()
    challenge = sign_in_with(user, clock.code(second.secret))
    assert challenge.state == ChallengeState.APPROVED


def test_another_users_code_is_refused(user, make_user, enrol, clock) -> None:
    enrol(user)
    bob = enrol(make_user("bob@contoso.example"))
    clock.advance()
    with pytest.raises(WrongCode):
        sign_in_with(user, clock.code(bob.secret))
