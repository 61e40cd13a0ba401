"""Attempt counters in the cache, shared by every server when the cache is Redis.

A counter's window opens at its first attempt and closes ``window`` seconds later
(the key expires), so "N attempts within the window" holds without clock-aligned
buckets that would let 2N through across a boundary. Keys are keyed digests of what
they count (user names, addresses): the cache never holds a user name in clear.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from django.utils.formats import date_format

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


def resume_time(seconds: int) -> str:
    """When a wait of ``seconds`` ends, as the reader's clock shows it ("14:05 CET")."""
    return date_format(timezone.localtime(timezone.now() + timedelta(seconds=seconds)), "H:i T")
