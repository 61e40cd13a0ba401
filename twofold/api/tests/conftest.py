"""Fixtures for the REST API: clients and their tokens made through the service, and an
HTTP client (``requests``) against a live server running the whole project."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from conftest import AUTH_NUMBER
from twofold.accounts.models import MfaState
from twofold.core import crypto
from twofold.methods import totp
from twofold.methods.authenticator import services as authenticator
from twofold.methods.phone import services as phone_services

# 15 seconds into a 30-second step: codes computed "now" cannot cross a step boundary.
START = 1_700_000_025.0


@pytest.fixture(autouse=True)
def _generous_caps(settings) -> None:
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "resend_cooldown_seconds": 0,
        "texts_per_user_per_hour": 100,
        "texts_per_number_per_hour": 100,
    }


@pytest.fixture
def gateway_down(settings) -> None:
    """Every text and call fails at the gateway (the test gateway chosen by dotted path)."""
    gateway = "twofold.delivery.tests.gateways.UnreachableGateway"
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": gateway}


@dataclass
class Http:
    """Calls the API of the live server as an application would."""

    base: str
    token: str | None = None

    def call(
        self, method: str, path: str, *, token: str | None = "", **kwargs
    ) -> requests.Response:
        token = self.token if token == "" else token
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(
            method, f"{self.base}/api/v1{path}", headers=headers, timeout=30, **kwargs
        )

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: object = None, **kwargs) -> requests.Response:
        return self.call("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: object = None, **kwargs) -> requests.Response:
        return self.call("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def admin(make_user):
    return make_user("admin@contoso.example", is_admin=True, display_name="Adele Admin")


@pytest.fixture
def make_token(admin, make_user) -> Callable[..., str]:
    """A new client of Contoso (or ``organisation``) with ``scopes``; returns its token."""
    from twofold.api import clients

    admins = {admin.organisation_id: admin}

    def make(
        *scopes: str, organisation=None, name: str = "", reports_person_address: bool = False
    ) -> str:
        organisation = organisation or admin.organisation
        if organisation.pk not in admins:
            domain = organisation.domains.first().domain
            admins[organisation.pk] = make_user(
                f"admin@{domain}", organisation=organisation, is_admin=True
            )
        _client, token = clients.create(
            organisation,
            name or f"App {len(scopes)} {'-'.join(scopes)}",
            list(scopes or ("validate",)),
            actor=admins[organisation.pk],
            reports_person_address=reports_person_address,
        )
        return token

    return make


@pytest.fixture
def http(live_server) -> Http:
    return Http(live_server.url)


@pytest.fixture
def validator(http, make_token) -> Http:
    """The live API as a client with the validate scope."""
    http.token = make_token("validate")
    return http


@pytest.fixture
def texted(make_user):
    """Two-step verification on; texts to an authentication phone are her only method."""
    user = make_user("alice@contoso.example", mfa_state=MfaState.ENABLED)
    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


class Clock:
    """The server time authenticator codes are checked against, frozen until moved."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def code(self, secret: bytes, steps: int = 0) -> str:
        """The code the app shows ``steps`` time steps from now."""
        return crypto.totp(secret, self.now + authenticator.PERIOD * steps)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(START)
    monkeypatch.setattr(totp, "clock", frozen)
    return frozen


@dataclass
class WithApp:
    user: object
    secret: bytes


@pytest.fixture
def with_app(make_user, clock) -> WithApp:
    """Two-step verification enforced; an authenticator app set up through the service."""
    user = make_user("bob@contoso.example", mfa_state=MfaState.ENFORCED)
    secret = authenticator.new_secret()
    # Proven with the previous step's code, so that the current one is still unused.
    authenticator.add_device(user, "Work phone", secret, clock.code(secret, steps=-1))
    return WithApp(user, secret)
