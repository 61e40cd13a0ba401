"""Fixtures for the authenticator app: a server clock the tests control, and enrolled users."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from twofold.core import crypto
from twofold.methods import stepup, totp
from twofold.methods.authenticator import services

# 15 seconds into a 30-second step: codes computed "now" cannot cross a step boundary.
START = 1_700_000_025.0


class Clock:
    """The server time TOTP codes are checked against, frozen until a test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, steps: int = 1) -> None:
        self.now += services.PERIOD * steps

    def code(self, secret: bytes, steps: int = 0) -> str:
        """The code an app holding ``secret`` shows ``steps`` time steps from now."""
        return crypto.totp(secret, self.now + services.PERIOD * steps)


@pytest.fixture(autouse=True)
def _test_urls(settings) -> None:
    settings.ROOT_URLCONF = "twofold.methods.authenticator.tests.urls"


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(START)
    monkeypatch.setattr(totp, "clock", frozen)
    return frozen


@dataclass
class Enrolled:
    user: object
    device: object
    secret: bytes


@pytest.fixture
def enrol(clock):
    """Set up an authenticator app for a user, through the service, as the page does."""

    def make(user, name: str = "Work phone") -> Enrolled:
        secret = services.new_secret()
        device = services.add_device(user, name, secret, clock.code(secret))
        return Enrolled(user, device, secret)

    return make


@pytest.fixture
def enrolled(user, enrol) -> Enrolled:
    return enrol(user)


@pytest.fixture
def signed_in(client, user):
    """A browser signed in as ``user``, without a recent second factor."""
    client.force_login(user)
    return client


@pytest.fixture
def verified(signed_in):
    """A browser signed in as ``user`` that passed a second factor just now."""
    session = signed_in.session
    session[stepup.VERIFIED_AT] = int(time.time())
    session.save()
    return signed_in
