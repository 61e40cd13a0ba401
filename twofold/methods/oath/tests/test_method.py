"""Hardware tokens as a method: activation, codes at sign-in through the one verification
path, and re-registration (docs/security.md 3, 5–7, 16)."""

import pytest
from django.contrib.auth import get_user_model

from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.core.errors import NotFound
from twofold.methods import base, resets
from twofold.methods.authenticator import kinds as app_kinds
from twofold.methods.models import ChallengePurpose, ChallengeState
from twofold.methods.oath import actions as token_actions
from twofold.methods.oath import services
from twofold.methods.oath.models import HardwareToken
from twofold.methods.phone import kinds as phone_kinds
from twofold.methods.verification import WrongCode, start_challenge, verify_code

pytestmark = pytest.mark.django_db


def sign_in_with(user, code: str):
    challenge = start_challenge(user, "hardware_token", ChallengePurpose.SIGNIN)
    return verify_code(user, challenge.pk, code)


def another(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- Activation ----------------------------------------------------------------------------


def test_an_assigned_token_does_not_count_until_its_user_activates_it(assigned) -> None:
    user = assigned.token.user
    assert base.find_option(user, "hardware_token") is None
    assert user.pk not in set(base.get("hardware_token").registered_user_ids())
    assert base.kinds_for([user.pk]) == {user.pk: []}


def test_the_right_code_activates_the_token(assigned, clock) -> None:
    token = services.activate(assigned.token.user, assigned.token.pk, clock.code(assigned.secret))
    assert token.activated_at is not None
    assert base.find_option(token.user, "hardware_token") is not None


def test_activation_is_audited_with_the_masked_serial(activated) -> None:
    event = AuditEvent.objects.get(action=token_actions.ACTIVATED)
    assert (event.result, event.subject, event.actor) == (
        AuditResult.SUCCESS,
        activated.token.user,
        activated.token.user,
    )
    assert event.details == {"serial": "…0001"}


def test_a_wrong_code_does_not_activate_the_token(assigned, clock) -> None:
    with pytest.raises(services.ActivationCodeRefused):
        services.activate(
            assigned.token.user, assigned.token.pk, another(clock.code(assigned.secret))
        )
    assigned.token.refresh_from_db()
    assert assigned.token.activated_at is None
    failure = AuditEvent.objects.get(action=token_actions.ACTIVATED)
    assert (failure.result, failure.details) == (AuditResult.FAILURE, {"reason": "wrong code"})


def test_a_code_two_steps_old_does_not_activate_the_token(assigned, clock) -> None:
    with pytest.raises(services.ActivationCodeRefused):
        services.activate(assigned.token.user, assigned.token.pk, clock.code(assigned.secret, -2))


def test_wrong_activation_codes_count_towards_the_lockout(assigned, clock) -> None:
    from twofold.methods.verification import SecondFactorLocked

    user, token = assigned.token.user, assigned.token
    for _ in range(9):
        with pytest.raises(services.ActivationCodeRefused):
            services.activate(user, token.pk, another(clock.code(assigned.secret)))
    with pytest.raises(SecondFactorLocked):
        services.activate(user, token.pk, another(clock.code(assigned.secret)))
    user.refresh_from_db()
    with pytest.raises(SecondFactorLocked):
        services.activate(user, token.pk, clock.code(assigned.secret))
    token.refresh_from_db()
    assert token.activated_at is None


def test_nobody_may_activate_a_token_assigned_to_someone_else(assigned, clock, make_user) -> None:
    bob = make_user("bob@contoso.example")
    with pytest.raises(NotFound):
        services.activate(bob, assigned.token.pk, clock.code(assigned.secret))


def test_an_activated_token_cannot_be_activated_again(activated, clock) -> None:
    clock.advance()
    with pytest.raises(NotFound):
        services.activate(activated.token.user, activated.token.pk, clock.code(activated.secret))


# --- The option ----------------------------------------------------------------------------


def test_an_activated_token_offers_a_silent_code_option_under_the_app_code_policy(
    activated,
) -> None:
    option = base.find_option(activated.token.user, "hardware_token")
    assert (option.method, option.policy_kind, option.interaction, option.silent) == (
        "hardware_token",
        app_kinds.APP_CODE,
        base.Interaction.CODE,
        True,
    )
    assert option.label == "Use a code from my hardware token"


def test_the_prompt_shows_only_the_last_four_characters_of_the_serial(
    user, give_token, activate
) -> None:
    activate(give_token(user, serial="GALT98765432"))
    prompt = base.find_option(user, "hardware_token").prompt
    assert "…5432" in prompt
    assert "9876" not in prompt


def test_the_option_is_withdrawn_when_the_organisation_disallows_app_codes(activated) -> None:
    organisation = activated.token.user.organisation
    organisation.allowed_methods = [phone_kinds.TEXT, phone_kinds.CALL]
    organisation.save()
    assert base.find_option(activated.token.user, "hardware_token") is None


def test_the_catalogue_lists_the_hardware_token_option(user) -> None:
    assert ("hardware_token", "Use a code from my hardware token") in base.catalogue_for(user)


def test_only_users_with_an_activated_token_are_listed_as_having_a_hardware_token(
    activated, make_user, give_token
) -> None:
    waiting = make_user("bob@contoso.example")
    give_token(waiting)
    holder = activated.token.user
    assert base.kinds_for([holder.pk, waiting.pk]) == {
        holder.pk: ["Hardware token"],
        waiting.pk: [],
    }


def test_only_users_with_an_activated_token_count_as_registered(
    activated, make_user, give_token
) -> None:
    give_token(make_user("bob@contoso.example"))
    ids = base.get("hardware_token").registered_user_ids()
    assert [row["user_id"] for row in ids] == [activated.token.user.pk]


# --- Codes at sign-in ----------------------------------------------------------------------


def test_a_code_from_the_token_approves_a_sign_in(activated, clock) -> None:
    clock.advance()
    challenge = sign_in_with(activated.token.user, clock.code(activated.secret))
    assert challenge.state == ChallengeState.APPROVED


def test_a_sign_in_records_when_the_token_was_last_used(activated, clock) -> None:
    clock.advance()
    sign_in_with(activated.token.user, clock.code(activated.secret))
    activated.token.refresh_from_db()
    assert activated.token.last_used_at is not None


def test_the_code_that_activated_the_token_cannot_sign_in(activated, clock) -> None:
    with pytest.raises(WrongCode):
        sign_in_with(activated.token.user, clock.code(activated.secret))


def test_a_used_code_is_refused(activated, clock) -> None:
    clock.advance()
    code = clock.code(activated.secret)
    sign_in_with(activated.token.user, code)
    with pytest.raises(WrongCode):
        sign_in_with(activated.token.user, code)


def test_an_older_code_is_refused_once_a_newer_one_succeeded(activated, clock) -> None:
    clock.advance(3)
    sign_in_with(activated.token.user, clock.code(activated.secret, +1))
    with pytest.raises(WrongCode):
        sign_in_with(activated.token.user, clock.code(activated.secret))


@pytest.mark.parametrize("steps", [-1, +1])
def test_a_code_one_step_either_side_is_accepted(activated, clock, steps: int) -> None:
    clock.advance(3)
    challenge = sign_in_with(activated.token.user, clock.code(activated.secret, steps))
    assert challenge.state == ChallengeState.APPROVED


@pytest.mark.parametrize("steps", [-2, +2])
def test_a_code_two_steps_away_is_refused(activated, clock, steps: int) -> None:
    clock.advance(3)
    with pytest.raises(WrongCode):
        sign_in_with(activated.token.user, clock.code(activated.secret, steps))


def test_a_code_read_off_the_token_and_typed_too_late_has_expired(activated, clock) -> None:
    clock.advance(3)
    shown = clock.code(activated.secret)
    clock.advance(2)  # a minute later the shown step is two behind the server's
    with pytest.raises(WrongCode):
        sign_in_with(activated.token.user, shown)


def test_wrong_codes_at_sign_in_lock_the_token_out_and_then_refuse_its_right_code(
    activated, clock
) -> None:
    from twofold.methods.verification import SecondFactorLocked

    user = activated.token.user
    organisation = user.organisation
    organisation.lockout_threshold = 3
    organisation.save()
    clock.advance(3)
    right = clock.code(activated.secret)
    challenge = start_challenge(user, "hardware_token", ChallengePurpose.SIGNIN)
    for _ in range(2):
        with pytest.raises(WrongCode):
            verify_code(user, challenge.pk, another(right))
    with pytest.raises(SecondFactorLocked):
        verify_code(user, challenge.pk, another(right))
    with pytest.raises(SecondFactorLocked):
        verify_code(user, challenge.pk, right)
    assert AuditEvent.objects.filter(action=AuditAction.MFA_LOCKED, subject=user).count() == 1


def test_a_60_second_token_counts_in_60_second_steps(user, give_token, activate, clock) -> None:
    held = activate(give_token(user, period=60))
    clock.advance(period=60)
    challenge = sign_in_with(user, clock.code(held.secret, period=60))
    assert challenge.state == ChallengeState.APPROVED


def test_a_code_from_another_users_token_is_refused(
    activated, make_user, give_token, activate, clock
) -> None:
    bob = make_user("bob@contoso.example")
    activate(give_token(bob))
    clock.advance()
    with pytest.raises(WrongCode):
        sign_in_with(bob, clock.code(activated.secret))


def test_an_unassigned_token_stops_working_at_once(activated, admin, clock) -> None:
    user = activated.token.user
    challenge = start_challenge(user, "hardware_token", ChallengePurpose.SIGNIN)
    services.unassign(activated.token, actor=admin)
    clock.advance()
    with pytest.raises(WrongCode):
        verify_code(user, challenge.pk, clock.code(activated.secret))


# --- Re-registration -------------------------------------------------------------------------


def test_reregistration_unassigns_the_tokens_and_keeps_them_in_stock(activated, admin) -> None:
    user = activated.token.user
    users = get_user_model().objects.filter(pk=user.pk)
    resets.require_reregistration(users, actor=admin)
    token = HardwareToken.objects.get(pk=activated.token.pk)
    assert (token.user, token.activated_at) == (None, None)
    assert base.options_for(get_user_model().objects.get(pk=user.pk)) == []


def test_a_reassigned_token_must_be_activated_again_and_old_codes_stay_spent(
    activated, admin, clock
) -> None:
    user = activated.token.user
    services.unassign(activated.token, actor=admin)
    services.assign(activated.token, user.username, actor=admin)
    assert base.find_option(user, "hardware_token") is None
    # The code that first activated it is spent for good: the token's last step stays.
    with pytest.raises(services.ActivationCodeRefused):
        services.activate(user, activated.token.pk, clock.code(activated.secret))
