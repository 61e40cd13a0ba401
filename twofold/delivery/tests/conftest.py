"""Fixtures for delivery: signal recorders, the outbox switched on, and a local stand-in
for Twilio's REST API (an HTTP server on 127.0.0.1, not a mock object)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from twofold.delivery.base import call_answered, delivery_reported

ACCOUNT_SID = "AC" + "ab" * 16
AUTH_TOKEN = "stand-in-auth-token"
FROM_NUMBER = "+14255550100"
BASE_URL = "http://127.0.0.1:8000"
_ENDPOINT = re.compile(r"/2010-04-01/Accounts/(?P<sid>\w+)/(?P<resource>Messages|Calls)\.json")


def post_signed(client: Client, path: str, params: dict[str, str], token: str = AUTH_TOKEN):
    """POST ``params`` to ``path`` signed the way Twilio signs its webhooks."""
    signature = RequestValidator(token).compute_signature(BASE_URL + path, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def reference() -> str:
    """A challenge-like reference (challenge IDs are UUIDs)."""
    return str(uuid.uuid4())


@dataclass
class SignalLog:
    events: list[dict] = field(default_factory=list)

    def __call__(self, sender: object, signal: object, **kwargs: object) -> None:
        self.events.append({"sender": sender, **kwargs})


@pytest.fixture
def answered() -> Iterator[SignalLog]:
    """Every call_answered sent while the test runs."""
    log = SignalLog()
    call_answered.connect(log, weak=False)
    yield log
    call_answered.disconnect(log)


@pytest.fixture
def reported() -> Iterator[SignalLog]:
    """Every delivery_reported sent while the test runs."""
    log = SignalLog()
    delivery_reported.connect(log, weak=False)
    yield log
    delivery_reported.disconnect(log)


@pytest.fixture
def outbox(settings) -> None:
    """The default gateway with the dev outbox page switched on."""
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": "outbox", "dev_outbox": True}


# --- A stand-in for Twilio's REST API ----------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]

    def one(self, name: str) -> str:
        (value,) = self.form[name]
        return value


@dataclass
class TwilioStandIn:
    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    # (HTTP status, Twilio error code) to refuse every request with, like Twilio does.
    refusal: tuple[int, int] | None = None


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_POST(self) -> None:
        stand_in: TwilioStandIn = self.server.stand_in  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        stand_in.received.append(Received(self.path, dict(self.headers.items()), form))
        match = _ENDPOINT.fullmatch(self.path)
        if match is None:
            self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
        elif stand_in.refusal is not None:
            status, code = stand_in.refusal
            # Like Twilio's own, the message quotes the number: it must stay out of logs.
            to = form.get("To", [""])[0]
            message = f"The 'To' number {to} is not a valid phone number."
            self._answer(status, {"code": code, "message": message, "status": status})
        else:
            self._answer(201, _created(match["sid"], match["resource"], form))

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return


def _created(account_sid: str, resource: str, form: dict[str, list[str]]) -> dict:
    """A resource shaped like Twilio's answer to a create."""
    first = {name: values[0] for name, values in form.items()}
    prefix = "SM" if resource == "Messages" else "CA"
    sid = prefix + uuid.uuid4().hex
    return {
        "sid": sid,
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "to": first.get("To"),
        "from": first.get("From"),
        "body": first.get("Body"),
        "status": "queued",
        "direction": "outbound-api",
        "date_created": "Mon, 23 Nov 2026 09:00:00 +0000",
        "date_updated": "Mon, 23 Nov 2026 09:00:00 +0000",
        "uri": f"/2010-04-01/Accounts/{account_sid}/{resource}/{sid}.json",
    }


@pytest.fixture
def twilio_settings(settings) -> None:
    """Twilio configured as the gateway (webhooks verify signatures under AUTH_TOKEN)."""
    settings.TWOFOLD_BASE_URL = BASE_URL
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "gateway": "twilio",
        "twilio": {
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "from_number": FROM_NUMBER,
            "api_base": "",
        },
    }


@pytest.fixture
def twilio_api(settings, twilio_settings) -> Iterator[TwilioStandIn]:
    """Twilio as the gateway, its REST API answered by a server on loopback."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    stand_in = TwilioStandIn(base_url=f"http://127.0.0.1:{server.server_port}")
    server.stand_in = stand_in  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    twilio = {**settings.TWOFOLD["twilio"], "api_base": stand_in.base_url}
    settings.TWOFOLD = {**settings.TWOFOLD, "twilio": twilio}
    yield stand_in
    server.shutdown()
    server.server_close()
    thread.join()
