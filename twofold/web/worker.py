"""The gunicorn worker that ``twofold serve`` runs: gunicorn's threaded worker, answering
in twofold's JSON error shape where gunicorn itself answers.

gunicorn refuses some requests before Django sees them (a request line or headers over its
limits, a Content-Length that is not a number, a malformed chunk, an unknown transfer
coding) with an HTML page of its own, which no setting changes. This worker lets gunicorn
decide the status and log as it always does, and replaces only the page it writes with

    {"error": "<code>", "message": "<for people>", "correlation_id": "<id>"}

the shape of every other API answer (api/errors.py), with a new correlation ID (nothing
else carries one). The OpenAPI document lists these answers (api/v1.py).
"""

from __future__ import annotations

import json
import re
import socket
from typing import Any

from django.utils.translation import gettext_noop
from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from twofold.core.context import new_correlation_id

_STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ([^\r\n]*)\r\n")


# English whatever the request asked for: gunicorn could not read the request, so there
# is no language to go by (the texts are marked, and translated, for the docs page).
_CODES = {
    400: ("invalid_request", gettext_noop("The request is not valid HTTP.")),
    403: ("not_allowed", gettext_noop("This request is not allowed.")),
    414: ("request_line_too_long", gettext_noop("The request line is too long.")),
    417: ("expectation_failed", gettext_noop("The Expect header cannot be met.")),
    431: ("headers_too_large", gettext_noop("The request headers are too large or too many.")),
    501: ("not_implemented", gettext_noop("This transfer coding is not supported.")),
}
_SERVER_ERROR = ("server_error", gettext_noop("Something went wrong on our side. Try again later."))


class _Page:
    """Stands in for the client's socket while gunicorn writes its error page, keeping the
    page (to read its status back); anything else goes to the real socket."""

    def __init__(self, client: socket.socket) -> None:
        self._client = client
        self.written = bytearray()

    def sendall(self, data: bytes) -> None:
        self.written += data

    def gettimeout(self) -> float:
        return 0.0  # so gunicorn calls sendall without changing the socket's mode

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class JsonErrorWorker(ThreadWorker):
    """gunicorn's gthread worker, with its own error answers in twofold's JSON shape."""

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        page = _Page(client)
        super().handle_error(req, page, addr, exc)
        found = _STATUS_LINE.match(bytes(page.written))
        status = int(found.group(1)) if found else 500
        reason = found.group(2).decode("latin-1") if found else "Internal Server Error"
        try:
            util.write_nonblock(client, answer(status, reason))
        except OSError:
            self.log.debug("Failed to send error message.")


def answer(status: int, reason: str) -> bytes:
    """The whole HTTP answer: status line, headers and the JSON error body."""
    code, message = _CODES.get(status, _SERVER_ERROR)
    correlation_id = new_correlation_id()
    body = json.dumps({"error": code, "message": message, "correlation_id": correlation_id})
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body.encode())}\r\n"
        f"X-Correlation-ID: {correlation_id}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body.encode()
