"""Attempt counters in the cache, shared by every server when the cache is Redis.

A counter's window opens at its first attempt and closes ``window`` seconds later
(the key expires), so "N attempts within the window" holds without clock-aligned
buckets that would let 2N through across a boundary. Keys are keyed digests of what
they count (user names, addresses): the cache never holds a user name in clear.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

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
