"""Telling a dependency that is down (the database, the cache) from a bug.

A cache that does not answer raises the redis client's connection or timeout errors; a
database that does not answer raises Django's OperationalError or InterfaceError. Pages
(``web.views.server_error``) and the REST API (``api.errors``) both ask ``unavailable``
what an exception means, and answer 503 with Retry-After instead of 500. Nothing catches
these errors to carry on: a rate limit or lockout whose counter cannot be read refuses the
request (docs/security.md 35). ``readiness`` is /readyz's check of both, and of the
encryption keys, which must open the secrets stored in the database.
"""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.db.utils import DatabaseError, InterfaceError, OperationalError
from redis.exceptions import ConnectionError as CacheConnectionError
from redis.exceptions import OutOfMemoryError as CacheFullError
from redis.exceptions import ReadOnlyError as CacheReadOnlyError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as CacheTimeoutError

from twofold.core import crypto, metrics
from twofold.core.errors import DependencyUnavailable
from twofold.core.fields import encrypted_fields

log = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
# Down, frozen, still loading (a ConnectionError), refusing writes (full, or a replica).
CACHE_ERRORS = (CacheConnectionError, CacheTimeoutError, CacheFullError, CacheReadOnlyError)
ERRORS = DATABASE_ERRORS + CACHE_ERRORS


def unavailable(exc: BaseException | None) -> DependencyUnavailable | None:
    """The ``DependencyUnavailable`` that ``exc`` (or an error it was raised from) means."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DependencyUnavailable):
            return exc
        if isinstance(exc, CACHE_ERRORS):
            return DependencyUnavailable(dependency="cache")
        if isinstance(exc, DATABASE_ERRORS):
            return DependencyUnavailable(dependency="database")
        exc = exc.__cause__ or exc.__context__
    return None


def report(down: DependencyUnavailable, exc: BaseException | None, route: str | None) -> None:
    """One warning line for the operator: which dependency, the error's class and text
    (connection errors name a host and port, never a password or a request's data);
    and one more for the metrics' count of dependency errors."""
    metrics.dependency_error(down.dependency)
    log.warning(
        "dependency unavailable",
        extra={
            "dependency": down.dependency,
            "error": f"{type(exc).__name__}: {exc}" if exc is not None else "",
            "route": route,
        },
    )


def report_request(request, down: DependencyUnavailable, exc: BaseException | None) -> None:
    """``report`` for a web request, named by its route (the URL pattern: never the raw
    path, which may hold a token)."""
    match = getattr(request, "resolver_match", None)
    report(down, exc, match.route if match else None)


# Readiness is stricter than ``unavailable``: any error of the database or of Redis
# means this server should not be sent people.
def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False
    return True


def _cache_answers() -> bool:
    """A set and a get of a short-lived key of its own: a cache that lost it is not ready."""
    key, value = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache.set(key, value, timeout=10)
        answered = cache.get(key) == value
        cache.delete(key)
    except RedisError:
        return False
    return answered


def _keys_open_stored_secrets() -> bool:
    """The configured encryption keys open the newest secret of every encrypted column: a
    server given another installation's keys is not ready (every code would fail on it).
    One row per column, whatever the table's size. An older row only a retired key opens
    (``twofold rotate-keys`` lists them) fails its own user's checks with 503, but does
    not take every server out of the load balancer."""
    for column in encrypted_fields():
        stored = column.model.objects.exclude(**{column.name: ""}).values_list(column.name)
        newest = stored.order_by("-pk").first()
        if newest is None:
            continue  # nothing stored in this column yet
        try:
            crypto.decrypt(newest[0])
        except crypto.DecryptionError:
            return False
    return True


def readiness() -> dict[str, str]:
    """Each dependency's state for /readyz: "ok" or "down" (the keys: "unknown" while the
    database, which holds what they must open, does not answer)."""
    database = _database_answers()
    keys = "unknown"
    if database:
        try:
            keys = "ok" if _keys_open_stored_secrets() else "down"
        except DatabaseError:
            database = False
    return {
        "database": "ok" if database else "down",
        "cache": "ok" if _cache_answers() else "down",
        "encryption_keys": keys,
    }
