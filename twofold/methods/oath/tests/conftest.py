"""Fixtures for hardware tokens: a server clock the tests control, a stock uploaded through
the import, and tokens assigned to and activated by users through the services."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from twofold.core import crypto
from twofold.methods import stepup, totp
from twofold.methods.oath import importing, services
from twofold.methods.oath.models import HardwareToken

# 15 seconds into a 30-second step (and a 60-second one): codes cannot cross a boundary.
START = 1_700_000_055.0
HEADER = "user name,serial number,secret key,time interval,manufacturer,model"


class Clock:
    """The server time TOTP codes are checked against, frozen until a test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, steps: int = 1, period: int = 30) -> None:
        self.now += period * steps

    def code(self, secret: bytes, steps: int = 0, period: int = 30) -> str:
        """The code a token holding ``secret`` shows ``steps`` time steps from now."""
        return crypto.totp(secret, self.now + period * steps, period=period)


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return "\n".join((header, *rows)).encode()


def row(user: str, serial: str, secret: bytes | str, interval: str = "30", *rest: str) -> str:
    text = secret.hex() if isinstance(secret, bytes) else secret
    return ",".join((user, serial, text, interval, *(rest or ("Acme", "TOTP-6"))))


@dataclass
class Held:
    """A token as its holder knows it: the database row and the seed inside the device."""

    token: HardwareToken
    secret: bytes


@pytest.fixture(autouse=True)
def _test_urls(settings) -> None:
    settings.ROOT_URLCONF = "twofold.methods.oath.tests.urls"


@pytest.fixture
def clock(monkeypatch) -> Clock:
    frozen = Clock(START)
    monkeypatch.setattr(totp, "clock", frozen)
    return frozen


@pytest.fixture
def admin(make_user):
    return make_user("admin@contoso.example", is_admin=True)


@pytest.fixture
def give_token(admin):
    """Upload one token for ``user`` through the import, as an administrator does."""
    serials = iter(range(1, 1000))

    def give(user, *, serial: str = "", period: int = 30) -> Held:
        secret = crypto.random_otp_secret(20)
        serial = serial or f"GALT{next(serials):08d}"
        data = csv_bytes(row(user.username, serial, secret, str(period)))
        report = importing.import_tokens(user.organisation, data, admin)
        assert len(report.imported) == 1, report.refused
        return Held(
            HardwareToken.objects.get(organisation=user.organisation, serial=serial), secret
        )

    return give


@pytest.fixture
def activate(clock):
    """Activate a held token with the code it shows now, through the service."""

    def run(held: Held) -> Held:
        token = held.token
        services.activate(token.user, token.pk, clock.code(held.secret, period=token.period))
        token.refresh_from_db()
        return held

    return run


@pytest.fixture
def assigned(user, give_token) -> Held:
    return give_token(user)


@pytest.fixture
def activated(assigned, activate) -> Held:
    return activate(assigned)


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
