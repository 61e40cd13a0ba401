"""Attempt counters in the cache, shared by every server when the cache is Redis.

A counter's window opens at its first attempt and closes ``window`` seconds later
(the key expires), so "N attempts within the window" holds without clock-aligned
buckets that would let 2N through across a boundary. Keys are keyed digests of what
they count (user names, addresses): the cache never holds a user name in clear.

Per-address limits count the person's address (``AddressLimits``, see core/context):
an integration's own address counts only in its own ceiling (docs/security.md 32).
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.formats import date_format

from twofold.core import context
from twofold.core.crypto import keyed_digest


@dataclass(frozen=True)
class Limit:
    scope: str  # what is limited, e.g. "signin-user"
    limit: int  # attempts allowed per window
    window: int  # seconds

    def _key(self, subject: str) -> str:
        return f"rl:{self.scope}:{keyed_digest(subject, 'ratelimit')}"

    def retry_after(self, subject: str | None = None) -> int:
        """The seconds until ``subject``'s window closes (an upper bound without it, or
        when the window's end is not known)."""
        if subject is None:
            return self.window
        until = cache.get(self._key(subject) + ":until")
        if until is None:
            return self.window
        return max(1, min(self.window, int(until - time.time()) + 1))

    def count(self, subject: str) -> int:
        return int(cache.get(self._key(subject), 0))

    def exceeded(self, subject: str) -> bool:
        return self.count(subject) >= self.limit

    def hit(self, subject: str) -> int:
        """Count one attempt and return the total in this window (atomic on Redis)."""
        key = self._key(subject)
        if cache.add(key, 1, timeout=self.window):
            self._opened(key)
            return 1
        try:
            return cache.incr(key)  # keeps the key's expiry
        except ValueError:  # expired between add and incr
            if cache.add(key, 1, timeout=self.window):
                self._opened(key)
            return 1

    def _opened(self, key: str) -> None:
        """Note when a new window closes (once per window), so a refusal can say when."""
        cache.set(key + ":until", time.time() + self.window, timeout=self.window)

    def reset(self, subject: str) -> None:
        key = self._key(subject)
        cache.delete_many([key, key + ":until"])

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
        """The seconds until every exceeded bucket's window has closed."""
        return max(
            (
                limit.retry_after(subject)
                for limit, subject in self.buckets
                if limit.exceeded(subject)
            ),
            default=0,
        )

    def hit(self) -> None:
        for limit, subject in self.buckets:
            limit.hit(subject)

    def forgive(self) -> None:
        for limit, subject in self.buckets:
            limit.forgive(subject)


def resume_time(seconds: int) -> str:
    """When a wait of ``seconds`` ends, as the reader's clock shows it ("14:05 CET")."""
    return date_format(timezone.localtime(timezone.now() + timedelta(seconds=seconds)), "H:i T")
