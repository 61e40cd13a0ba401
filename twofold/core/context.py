"""What the current request is (correlation ID, client address, browser), for any layer.

The correlation middleware sets it for each request; services, audit and logging read
it without a request object being passed down. Outside a request (CLI, tests) a fresh
context with its own correlation ID is made on first use.

The address context (docs/security.md 32): ``client_address`` is where the connection
came from (after the configured proxies). For a browser that is the person. For an
integration (an API client: a VPN, a mail server) it is the integration itself, which
counts only as itself: trusted address ranges and per-address limits look at
``person_address`` instead, which is the address the integration reported for the
person, when an administrator trusts it to report one, and otherwise None ("no person
address": never inside a trusted range, never in any person's per-address bucket).
"""

from __future__ import annotations

import contextvars
import ipaddress
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

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
    # Set for a call from an integration: its key for its own ceiling ("api-client:7"),
    # and the person's address it reported, if it is trusted to report one.
    integration: str = ""
    reported_address: str | None = None

    @property
    def person_address(self) -> str | None:
        """The person's address, as far as it may be believed; None if not known."""
        return self.reported_address if self.integration else self.client_address

    def address_bucket(self) -> str | None:
        """The subject of per-address limits: the person's address ("unknown" for a
        browser without one); None for an integration that reported none."""
        if self.integration:
            return address_bucket_of(self.reported_address)
        return address_bucket_of(self.client_address) or "unknown"


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
        if forwarded:
            # Fewer entries than proxies: the request skipped the outer ones, and the first
            # entry (written by one of ours) is the sender, never our proxy's own address.
            candidate = forwarded[-min(hops, len(forwarded))]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    # An IPv4 person behind a dual-stack listener or proxy: compared, limited and audited
    # as the IPv4 address it is (trusted ranges are written in IPv4).
    return str(getattr(address, "ipv4_mapped", None) or address)


#: The IPv6 network one subscriber holds: a home line or a server gets at least a /64.
IPV6_SUBSCRIBER_PREFIX = 64


def address_bucket_of(address: str | None) -> str | None:
    """Whom a per-address limit counts ``address`` as: an IPv4 address itself, an IPv6
    address its /64, since whoever holds one address of a /64 can send from all 2**64 of
    them (docs/security.md 32). (An IPv4-mapped address as its IPv4 address.)"""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(ip), IPV6_SUBSCRIBER_PREFIX), strict=False))


def from_request(request: HttpRequest) -> RequestContext:
    return RequestContext(
        correlation_id=new_correlation_id(),
        client_address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:_MAX_USER_AGENT],
    )


@contextmanager
def for_integration(integration: str, reported_address: str | None) -> Iterator[None]:
    """Within this block the request is an integration's call: ``integration`` counts only
    as itself and ``reported_address`` (None unless believed) is the person's address."""
    token = _current.set(
        replace(current(), integration=integration, reported_address=reported_address)
    )
    try:
        yield
    finally:
        _current.reset(token)


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
