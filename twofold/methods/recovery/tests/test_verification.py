"""Recovery codes through the one verification path: single use, the same lockout and
address limit as any code, and the API's validate check (docs/security.md 9 and 28)."""

from __future__ import annotations

from functools import partial

import pytest

from conftest import STRONG_PASSWORD, side_by_side
from twofold.accounts.models import MfaState, User
from twofold.api import clients
from twofold.audit.models import AuditEvent
from twofold.core.errors import TwofoldError
from twofold.methods import base, verification
from twofold.methods.models import ChallengePurpose, ChallengeState
from twofold.methods.recovery import method, services
from twofold.methods.testing import prove_with_previous_step

OPTION = method.OPTION


@pytest.fixture
def made(with_phone) -> list[str]:
    return services.make_set(with_phone)


def _verify(user, typed: str, purpose: ChallengePurpose = ChallengePurpose.SIGNIN) -> str:
    """Open a challenge with the recovery option and answer it: "ok" or the refusal's code."""
    challenge = verification.start_challenge(user, OPTION, purpose)
    try:
        verification.verify(user, challenge.pk, typed)
    except TwofoldError as refused:
        return refused.code
    return "ok"


def test_the_option_is_a_silent_text_code(with_phone, made) -> None:
    option = base.find_option(with_phone, OPTION)
    assert option.interaction == base.Interaction.CODE
    assert option.silent is True
    assert option.code_inputmode == "text"
    assert option.code_max_length >= 19


def test_a_code_signs_in_once(with_phone, made) -> None:
    assert _verify(with_phone, made[0]) == "ok"
    assert _verify(with_phone, made[0]) == "wrong_code"
    assert _verify(with_phone, made[1].replace("-", "").upper()) == "ok"
    assert services.left(with_phone) == 8


def test_a_code_of_an_older_set_is_a_wrong_code(with_phone, made) -> None:
    services.make_set(with_phone)
    assert _verify(with_phone, made[0]) == "wrong_code"


def test_the_option_goes_once_no_code_is_left(with_phone) -> None:
    made = services.make_set(with_phone)
    for code in made:
        assert _verify(with_phone, code) == "ok"
    assert base.find_option(with_phone, OPTION) is None


def test_the_lockout_counts_wrong_and_malformed_recovery_codes(with_phone, made) -> None:
    organisation = with_phone.organisation
    organisation.lockout_threshold = 3
    organisation.save()
    # Opened before the lockout (another purpose: it stays open beside the others).
    waiting = verification.start_challenge(with_phone, OPTION, ChallengePurpose.STEP_UP)
    assert _verify(with_phone, "abcd-efgh-jkmn-pqrs") == "wrong_code"
    assert _verify(with_phone, "not a code") == "wrong_code"
    assert _verify(with_phone, "") == "locked"
    # While locked, a right code is refused like a wrong one, and stays unused.
    with pytest.raises(TwofoldError) as refused:
        verification.verify(with_phone, waiting.pk, made[0])
    assert refused.value.code == "locked"
    assert services.left(with_phone) == 10


def test_a_used_code_leaves_no_code_in_the_audit_trail(with_phone, made) -> None:
    _verify(with_phone, made[0])
    _verify(with_phone, made[0])
    for event in AuditEvent.objects.all():
        text = f"{event.details} {event.subject_label} {event.actor_label}".lower()
        assert made[0] not in text
        assert made[0].replace("-", "") not in text


@pytest.mark.django_db(transaction=True)
def test_one_code_used_twice_at_once_wins_once(with_phone, made) -> None:
    # Two sign-ins (a page and the API) with the same code at the same moment: the user's
    # row lock and the conditional update let exactly one through (docs/security.md 7, 28).
    page = verification.start_challenge(with_phone, OPTION, ChallengePurpose.SIGNIN)
    api = verification.start_challenge(with_phone, OPTION, ChallengePurpose.API)

    def use(challenge) -> str:
        try:
            verification.verify(with_phone, challenge.pk, made[0])
        except TwofoldError as refused:
            return refused.code
        return "ok"

    outcomes = side_by_side(lambda: use(page), lambda: use(api))
    assert sorted(outcomes) == ["ok", "wrong_code"]
    assert services.left(with_phone) == 9


# --- The API's validate check ---------------------------------------------------------


@pytest.fixture
def token(with_phone) -> str:
    from twofold.accounts.services import create_user

    adele = create_user(with_phone.organisation, "admin@contoso.example", "x" * 20, is_admin=True)
    _client, made_token = clients.create(with_phone.organisation, "VPN", ["validate"], actor=adele)
    User.objects.filter(pk=with_phone.pk).update(mfa_state=MfaState.ENABLED)
    return made_token


def _check(client, token: str, status: int = 200, **fields) -> dict:
    body = {"user": "alice@contoso.example", "password": STRONG_PASSWORD, **fields}
    answer = client.post(
        "/api/v1/validate/check",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert answer.status_code == status, answer.content
    return answer.json()


def test_the_api_accepts_a_recovery_code_once(client, token, made) -> None:
    first = _check(client, token, code=made[0], method=OPTION)
    assert (first["result"], first["reason"]) == ("accept", "second_factor")
    again = _check(client, token, code=made[0], method=OPTION)
    assert again["result"] == "reject"
    assert services.left(User.objects.get(username="alice@contoso.example")) == 9


def test_the_api_tells_a_recovery_code_from_an_app_code_by_its_shape(
    client, token, made, with_phone
) -> None:
    # A VPN or RADIUS client cannot name the method: the code's shape picks it, whatever
    # the person's preferred held-code option (here the authenticator app).
    from twofold.core import crypto
    from twofold.methods.authenticator import services as authenticator

    secret = authenticator.new_secret()
    step = (
        prove_with_previous_step(
            secret, partial(authenticator.add_device, with_phone, "Phone", secret)
        )
        + 1
    )
    User.objects.filter(pk=with_phone.pk).update(preferred_option="app_code")
    by_shape = _check(client, token, code=made[0].upper().replace("-", " "))
    assert (by_shape["result"], by_shape["reason"]) == ("accept", "second_factor")
    assert services.left(with_phone) == 9
    app_code = crypto.hotp(secret, step)  # the next step: the previous one proved the app
    assert _check(client, token, code=app_code)["result"] == "accept"


def test_wrong_recovery_codes_through_the_api_count_towards_the_lockout(
    client, token, made, with_phone
) -> None:
    organisation = with_phone.organisation
    organisation.lockout_threshold = 2
    organisation.save()
    first = _check(client, token, code="abcd-efgh-jkmn-pqrs", method=OPTION)
    assert (first["result"], first["reason"]) == ("reject", "wrong_code")
    second = _check(client, token, 429, code="abcd-efgh-jkmn-pqrt", method=OPTION)
    assert second["error"] == "locked"
    # Locked: the right code is refused too, and stays unused.
    _check(client, token, 429, code=made[0], method=OPTION)
    with_phone.refresh_from_db()
    assert verification.locked_until(with_phone) is not None
    assert services.left(with_phone) == 10
    assert ChallengeState.APPROVED not in {
        challenge.state for challenge in with_phone.challenges.all()
    }
