"""Prometheus metrics: what a person on call needs, counted at the few central places.

Counters move in three places only: ``observe_event`` (called by ``audit.record``, the one
path every security event takes: sign-ins, checks, challenges, texts and calls, lockouts,
fraud reports, rate-limit refusals), ``timed_check`` (the one verification path's
latency) and ``dependency_error`` (``core.dependencies.report``, where every outage that
answers 503 is told). Gauges (challenges by state, queued notices) are read from the
database when /metrics is scraped, by collectors their owners hand over (``add_scraped``:
``methods/gauges.py``).

Labels are closed lists (an audit action, a result, a method key, a purpose, a channel, a
gateway name): never a user name, an organisation, an address or a number.

Several gunicorn workers: ``twofold serve`` sets PROMETHEUS_MULTIPROC_DIR (a folder of its
own in the data folder, emptied at start) before the workers import this module, so each
worker writes its counters to memory-mapped files and any worker's /metrics adds them
all up; gunicorn's ``child_exit`` hook (``core.gunicorn_hooks``) marks a dead worker's
live gauges gone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

NAMESPACE = "twofold"

SIGNINS = Counter(
    "twofold_signins",
    "Sign-in steps (password, completed) by result and channel.",
    ["step", "result", "channel"],
)
CHECKS = Counter(
    "twofold_second_factor_checks",
    "Second-factor checks by result, method, purpose and channel.",
    ["result", "method", "purpose", "channel"],
)
CHALLENGES_STARTED = Counter(
    "twofold_challenges_started",
    "Challenges started (or refused to start) by result, method, purpose and channel.",
    ["result", "method", "purpose", "channel"],
)
DELIVERIES = Counter(
    "twofold_deliveries",
    "Texts and calls by kind, gateway and outcome (sent, refused, failed, undelivered).",
    ["kind", "gateway", "outcome"],
)
LOCKOUTS = Counter("twofold_lockouts", "Second factors locked after failed attempts.")
FRAUD_REPORTS = Counter("twofold_fraud_reports", "Verifications reported as fraud.")
RATE_LIMITED = Counter(
    "twofold_rate_limited",
    "Requests refused by a rate limit, a cap or a lockout, by the audit action refused.",
    ["action"],
)
AUDIT_EVENTS = Counter(
    "twofold_audit_events", "Every audit event, by action and result.", ["action", "result"]
)
DEPENDENCY_ERRORS = Counter(
    "twofold_dependency_errors",
    "Requests answered 503 because the database or the cache did not answer.",
    ["dependency"],
)
CHECK_SECONDS = Histogram(
    "twofold_second_factor_check_seconds",
    "Time to check a typed second factor (code), by method.",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# What a delivery's audit result means for the gateway's outcome.
_DELIVERY_OUTCOMES = {"success": "sent", "denied": "refused", "failure": "failed"}
_KNOWN_METHODS = frozenset(
    {"text", "call", "app_code", "app_notification", "hardware_token", "app_password"}
)
_KNOWN_PURPOSES = frozenset({"signin", "step_up", "verify_number", "api"})
_KNOWN_GATEWAYS = frozenset({"outbox", "twilio"})


def _bounded(value: Any, known: frozenset[str]) -> str:
    """``value`` if it is one of ``known``, else "other": a label never grows unbounded."""
    return value if isinstance(value, str) and value in known else "other"


def method_label(option_key: Any) -> str:
    """The method of an option key ("text:authentication" -> "text"), from a closed list."""
    head = option_key.split(":", 1)[0] if isinstance(option_key, str) else ""
    return _bounded(head, _KNOWN_METHODS)


#: The integration key a RADIUS client's requests carry (radius/models.py): "radius-client:7".
_RADIUS_INTEGRATION = "radius-client:"


def channel(action: str, details: dict[str, Any]) -> str:
    """Where the event came from: "radius" (a RADIUS client's Access-Request), "api" (an
    integration's call), "oidc" (a sign-in for an OpenID Connect application) or "pages"
    (twofold's own pages)."""
    from twofold.core import context

    integration = context.current().integration
    if integration.startswith(_RADIUS_INTEGRATION):
        return "radius"
    if integration or action == "api.call":
        return "api"
    if details.get("via") == "application" or context.application():
        return "oidc"
    return "pages"


def observe_event(action: str, result: str, details: dict[str, Any]) -> None:
    """Move the counters an audit event stands for (``audit.record`` calls this)."""
    action, result = str(action), str(result)
    AUDIT_EVENTS.labels(action, result).inc()
    if action in ("signin.password", "signin.completed"):
        SIGNINS.labels(action.split(".")[1], result, channel(action, details)).inc()
    elif action in ("challenge.verified", "challenge.started"):
        counter = CHECKS if action == "challenge.verified" else CHALLENGES_STARTED
        purpose = _bounded(details.get("via"), _KNOWN_PURPOSES)
        method = method_label(details.get("method"))
        counter.labels(result, method, purpose, channel(action, details)).inc()
    elif action in ("delivery.text", "delivery.call"):
        gateway = _bounded(details.get("via"), _KNOWN_GATEWAYS)
        outcome = _DELIVERY_OUTCOMES.get(result, "failed")
        DELIVERIES.labels(action.split(".")[1], gateway, outcome).inc()
    elif action == "challenge.undelivered":
        kind = method_label(details.get("method"))
        DELIVERIES.labels(kind if kind in ("text", "call") else "other", "any", "undelivered").inc()
    elif action == "mfa.locked":
        LOCKOUTS.inc()
    elif action == "fraud.reported":
        FRAUD_REPORTS.inc()
    if result == "denied" and action in _LIMIT_ACTIONS:
        RATE_LIMITED.labels(action).inc()


# Actions whose "denied" result is a limit, a cap or a lockout refusing the request.
_LIMIT_ACTIONS = frozenset(
    {
        "signin.rate_limited",
        "challenge.started",
        "challenge.verified",
        "delivery.text",
        "delivery.call",
        "mfa.locked",
    }
)


class CheckTiming:
    """The option a timed check turned out to be for (known once its challenge is read)."""

    option: str = ""


@contextmanager
def timed_check() -> Iterator[CheckTiming]:
    """Observe how long the block (one check of a typed second factor) took; a check of
    a challenge that was not found (no option known) is not observed."""
    timing = CheckTiming()
    started = time.perf_counter()
    yield timing
    if timing.option:
        CHECK_SECONDS.labels(method_label(timing.option)).observe(time.perf_counter() - started)


#: What ``dependency_error`` counts by name: the encryption keys are a dependency too (a
#: stored secret none of them opens), and a directory (LDAP) that does not answer.
_DEPENDENCIES = frozenset({"database", "cache", "directory", "encryption_keys"})


def dependency_error(dependency: str) -> None:
    """A request was answered 503 because ``dependency`` ("database", "cache") was down."""
    DEPENDENCY_ERRORS.labels(_bounded(dependency, _DEPENDENCIES)).inc()


#: Collectors read at each scrape (the database's gauges), added by the package that owns
#: their data (``methods.apps``): this module imports nothing above ``core``.
_SCRAPED: list[Any] = []


def add_scraped(collector: Any) -> None:
    """Have ``collector`` (an object with ``collect()``) read at every scrape of /metrics."""
    if all(type(known) is not type(collector) for known in _SCRAPED):
        _SCRAPED.append(collector)


def registry() -> CollectorRegistry:
    """What /metrics exposes: every worker's counters (multiprocess mode) or this
    process's, and the gauges read from the database."""
    from prometheus_client import REGISTRY, multiprocess

    from twofold.config import metrics_folder

    scraped = CollectorRegistry(auto_describe=False)
    if metrics_folder():
        multiprocess.MultiProcessCollector(scraped)
    else:
        scraped.register(_Default(REGISTRY))
    for collector in _SCRAPED:
        scraped.register(collector)
    return scraped


class _Default:
    """The process's own registry, as a collector of another registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        return self.source.collect()


def access(authorization: str, address: str | None) -> int:
    """Who may read /metrics (docs/security.md: never public by default).

    404 while neither TWOFOLD_METRICS_TOKEN nor TWOFOLD_METRICS_ALLOWED is set (nothing to
    discover); 200 for a caller whose address is allowed or who sends the bearer token
    (compared in constant time); otherwise 401 when a token would be accepted, else 403.
    """
    import ipaddress

    from django.conf import settings

    from twofold.core.crypto import constant_time_equals

    token = settings.TWOFOLD["metrics_token"]
    allowed = settings.TWOFOLD["metrics_allowed"]
    if not token and not allowed:
        return 404
    if address and allowed:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            ip = None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped  # "::ffff:10.0.0.7" is 10.0.0.7
        if ip is not None and any(ip in ipaddress.ip_network(net) for net in allowed):
            return 200
    scheme, _space, sent = authorization.partition(" ")
    if token and scheme.lower() == "bearer" and constant_time_equals(sent.strip(), token):
        return 200
    return 401 if token else 403


def exposition(accept: str) -> tuple[bytes, str]:
    """The metrics in the text format the scraper asked for, and its content type."""
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder(accept)
    return encoder(registry()), content_type
