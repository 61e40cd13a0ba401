"""Chunked request bodies, made readable to Django.

WSGI (and so Django's WSGIRequest) reads a body only as long as its CONTENT_LENGTH says: a
request sent with ``Transfer-Encoding: chunked`` has none, so every view would see an
empty body (a valid API call answered "Field required"). gunicorn decodes the chunks;
this wrapper reads the decoded body, up to the path's limit plus one byte, and hands it
on with its length. A body over the limit then reaches the same checks as one whose
Content-Length says so (the API's 413 in its JSON shape, an upload's 413 page), and no
more than one byte past the limit is ever read.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Limits = Sequence[tuple[str, int]]  # (path prefix, largest body), the first match wins

_BLOCK = 64 * 1024
_IN_MEMORY = 1024 * 1024  # a larger body is spooled to a temporary file


class ChunkedBodies:
    """WSGI middleware: give a chunked request its body and a CONTENT_LENGTH."""

    def __init__(self, application: Callable[..., Iterable[bytes]], limits: Limits) -> None:
        self.application = application
        self.limits = limits

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if is_chunked(environ) and not environ.get("CONTENT_LENGTH"):
            limit = limit_for(self.limits, environ.get("PATH_INFO", ""))
            body, length = _read(environ["wsgi.input"], limit + 1)
            environ["wsgi.input"] = body
            environ["CONTENT_LENGTH"] = str(length)
        return self.application(environ, start_response)


def is_chunked(environ: dict[str, Any]) -> bool:
    codings = environ.get("HTTP_TRANSFER_ENCODING", "").split(",")
    return any(coding.strip().lower() == "chunked" for coding in codings)


def limit_for(limits: Limits, path: str) -> int:
    """The largest body a request to ``path`` may carry (the last entry's, by default)."""
    for prefix, largest in limits:
        if path.startswith(prefix):
            return largest
    return limits[-1][1]


def _read(stream: Any, most: int) -> tuple[Any, int]:
    """At most ``most`` bytes of ``stream``, as a file at its start, and how many."""
    body = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115 - handed on
    length = 0
    while length < most:
        block = stream.read(min(_BLOCK, most - length))
        if not block:
            break
        body.write(block)
        length += len(block)
    body.seek(0)
    return body, length
