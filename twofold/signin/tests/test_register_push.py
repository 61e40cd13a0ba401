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

from .conftest import password_step

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(make_user):
    return make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)


def registering(client: Client) -> str:
    """Carol's password, then the push registration page; returns its activation code."""
    assert password_step(client, username="carol@contoso.example")["Location"] == (
        "/signin/register"
    )
    assert 'data-testid="register-push"' in client.get("/signin/register").content.decode()
    page = client.get("/signin/register/push").content.decode()
    return re.search(r'data-testid="activation-code">([\d ]+)<', page).group(1).replace(" ", "")


def test_activating_the_app_registers_it_and_signs_in(client, carol) -> None:
    code = registering(client)
    assert client.get("/signin/register/push/status").json() == {"activated": False}
    PhoneApp().activate(Client(), code)
    assert client.get("/signin/register/push/status").json() == {"activated": True}
    response = client.post("/signin/register/push/complete")
    assert after_first_method(response["Location"]) == "/account"
    assert "_auth_user_id" in client.session
    carol.refresh_from_db()
    assert carol.preferred_option == push.APP_NOTIFICATION


def test_finishing_before_the_app_is_activated_signs_nobody_in(client, carol) -> None:
    registering(client)
    response = client.post("/signin/register/push/complete")
    assert response["Location"] == "/signin/register/push"
    assert "_auth_user_id" not in client.session


def test_another_sessions_activation_does_not_count(client, carol) -> None:
    registering(client)
    other = Client()
    code = registering(other)  # the same password, another browser: a newer link
    PhoneApp().activate(Client(), code)
    client.post("/signin/register/push/complete")
    assert "_auth_user_id" not in client.session
    assert AuthenticatorDevice.objects.count() == 1


def test_not_offered_where_notifications_are_not_allowed(client, carol) -> None:
    carol.organisation.allowed_methods = [app_kinds.APP_CODE, phone_kinds.TEXT]
    carol.organisation.save()
    password_step(client, username="carol@contoso.example")
    assert 'data-testid="register-push"' not in client.get("/signin/register").content.decode()
    assert client.get("/signin/register/push")["Location"] == "/signin/register"
