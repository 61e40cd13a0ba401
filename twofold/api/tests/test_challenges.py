"""/validate/challenges: starting a challenge (the password is required) and reading its
state; a client sees only its own organisation's challenges."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import AUTH_NUMBER, STRONG_PASSWORD
from twofold.accounts.models import MfaState
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.methods import waits
from twofold.methods.models import Challenge, ChallengeState
from twofold.methods.phone import services as phone_services

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = "alice@contoso.example"


def start(http, **fields):
    return http.post("/validate/challenges", {"user": ALICE, "password": STRONG_PASSWORD, **fields})


@pytest.fixture
def called(make_user):
    """Two-step verification on; calls to an authentication phone are her preferred option."""
    user = make_user(ALICE, mfa_state=MfaState.ENABLED)
    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="call")
    return user


def test_starting_needs_the_password(validator, texted, outbox) -> None:
    response = validator.post("/validate/challenges", {"user": ALICE})
    assert response.status_code == 400
    assert outbox.texts() == []


def test_a_wrong_password_starts_nothing(validator, texted, outbox) -> None:
    answer = start(validator, password="not the password").json()
    assert (answer["result"], answer["reason"]) == ("reject", "invalid_credentials")
    assert outbox.texts() == []


def test_a_call_gateway_that_is_down_is_a_503_audited_as_a_failure(
    validator, called, gateway_down
) -> None:
    response = start(validator)
    assert (response.status_code, response.json()["error"]) == (503, "delivery_failed")
    event = AuditEvent.objects.get(action=AuditAction.API_CALL)
    assert (event.result, event.details["did"]) == (AuditResult.FAILURE, "challenge.started")


def test_a_call_is_placed_and_its_state_polled_until_approved(validator, called, outbox) -> None:
    answer = start(validator).json()
    assert (answer["kind"], answer["interaction"]) == ("call", "wait")
    assert len(outbox.calls()) == 1
    state = validator.get(f"/validate/challenges/{answer['challenge_id']}").json()
    assert state["state"] == "pending"
    waits.resolve_wait(answer["challenge_id"], approved=True)
    state = validator.get(f"/validate/challenges/{answer['challenge_id']}").json()
    assert state["state"] == "approved"


def test_a_reported_fraud_shows_as_fraud(validator, called) -> None:
    answer = start(validator).json()
    waits.resolve_wait(answer["challenge_id"], approved=False, fraud=True)
    state = validator.get(f"/validate/challenges/{answer['challenge_id']}").json()
    assert state["state"] == ChallengeState.FRAUD


def test_a_chosen_method_is_started_instead_of_the_preferred_one(validator, called, outbox) -> None:
    answer = start(validator, method="text:authentication").json()
    assert answer["kind"] == "text"
    assert (len(outbox.texts()), len(outbox.calls())) == (1, 0)


def test_an_app_code_challenge_sends_nothing_and_is_answered_with_check(
    validator, with_app, clock, outbox
) -> None:
    body = {"user": "bob@contoso.example", "password": STRONG_PASSWORD, "method": "app_code"}
    answer = validator.post("/validate/challenges", body).json()
    assert (answer["kind"], answer["interaction"]) == ("app_code", "code")
    assert outbox.texts() == []
    done = validator.post(
        "/validate/check",
        {
            "user": "bob@contoso.example",
            "challenge_id": answer["challenge_id"],
            "code": clock.code(with_app.secret),
        },
    ).json()
    assert done["result"] == "accept"


def test_a_method_the_user_does_not_have_is_400(validator, texted) -> None:
    response = start(validator, method="hardware_token")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_input"


def test_a_user_who_needs_no_second_factor_is_accepted_at_once(validator, user, outbox) -> None:
    answer = start(validator).json()
    assert answer["result"] == "accept"
    assert outbox.texts() == []


def test_an_unknown_challenge_is_404(validator) -> None:
    response = validator.get(f"/validate/challenges/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_another_organisations_client_cannot_see_the_challenge(
    http, validator, make_token, texted, other_organisation
) -> None:
    answer = start(validator).json()
    other = make_token("validate", organisation=other_organisation)
    response = http.get(f"/validate/challenges/{answer['challenge_id']}", token=other)
    assert response.status_code == 404


def test_an_expired_challenge_reads_as_expired(validator, texted) -> None:
    answer = start(validator).json()
    Challenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    state = validator.get(f"/validate/challenges/{answer['challenge_id']}").json()
    assert state["state"] == "expired"


def test_too_many_texts_are_refused_with_429_and_nothing_sent(
    validator, texted, outbox, settings
) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_user_per_hour": 1}
    assert start(validator).status_code == 200
    refused = start(validator)
    assert refused.status_code == 429
    assert len(outbox.texts()) == 1
