"""/validate with the twofold Authenticator: without a code, the preferred push is started
and its number returned; the app's signed approval makes the challenge approved."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.accounts.models import MfaState
from twofold.methods.authenticator import activation
from twofold.methods.authenticator.models import PushNotice
from twofold.methods.authenticator.tests.phone_app import PhoneApp

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = "alice@contoso.example"


@pytest.fixture
def phone(make_user) -> PhoneApp:
    user = make_user(ALICE, mfa_state=MfaState.ENABLED)
    app = PhoneApp()
    _issued, code = activation.issue(user)
    assert app.activate(Client(), code).status_code == 200
    return app


def test_without_a_code_a_push_is_started_with_its_number(validator, phone) -> None:
    answer = validator.post("/validate/check", {"user": ALICE, "password": STRONG_PASSWORD})
    body = answer.json()
    assert (answer.status_code, body["result"]) == (200, "challenge")
    assert (body["kind"], body["interaction"]) == ("app_notification", "wait")
    assert body["number"] == PushNotice.objects.get().number


def test_the_phone_sees_the_api_clients_name_and_its_approval_is_polled(validator, phone) -> None:
    body = validator.post("/validate/check", {"user": ALICE, "password": STRONG_PASSWORD}).json()
    (request,) = phone.poll(Client()).json()["requests"]
    assert request["application"] == "App 1 validate"  # the API client's name
    decided = phone.decide(Client(), body["challenge_id"], "approve", body["number"])
    assert decided.json()["state"] == "approved"
    state = validator.get(f"/validate/challenges/{body['challenge_id']}").json()["state"]
    assert state == "approved"
