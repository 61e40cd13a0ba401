"""Attempt counters in the cache, shared by every server when the cache is Redis.

A counter's window opens at its first attempt and closes ``window`` seconds later
(the key expires), so "N attempts within the window" holds without clock-aligned
buckets that would let 2N through across a boundary. Keys are keyed digests of what
they count (user names, addresses): the cache never holds a user name in clear.

Per-address limits count the person's address (``AddressLimits``, see core/context):
an integration's own address counts only in its own ceiling (docs/security.md 32).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from twofold.core import context
from twofold.core.crypto import keyed_digest


@dataclass(frozen=True)
class Limit:
    scope: str  # what is limited, e.g. "signin-user"
    limit: int  # attempts allowed per window
    window: int  # seconds

    def _key(self, subject: str) -> str:
        return f"rl:{self.scope}:{keyed_digest(subject, 'ratelimit')}"

    def retry_after(self) -> int:
        """An upper bound on the seconds until the window closes."""
        return self.window

    def count(self, subject: str) -> int:
        return int(cache.get(self._key(subject), 0))

    def exceeded(self, subject: str) -> bool:
        return self.count(subject) >= self.limit

    def hit(self, subject: str) -> int:
        """Count one attempt and return the total in this window (atomic on Redis)."""
        key = self._key(subject)
        if cache.add(key, 1, timeout=self.window):
            return 1
        try:
            return cache.incr(key)  # keeps the key's expiry
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=self.window)
            return 1

    def reset(self, subject: str) -> None:
        cache.delete(self._key(subject))

    def forgive(self, subject: str) -> None:
        """Take back one attempt counted in advance that turned out right."""
        # A window that closed meanwhile has nothing left to take back.
        with suppress(ValueError):
            cache.decr(self._key(subject))


def integration_ceiling() -> Limit:
    """Failures through one integration (API client), across all its users: its own bucket,
    so that its own address never fills a person's (docs/security.md 32)."""
    options = settings.TWOFOLD
    return Limit(
        "integration-failures",
        options["failures_per_api_client"],
        options["signin_window_seconds"],
    )


@dataclass(frozen=True)
class AddressLimits:
    """The buckets an attempt of the current request counts in besides its user's: the
    person's address under a per-address limit (when the person's address is known), and,
    for an integration's call, the integration's own ceiling."""

    buckets: tuple[tuple[Limit, str], ...]

    @classmethod
    def current(cls, per_address: Limit) -> AddressLimits:
        request = context.current()
        buckets = []
        subject = request.address_bucket()
        if subject is not None:
            buckets.append((per_address, subject))
        if request.integration:
            buckets.append((integration_ceiling(), request.integration))
        return cls(tuple(buckets))

    def exceeded(self) -> bool:
        return any(limit.exceeded(subject) for limit, subject in self.buckets)

    def retry_after(self) -> int:
        return max((limit.retry_after() for limit, _subject in self.buckets), default=0)

    def hit(self) -> None:
        for limit, subject in self.buckets:
            limit.hit(subject)

    def forgive(self) -> None:
        for limit, subject in self.buckets:
            limit.forgive(subject)
