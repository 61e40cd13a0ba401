"""What the current request is (correlation ID, client address, browser), for any layer.

The correlation middleware sets it for each request; services, audit and logging read
it without a request object being passed down. Outside a request (CLI, tests) a fresh
context with its own correlation ID is made on first use.
"""

from __future__ import annotations

import contextvars
import ipaddress
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest

_MAX_USER_AGENT = 300


def new_correlation_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class RequestContext:
    correlation_id: str = field(default_factory=new_correlation_id)
    client_address: str | None = None
    user_agent: str = ""


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "twofold_request_context", default=None
)


def current() -> RequestContext:
    context = _current.get()
    if context is None:
        context = RequestContext()
        _current.set(context)
    return context


def activate(context: RequestContext) -> contextvars.Token:
    return _current.set(context)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address, trusting X-Forwarded-For only as far as the configured proxies."""
    hops = settings.TWOFOLD["trusted_proxies"]
    candidate = request.META.get("REMOTE_ADDR", "")
    if hops:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def from_request(request: HttpRequest) -> RequestContext:
    return RequestContext(
        correlation_id=new_correlation_id(),
        client_address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:_MAX_USER_AGENT],
    )


# The application a sign-in is for (an OpenID Connect client, an API client), for what a
# push approval shows on the phone; empty when the person signs in to twofold itself.
_application: contextvars.ContextVar[str] = contextvars.ContextVar(
    "twofold_application", default=""
)


@contextmanager
def for_application(name: str) -> Iterator[None]:
    """Within this block, challenges are started on behalf of application ``name``."""
    token = _application.set(name)
    try:
        yield
    finally:
        _application.reset(token)


def application() -> str:
    return _application.get()
