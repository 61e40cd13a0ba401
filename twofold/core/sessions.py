"""Sessions in the database, read through the cache, that never act on a stale cached copy.

Django's ``cached_db`` store logs and swallows a failed cache write after saving to the
database, and deletes from the cache after the database: when Redis fails halfway, the
cache keeps the old session (one signed out, or not yet stepped up), and serves it again
once Redis is back. Here the cached copy is replaced by a mark before the database
changes, and a cache error is never swallowed: the request fails with 503
(docs/security.md 35) and the session stays as it was. Only a read falls back to the
database, which holds every session. Nor does a request that read a session just before
it changed put its old copy back (``SessionStore``).

Both stores (this one with Redis, ``DatabaseStore`` without) write a session's row only
as often as a sign-in needs (docs/design.md, "Sessions"): a new key is drawn without
asking whether it is taken (the INSERT refuses a key in use, and another is drawn), a key
cycled at sign-in is written once, by the response's save, and a row is deleted by one
statement.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.utils.crypto import get_random_string

from twofold.core.dependencies import CACHE_ERRORS


class FewerWrites:
    """What both stores share: the ways in which they write less than Django's."""

    def _get_new_session_key(self) -> str:
        # No look-up first: only create() draws a key, and its INSERT (must_create) refuses
        # one in use with CreateError, upon which create() draws another.
        return get_random_string(32, VALID_KEY_CHARS)

    def cycle_key(self) -> None:
        """A new key for the same data (at sign-in), the old one deleted at once.

        Django's inserts the new row here and updates it again at the response's save;
        here the response's save (the session is modified) draws the key and inserts the
        row once, with its final data. Until then the session has no key.
        """
        data = self._session
        key = self.session_key
        self._session_key = None
        self._session_cache = data
        self.modified = True
        if key:
            self.delete(key)

    def _delete_row(self, session_key: str) -> None:
        # One DELETE; Django's reads the row first to delete it.
        self.model.objects.filter(session_key=session_key).delete()


class DatabaseStore(FewerWrites, DBStore):
    """Sessions in the database only: where there is no Redis (a per-process cache must
    never hold sessions)."""

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._delete_row(session_key)


#: What the cache holds for a session while its row changes, and after its row is deleted:
#: "read the database, and keep no copy". A session's data is a dict, never this string.
_CHANGING = "twofold:changing"
#: Longer than any request lives (the proxy gives up after 60 seconds): a request that
#: read the row before it changed never finds the key free to put its copy back.
_CHANGING_SECONDS = 10 * 60


class SessionStore(FewerWrites, CachedDBStore):
    """Read through the cache; a copy is put back only where the cache holds nothing.

    A request that read the row just before another changed or deleted it must not put
    its copy in the cache afterwards: a session signed out would open again from the
    cache, a step-up would be forgotten. So a change first marks the key (``_CHANGING``),
    a deletion leaves the mark, and a copy read from the database is added only if the
    key is still empty (Redis's SET NX): never over a mark or a newer copy.
    """

    def load(self) -> dict[str, Any]:
        try:
            cached = self._cache.get(self.cache_key)
        except CACHE_ERRORS:
            stored = self._get_session_from_db()  # the source of truth; the cache is left alone
            return self.decode(stored.session_data) if stored else {}
        if isinstance(cached, dict):
            return cached
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        if cached is None:  # not while marked: the row is changing, or gone
            self._cache.add(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        return data

    def exists(self, session_key: str | None) -> bool:
        # The database's answer: a marked key (a deleted session) is in the cache too.
        return DBStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()  # which picks a key and comes back here
        if not must_create:  # a key drawn a moment ago was never cached
            self._cache.set(self.cache_key, _CHANGING, _CHANGING_SECONDS)
        super(CachedDBStore, self).save(must_create)  # the database's save
        self._cache.set(self.cache_key, self._session, self.get_expiry_age())

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._cache.set(self.cache_key_prefix + session_key, _CHANGING, _CHANGING_SECONDS)
        self._delete_row(session_key)
