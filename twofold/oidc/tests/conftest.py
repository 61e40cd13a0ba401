"""Fixtures for the provider: applications, signed-in browsers, and the code flow by hand.

The flow is driven through Django's test client exactly as a relying party and a
browser would: GET /oauth2/authorize with PKCE, the user's pages, then POST
/oauth2/token. (tests/browser/test_oidc_browser.py drives it with Authlib and Chromium.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest
from django.test import Client
from joserfc import jwt
from joserfc.jwk import KeySet

from conftest import AUTH_NUMBER, STRONG_PASSWORD
from twofold.accounts.models import MfaState, User
from twofold.core import crypto
from twofold.methods import totp
from twofold.methods.authenticator import services as authenticator
from twofold.methods.oath import importing
from twofold.methods.oath import services as hardware_tokens
from twofold.methods.oath.models import HardwareToken
from twofold.methods.phone import services as phones
from twofold.methods.testing import prove_with_previous_step
from twofold.oidc import services
from twofold.oidc.models import Application

WEB_CALLBACK = "https://app.contoso.example/callback"
WEB_SIGNED_OUT = "https://app.contoso.example/signed-out"
SPA_CALLBACK = "http://127.0.0.1:8765/callback"


@pytest.fixture(autouse=True)
def _generous_caps(settings) -> None:
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "resend_cooldown_seconds": 0,
        "texts_per_user_per_hour": 100,
        "texts_per_number_per_hour": 100,
    }


@pytest.fixture
def admin(make_user) -> User:
    return make_user("admin@contoso.example", is_admin=True)


@dataclass
class Registered:
    application: Application
    secret: str

    @property
    def client_id(self) -> str:
        return self.application.client_id


@pytest.fixture
def web_app(organisation, admin) -> Registered:
    """A confidential web application of Contoso."""
    application, secret = services.register_application(
        organisation,
        admin,
        name="Contoso Expenses",
        client_type=services.CONFIDENTIAL,
        redirect_uris=[WEB_CALLBACK],
        post_logout_redirect_uris=[WEB_SIGNED_OUT],
    )
    return Registered(application, secret)


@pytest.fixture
def spa(organisation, admin) -> Registered:
    """A public application (a single-page or native app) of Contoso."""
    application, secret = services.register_application(
        organisation,
        admin,
        name="Contoso Desk",
        client_type=services.PUBLIC,
        redirect_uris=[SPA_CALLBACK],
    )
    return Registered(application, secret)


@pytest.fixture
def alice(make_user) -> User:
    """Two-step verification on; her authentication phone gets texts."""
    user = make_user(
        "alice@contoso.example",
        mfa_state=MfaState.ENABLED,
        email="alice@contoso.example",
        display_name="Alice Example",
    )
    phones.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


@pytest.fixture
def bob(make_user) -> User:
    """Two-step verification off and no method: the password alone signs him in."""
    return make_user("bob@contoso.example", display_name="Bob Example")


def add_app(user: User) -> str:
    """Enrol an authenticator app (proven with the previous step's code); its Base32 key."""
    secret = authenticator.new_secret()
    prove_with_previous_step(secret, partial(authenticator.add_device, user, "Phone", secret))
    User.objects.filter(pk=user.pk).update(preferred_option="app_code")
    return authenticator.base32(secret)


def add_hardware_token(user: User, admin: User) -> bytes:
    """Hand the user a hardware token (through the import) and activate it with the
    previous step's code, as the pages do; its seed."""
    secret = crypto.random_otp_secret(20)
    header = "user name,serial number,secret key,time interval,manufacturer,model"
    line = f"{user.username},GALT00000001,{secret.hex()},30,Acme,TOTP-6"
    report = importing.import_tokens(user.organisation, f"{header}\n{line}".encode(), admin)
    assert len(report.imported) == 1, report.refused
    token = HardwareToken.objects.get(organisation=user.organisation, serial="GALT00000001")
    prove_with_previous_step(secret, partial(hardware_tokens.activate, user, token.pk))
    User.objects.filter(pk=user.pk).update(preferred_option="hardware_token")
    return secret


# --- Signing in, as the pages do -----------------------------------------------------------


def password_step(client: Client, username: str) -> None:
    client.post("/signin", {"username": username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})


def sign_in_with_text(client: Client, outbox, *, remember: bool = False) -> None:
    password_step(client, "alice@contoso.example")
    data = {"code": outbox.last_code()} | ({"remember": "on"} if remember else {})
    client.post("/signin/verify", data)


def sign_in_with_app(client: Client, key: str) -> None:
    password_step(client, "alice@contoso.example")
    client.get("/signin/verify")
    client.post("/signin/verify", {"code": pyotp.TOTP(key).now()})


def trusted_browser(outbox) -> Client:
    """A browser that ticked "don't ask again", signed out, and signed in on the password."""
    client = Client()
    sign_in_with_text(client, outbox, remember=True)
    client.post("/signout")
    password_step(client, "alice@contoso.example")
    assert client.session["twofold.amr"] == ["pwd", "mfa"]
    return client


def sign_in_with_hardware_token(client: Client, secret: bytes) -> None:
    password_step(client, "alice@contoso.example")
    client.get("/signin/verify")
    client.post("/signin/verify", {"code": crypto.totp(secret, totp.clock())})


def step_up_with_text(client: Client, outbox) -> None:
    """On the "confirm it's you" page: text a code and type it."""
    client.get("/account/verify")
    client.post("/account/verify/start", {"option": "text:authentication"})
    client.post("/account/verify", {"code": outbox.last_code()})


# --- The relying party's side --------------------------------------------------------------


@dataclass
class Flow:
    """One authorization request: PKCE verifier, state and nonce, as a client makes them."""

    app: Registered
    redirect_uri: str
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def url(self, **extra: str) -> str:
        params = {
            "response_type": "code",
            "client_id": self.app.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile email",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        } | extra
        return "/oauth2/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})

    def code_from(self, response) -> str:
        """The code from the redirect to the application (after checking its state)."""
        assert response.status_code == 302, response
        location = response["Location"]
        assert location.startswith(self.redirect_uri), location
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == [self.state]
        return query["code"][0]

    def token(self, client: Client, code: str, **extra: str) -> dict:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.app.client_id,
            "code_verifier": self.verifier,
        } | extra
        if self.app.secret:
            data.setdefault("client_secret", self.app.secret)
        return client.post("/oauth2/token", {k: v for k, v in data.items() if v is not None})


@pytest.fixture
def web_flow(web_app) -> Flow:
    return Flow(web_app, WEB_CALLBACK)


@pytest.fixture
def spa_flow(spa) -> Flow:
    return Flow(spa, SPA_CALLBACK)


def follow_to_code(client: Client, flow: Flow, **extra: str) -> str:
    """A signed-in browser's authorization: the code the application receives."""
    return flow.code_from(client.get(flow.url(**extra)))


def verified_claims(client: Client, id_token: str, flow: Flow, *, refreshed: bool = False) -> dict:
    """The ID token's claims, once its RS256 signature checks out against the JWKS.

    A refreshed ID token carries no nonce (OpenID Connect Core 12.2).
    """
    keys = KeySet.import_key_set(json.loads(client.get("/.well-known/jwks.json").content))
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    assert token.claims["aud"] == flow.app.client_id
    assert token.claims.get("nonce") == (None if refreshed else flow.nonce)
    return token.claims


def tokens_for(client: Client, flow: Flow, **extra: str) -> dict:
    code = follow_to_code(client, flow, **extra)
    response = flow.token(Client(), code)
    assert response.status_code == 200, response.content
    return response.json()
