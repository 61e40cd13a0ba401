"""Sessions in the database, read through the cache, that never act on a stale cached copy.

Django's ``cached_db`` store logs and swallows a failed cache write after saving to the
database, and deletes from the cache after the database: when Redis fails halfway, the
cache keeps the old session (one signed out, or not yet stepped up), and serves it again
once Redis is back. Here the cached copy is dropped before the database changes, and a
cache error is never swallowed: the request fails with 503 (docs/security.md 35) and the
session stays as it was. Only a read falls back to the database, which holds every session.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore

from twofold.core.dependencies import CACHE_ERRORS


class SessionStore(CachedDBStore):
    def load(self) -> dict[str, Any]:
        try:
            data = self._cache.get(self.cache_key)
        except CACHE_ERRORS:
            stored = self._get_session_from_db()  # the source of truth; the cache is left alone
            return self.decode(stored.session_data) if stored else {}
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        return data

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()  # which picks a key and comes back here
        self._cache.delete(self.cache_key)
        super(CachedDBStore, self).save(must_create)  # the database's save
        self._cache.set(self.cache_key, self._session, self.get_expiry_age())

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._cache.delete(self.cache_key_prefix + session_key)
        super(CachedDBStore, self).delete(session_key)
