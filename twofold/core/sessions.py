"""Sessions in the database, read through the cache, that never act on a stale cached copy.

Django's ``cached_db`` store logs and swallows a failed cache write after saving to the
database, and deletes from the cache after the database: when Redis fails halfway, the
cache keeps the old session (one signed out, or not yet stepped up), and serves it again
once Redis is back. Here the row and the cache change in one transaction, and a cache
error is never swallowed: the request fails with 503 (docs/security.md 35) and the
session stays as it was. Only a read falls back to the database, which holds every
session. Nor does a request that read a session just before it changed put its old copy
back (``SessionStore``).

Both stores (this one with Redis, ``DatabaseStore`` without) write a session's row only
as often as a sign-in needs (docs/design.md, "Sessions"): a new key is drawn without
asking whether it is taken (the INSERT refuses a key in use, and another is drawn), a key
cycled at sign-in is written once, by the response's save, and a row is deleted by one
statement.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.db import DatabaseError, IntegrityError, transaction
from django.utils.crypto import get_random_string

from twofold.core.dependencies import CACHE_ERRORS, CacheFullError


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


#: What the cache holds for a session that is deleted, or whose last change may not have
#: been committed: "read the database, and put no copy back". A session's data is a dict.
_UNCACHED = "twofold:read-the-database"
#: Longer than any request lives (the proxy gives up after 60 seconds): a request that
#: read the row before it was deleted never finds the key free to put its copy back.
_UNCACHED_SECONDS = 10 * 60


class SessionStore(FewerWrites, CachedDBStore):
    """Read through the cache, and never serve a copy older than the row.

    - A change writes the row and then the cache in one transaction: the row stays
      locked until the commit, so another request's save or deletion of the session
      comes wholly before or wholly after, in the database and in the cache alike.
    - A deletion leaves a mark (``_UNCACHED``) in the cache, written over whatever copy a
      save that held the row had put there.
    - A copy read from the database is put in the cache only where the key is empty
      (Redis's SET NX): never over a mark or a newer copy. A request that read the row
      just before a sign-out cannot put the signed-in copy back.
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
        if cached is None:  # not over a mark: the session was deleted, or is being changed
            self._cache.add(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        return data

    def exists(self, session_key: str | None) -> bool:
        # The database's answer: a deleted session's key holds a mark in the cache.
        return DBStore.exists(self, session_key)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()  # which picks a key and comes back here
        key = self.cache_key
        # Inside a caller's transaction the commit is theirs: until then, no copy.
        committed_here = not transaction.get_connection().in_atomic_block
        try:
            with transaction.atomic():
                self._write_row(must_create)
                if committed_here:
                    self._cache.set(key, self._session, self.get_expiry_age())
                else:
                    self._cache.set(key, _UNCACHED, _UNCACHED_SECONDS)
        except CreateError:
            raise  # the key is another session's: nothing of ours reached the cache
        except BaseException:
            # The copy may be in the cache without its row (a commit that failed).
            with suppress(*CACHE_ERRORS):
                self._cache.set(key, _UNCACHED, _UNCACHED_SECONDS)
            raise

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        key = self.cache_key_prefix + session_key
        with transaction.atomic():
            self._delete_row(session_key)  # waits for a save that holds the row
            # Over the copy such a save put in the cache; a cache that fails undoes it.
            try:
                self._cache.set(key, _UNCACHED, _UNCACHED_SECONDS)
            except CacheFullError:
                # A full Redis takes no mark, but deletes, and takes no copy from a reader
                # either: signing out still works.
                self._cache.delete(key)

    def _write_row(self, must_create: bool) -> None:
        """Django's save of the row, in the caller's transaction (no savepoint of its own)."""
        row = self.create_model_instance(self._get_session(no_load=must_create))
        try:
            row.save(force_insert=must_create, force_update=not must_create)
        except IntegrityError:
            if must_create:
                raise CreateError from None  # the key is taken: create() draws another
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None  # the row is gone: deleted meanwhile
            raise
