"""A passkey in OpenID Connect: amr says what was used (hwk or swk, user), acr ``phr``
(phishing-resistant) can be demanded with acr_values and leads to a passkey."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from twofold.methods.models import Challenge, ChallengePurpose
from twofold.methods.passkeys import services as passkeys
from twofold.methods.passkeys.models import PasskeyAccount
from twofold.methods.passkeys.tests.softkey import SoftKey
from twofold.oidc.claims import ACR_MFA, ACR_PHR
from twofold.oidc.tests.conftest import (
    follow_to_code,
    sign_in_with_text,
    tokens_for,
    verified_claims,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.TWOFOLD_BASE_URL = "http://localhost:8000"


@pytest.fixture
def key(alice) -> SoftKey:
    """Alice's passkey, registered (discoverable, user-verifying, bound to its device)."""
    key = SoftKey()
    session = SessionStore()
    options = passkeys.begin_registration(session, alice)
    passkeys.finish_registration(session, alice, key.create(options), "Laptop")
    key.user_handle = PasskeyAccount.objects.get(user=alice).handle.encode()
    return key


def sign_in_with_passkey(client: Client, key: SoftKey) -> None:
    options = client.post("/passkeys/signin/options").content.decode()
    response = client.post("/passkeys/signin", {"response": key.get(options)})
    assert response.status_code == 302
    assert response["Location"] == "/account"


def test_a_passwordless_sign_in_says_hwk_and_user_and_earns_phr(client, web_flow, key) -> None:
    sign_in_with_passkey(client, key)
    tokens = tokens_for(client, web_flow, acr_values=ACR_PHR)
    claims = verified_claims(client, tokens["id_token"], web_flow)
    assert claims["acr"] == ACR_PHR
    assert "pwd" not in claims["amr"]
    assert {"hwk", "user"} <= set(claims["amr"])


def test_a_passkey_sign_in_also_meets_a_demand_for_mfa(client, web_flow, key) -> None:
    sign_in_with_passkey(client, key)
    assert follow_to_code(client, web_flow, acr_values=ACR_MFA)


def test_a_text_is_not_phishing_resistant_so_phr_steps_up_to_a_passkey(
    client, web_flow, outbox, key
) -> None:
    sign_in_with_text(client, outbox)
    response = client.get(web_flow.url(acr_values=ACR_PHR))
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/account/verify"
    assert parse_qs(location.query)["only"] == ["phishing_resistant"]
    page = client.get(response["Location"])
    assert b"data-passkey-challenge" in page.content  # the passkey is asked for, not a text
    challenge = Challenge.objects.filter(purpose=ChallengePurpose.STEP_UP).latest("created_at")
    assert challenge.option == "passkey"
    answer = key.get(json.dumps(challenge.payload["options"]))
    assert client.post("/account/verify", {"code": answer}).status_code == 302
    tokens = tokens_for(client, web_flow, acr_values=ACR_PHR)
    claims = verified_claims(client, tokens["id_token"], web_flow)
    assert claims["acr"] == ACR_PHR
    assert {"pwd", "sms", "hwk"} <= set(claims["amr"])


def test_phr_without_a_passkey_is_an_error_for_the_application(
    client, web_flow, outbox, alice
) -> None:
    sign_in_with_text(client, outbox)
    response = client.get(web_flow.url(acr_values=ACR_PHR))
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["unmet_authentication_requirements"]


def test_a_text_sign_in_is_mfa_not_phr(client, web_flow, outbox, alice) -> None:
    sign_in_with_text(client, outbox)
    tokens = tokens_for(client, web_flow, acr_values=ACR_MFA)
    assert verified_claims(client, tokens["id_token"], web_flow)["acr"] == ACR_MFA
