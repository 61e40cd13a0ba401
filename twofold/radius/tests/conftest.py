"""The RADIUS front on a free loopback port, one per test module, and the two real clients
that talk to it: pyrad's and FreeRADIUS's radclient (Debian's freeradius-utils)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pyrad import packet as pyrad_packet
from pyrad.client import Client, Timeout

# The validate check's fixtures: users with an authenticator app or a phone, a frozen clock.
from twofold.api.tests.conftest import _generous_caps, clock, texted, with_app  # noqa: F401
from twofold.radius import clients, codec
from twofold.radius.server import Server

#: How long a test waits for an answer that must not come.
SILENCE_SECONDS = 1


@pytest.fixture(scope="module")
def radius_port() -> Iterator[int]:
    """A RADIUS server of the whole project in this process (so that it reads the test
    database), on a free port: one per module, every test's packets go to it."""
    front = Server("127.0.0.1", 0, workers=8)
    thread = front.start_in_thread()
    yield front.port
    front.stop()
    thread.join(timeout=5)


@pytest.fixture
def radius_admin(make_user):
    return make_user("admin@contoso.example", is_admin=True)


@dataclass
class Gateway:
    """A RADIUS client as twofold knows it, and the shared secret its gateway holds."""

    client: object
    secret: str
    port: int

    def ask(self, user: str | None, password: str | None = None, **options) -> Reply | None:
        return ask(self.port, self.secret, user, password, **options)


@dataclass
class Reply:
    code: int
    packet: pyrad_packet.Packet

    @property
    def message(self) -> str:
        return "".join(self.packet.get("Reply-Message", []))

    @property
    def state(self) -> bytes | None:
        values = self.packet.get("State")
        return values[0] if values else None

    @property
    def accepted(self) -> bool:
        return self.code == codec.ACCESS_ACCEPT

    @property
    def rejected(self) -> bool:
        return self.code == codec.ACCESS_REJECT

    @property
    def challenged(self) -> bool:
        return self.code == codec.ACCESS_CHALLENGE


def request_packet(
    secret: str,
    user: str | None,
    password: str | None,
    *,
    state: bytes | None = None,
    calling: str | None = None,
    message_authenticator: bool = True,
) -> pyrad_packet.AuthPacket:
    radius = Client(server="127.0.0.1", secret=secret.encode(), dict=codec.dictionary())
    # pyrad's client signs its Access-Requests unless told not to.
    request = radius.CreateAuthPacket(
        code=pyrad_packet.AccessRequest, message_authenticator=message_authenticator
    )
    if user is not None:
        request["User-Name"] = user
    if password is not None:
        request["User-Password"] = request.PwCrypt(password)
    if state is not None:
        request["State"] = state
    if calling is not None:
        request["Calling-Station-Id"] = calling
    request["NAS-Identifier"] = "vpn-1"
    return request


def ask(
    port: int,
    secret: str,
    user: str | None,
    password: str | None = None,
    *,
    wait: float = 5,
    **options,
) -> Reply | None:
    """Send one Access-Request with pyrad's client; its reply (checked by pyrad, a
    Message-Authenticator required), or None when the server stays silent."""
    radius = Client(
        server="127.0.0.1",
        authport=port,
        secret=secret.encode(),
        dict=codec.dictionary(),
        retries=1,
        timeout=wait,
        enforce_ma=True,
    )
    request = request_packet(secret, user, password, **options)
    try:
        reply = radius.SendPacket(request)
    except Timeout:
        return None
    return Reply(reply.code, reply)


@pytest.fixture
def gateway(organisation, radius_admin, radius_port) -> Gateway:
    """The organisation's VPN concentrator at 127.0.0.1, not trusted to report addresses."""
    client, secret = clients.create(organisation, "VPN", "127.0.0.1", actor=radius_admin)
    return Gateway(client, secret, radius_port)


def radclient(port: int, secret: str, attributes: str, *, wait: int = 5) -> str:
    """FreeRADIUS's radclient sending ``attributes`` (its own text format) once; its output."""
    binary = shutil.which("radclient")
    if binary is None:
        pytest.fail("radclient is missing: `make radclient` installs freeradius-utils")
    done = subprocess.run(
        [binary, "-x", "-r", "1", "-t", str(wait), f"127.0.0.1:{port}", "auth", secret],
        input=attributes,
        capture_output=True,
        text=True,
        timeout=wait + 10,
        check=False,
    )
    return done.stdout + done.stderr
