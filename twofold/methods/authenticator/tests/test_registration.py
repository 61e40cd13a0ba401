"""Registering the twofold Authenticator at sign-in: the app using this session's one-time
link is the proof, as a code is for an ordinary app."""

import re

import pytest
from django.test import Client

from conftest import after_first_method
from twofold.accounts.models import MfaState
from twofold.methods.authenticator import kinds as app_kinds
from twofold.methods.authenticator import push
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.authenticator.tests.phone_app import PhoneApp
from twofold.methods.phone import kinds as phone_kinds
from twofold.signin.tests.conftest import password_step

pytestmark = pytest.mark.django_db

ACTIVATE = "/account/security-verification/authenticator/activate"
STATUS = "/account/security-verification/authenticator/activate/status"
COMPLETE = "/account/security-verification/authenticator/activate/complete"


@pytest.fixture
def carol(make_user):
    return make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)


def registering(client: Client) -> str:
    """Carol's password, then the push registration page; returns its activation code."""
    assert password_step(client, username="carol@contoso.example")["Location"] == (
        "/signin/register"
    )
    assert 'data-testid="register-push"' in client.get("/signin/register").content.decode()
    page = client.get(ACTIVATE).content.decode()
    return re.search(r'data-testid="activation-code">([\d ]+)<', page).group(1).replace(" ", "")


def test_activating_the_app_registers_it_and_signs_in(client, carol) -> None:
    code = registering(client)
    assert client.get(STATUS).json() == {"activated": False}
    PhoneApp().activate(Client(), code)
    assert client.get(STATUS).json() == {"activated": True}
    response = client.post(COMPLETE)
    assert after_first_method(response["Location"]) == "/account"
    assert "_auth_user_id" in client.session
    carol.refresh_from_db()
    assert carol.preferred_option == push.APP_NOTIFICATION


def test_finishing_before_the_app_is_activated_signs_nobody_in(client, carol) -> None:
    registering(client)
    response = client.post(COMPLETE)
    assert response["Location"] == f"{ACTIVATE}?next=%2Fsignin%2Fregister"
    assert "_auth_user_id" not in client.session


def test_another_sessions_activation_does_not_count(client, carol) -> None:
    registering(client)
    other = Client()
    code = registering(other)  # the same password, another browser: a newer link
    PhoneApp().activate(Client(), code)
    client.post(COMPLETE)
    assert "_auth_user_id" not in client.session
    assert AuthenticatorDevice.objects.count() == 1


def test_not_offered_where_notifications_are_not_allowed(client, carol) -> None:
    carol.organisation.allowed_methods = [app_kinds.APP_CODE, phone_kinds.TEXT]
    carol.organisation.save()
    password_step(client, username="carol@contoso.example")
    assert 'data-testid="register-push"' not in client.get("/signin/register").content.decode()
    assert client.get(ACTIVATE)["Location"] == "/signin/register"


def test_completing_an_activation_never_started_here_signs_nobody_in(client, carol) -> None:
    password_step(client, username="carol@contoso.example")
    response = client.post(COMPLETE)
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get(STATUS).json() == {"activated": False}


def test_an_activation_kept_for_one_person_is_not_another_s(client, carol, make_user) -> None:
    code = registering(client)
    PhoneApp().activate(Client(), code)
    make_user("dave@contoso.example", mfa_state=MfaState.ENABLED)
    password_step(client, username="dave@contoso.example")  # another sign-in, same browser
    assert client.get(STATUS).json() == {"activated": False}
    client.post(COMPLETE)
    assert "_auth_user_id" not in client.session
