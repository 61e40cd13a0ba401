"""The session stores write a session's row only as often as needed (twofold/core/sessions.py).

Both stores are checked, whichever engine the suite's settings chose: the one read
through the cache (Redis in production, the test cache here) and the database-only one.
Writes are counted as statements, not timed.
"""

from __future__ import annotations

import re
import threading

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import someone_waits_for_a_lock
from twofold.cli import _MANAGEMENT
from twofold.core.sessions import DatabaseStore, SessionStore

pytestmark = pytest.mark.django_db

STORES = [pytest.param(SessionStore, id="cached"), pytest.param(DatabaseStore, id="database")]
_WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM) "django_session"', re.I)


def _touching_sessions(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if '"django_session"' in q["sql"]]


def _saved(store_class, **data):
    store = store_class()
    store.update(data)
    store.save()
    return store


@pytest.mark.parametrize("store_class", STORES)
def test_a_cycled_key_is_written_once_by_the_save_that_follows(store_class) -> None:
    store = _saved(store_class, user="alice")
    store.cycle_key()
    store["signed_in"] = True
    with CaptureQueriesContext(connection) as captured:
        store.save()
    written = [sql for sql in _touching_sessions(captured) if _WRITE.match(sql)]
    assert [sql.split()[0] for sql in written] == ["INSERT"]


@pytest.mark.parametrize("store_class", STORES)
def test_a_cycled_key_keeps_the_data_under_a_new_key(store_class) -> None:
    store = _saved(store_class, user="alice")
    old = store.session_key
    store.cycle_key()
    store["signed_in"] = True
    store.save()
    assert store.session_key != old
    assert dict(store_class(store.session_key).load()) == {"user": "alice", "signed_in": True}


@pytest.mark.parametrize("store_class", STORES)
def test_the_old_key_opens_nothing_once_cycled(store_class) -> None:
    store = _saved(store_class, user="alice")
    old = store.session_key
    store_class(old).load()  # read once: the cached store now holds a copy
    store.cycle_key()
    store.save()
    assert (store_class(old).load(), Session.objects.filter(session_key=old).exists()) == (
        {},
        False,
    )


@pytest.mark.parametrize("store_class", STORES)
def test_a_new_key_is_drawn_without_a_look_up(store_class) -> None:
    with CaptureQueriesContext(connection) as captured:
        _saved(store_class, user="alice")
    statements = _touching_sessions(captured)
    assert [sql.split()[0] for sql in statements] == ["INSERT"], statements


@pytest.mark.parametrize("store_class", STORES)
def test_a_key_already_taken_is_never_overwritten(store_class) -> None:
    """The INSERT refuses a key in use, and another is drawn: no look-up needed first."""
    taken = _saved(store_class, user="alice").session_key

    class DrawsTheTakenKeyFirst(store_class):
        drawn = [taken]

        def _get_new_session_key(self) -> str:
            return self.drawn.pop() if self.drawn else super()._get_new_session_key()

    store = _saved(DrawsTheTakenKeyFirst, user="mallory")
    assert store.session_key != taken
    assert store_class(taken).load() == {"user": "alice"}


@pytest.mark.parametrize("store_class", STORES)
def test_a_session_is_deleted_by_one_statement(store_class) -> None:
    store = _saved(store_class, user="alice")
    with CaptureQueriesContext(connection) as captured:
        store.delete()
    statements = _touching_sessions(captured)
    assert [sql.split()[0] for sql in statements] == ["DELETE"], statements
    assert not Session.objects.filter(session_key=store.session_key).exists()


def _read_while(key: str, change) -> SessionStore:
    """The cached store of ``key``, whose read of the row is followed, before it goes on, by
    ``change``: another request's, answered in between. (An instance, not a subclass: a
    session's data is signed with its store's class name.)"""
    store = SessionStore(key)
    read = store._get_session_from_db

    def read_then_change():
        row = read()
        change(key)
        return row

    store._get_session_from_db = read_then_change
    return store


def _uncached(**data) -> str:
    """A saved session whose cached copy has gone (evicted, or never read): the next read
    goes to the database."""
    key = _saved(SessionStore, **data).session_key
    cache.delete(SessionStore.cache_key_prefix + key)
    return key


def test_a_session_signed_out_while_another_request_read_it_opens_nothing_afterwards() -> None:
    """That request's copy, read before the sign-out, must not go back into the cache: the
    stolen cookie of a session signed out would open it again."""
    key = _uncached(user="alice")
    reading = _read_while(key, lambda key: SessionStore(key).delete())
    assert reading.load() == {"user": "alice"}  # it had read the row: this request only
    assert SessionStore(key).load() == {}
    assert not Session.objects.filter(session_key=key).exists()


def test_a_session_changed_while_another_request_read_it_keeps_the_change() -> None:
    def step_up(key: str) -> None:
        other = SessionStore(key)
        other["stepped_up"] = True
        other.save()

    key = _uncached(user="alice")
    _read_while(key, step_up).load()
    assert SessionStore(key).load() == {"user": "alice", "stepped_up": True}


def test_a_copy_read_from_the_database_is_cached_for_the_next_request() -> None:
    key = _uncached(user="alice")
    assert SessionStore(key).load() == {"user": "alice"}
    with CaptureQueriesContext(connection) as captured:
        assert SessionStore(key).load() == {"user": "alice"}
    assert _touching_sessions(captured) == []


@pytest.mark.parametrize("store_class", STORES)
def test_twofold_clear_sessions_deletes_only_the_expired(store_class, settings) -> None:
    """``twofold clear-sessions`` (the hourly timer's): every visit to the sign-in page
    starts a session, and nothing else deletes those that were never finished."""
    engines = {SessionStore: "twofold.core.sessions", DatabaseStore: "twofold.core.db_sessions"}
    settings.SESSION_ENGINE = engines[store_class]
    expired = _saved(store_class, user="alice")
    expired.set_expiry(-60)
    expired.save()
    live = _saved(store_class, user="bob")
    call_command(_MANAGEMENT["clear-sessions"])  # what `twofold clear-sessions` runs
    kept = set(Session.objects.values_list("session_key", flat=True))
    assert (expired.session_key in kept, live.session_key in kept) == (False, True)


def _in_own_connection(work):
    """``work`` for a thread of its own: Django gives each thread its own connection."""

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    return run


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
def test_a_save_and_a_sign_out_at_once_leave_the_session_signed_out() -> None:
    """One request saves the session while another signs it out. The save's copy must not
    reach the cache after the sign-out's mark: the sign-out waits for the row the save
    holds until it has committed, its copy in the cache by then, and marks over it."""
    key = _saved(SessionStore, user="alice").session_key
    saving = SessionStore(key)
    saving["seen"] = 1
    written, go_on = threading.Event(), threading.Event()
    write = saving._write_row

    def write_then_wait(must_create: bool) -> None:
        write(must_create)
        written.set()
        go_on.wait(10)

    saving._write_row = write_then_wait
    saver = threading.Thread(target=_in_own_connection(saving.save))
    signer = threading.Thread(target=_in_own_connection(lambda: SessionStore(key).delete()))
    saver.start()
    try:
        assert written.wait(10)
        signer.start()
        for _ in range(100):  # the sign-out reaches the row and waits for it
            if someone_waits_for_a_lock():
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the sign-out did not wait for the row the save holds")
    finally:
        go_on.set()
        saver.join(10)
        signer.join(10)
    assert SessionStore(key).load() == {}
    assert not Session.objects.filter(session_key=key).exists()
