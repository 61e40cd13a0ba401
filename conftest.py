"""Fixtures shared by every test: organisations and users built through the services."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

STRONG_PASSWORD = "correct horse battery staple"
AUTH_NUMBER = "+14255550134"
OFFICE_NUMBER = "+14255550199"


def at_once(attempt: Callable[[], bool], times: int = 10) -> list[bool]:
    """Run ``attempt`` in ``times`` threads released together; each returns success.

    For the row-lock tests (docs/security.md 7): one valid code submitted many times at once.
    """
    from django.db import connection

    barrier = threading.Barrier(times)
    results: list[bool] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(attempt())
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def side_by_side(*calls: Callable[[], object]) -> list[object]:
    """Run each call in its own thread (and database connection), released together;
    what each returned, in order. Any exception (a deadlock, say) fails the test."""
    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


class Rendezvous:
    """Holds two transactions, each at a chosen call, until both are there: the lock-order
    tests (methods/verification.py) make them meet with their first locks taken.

    Locks taken in inverted orders then deadlock (PostgreSQL aborts one). In the one
    order, the second waits for the first's lock and never arrives: the first waits
    ``patience`` seconds (longer than PostgreSQL's deadlock_timeout), then goes on alone.
    """

    def __init__(self, patience: float = 1.5) -> None:
        self._barrier = threading.Barrier(2)
        self._patience = patience

    def meet(self) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # the other is held back
            self._barrier.wait(timeout=self._patience)

    def before(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        """Meet just before ``owner.name`` runs."""
        original = getattr(owner, name)

        def held(*args: object, **kwargs: object) -> object:
            self.meet()
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, held)

    def after(self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
        """Meet just after ``owner.name`` has run."""
        original = getattr(owner, name)

        def held(*args: object, **kwargs: object) -> object:
            result = original(*args, **kwargs)
            self.meet()
            return result

        monkeypatch.setattr(owner, name, held)


PACKAGE = Path(__file__).resolve().parent / "twofold"


def _compile_catalogues() -> None:
    """Build the .mo files from the .po sources (they are not committed) when missing or
    older than their source, with Django's compilemessages run in the package folder."""
    sources = list(PACKAGE.glob("locale/*/LC_MESSAGES/*.po"))
    stale = [
        po
        for po in sources
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        from twofold.config import CONFIG

        subprocess.run(
            [sys.executable, "-m", "django", "compilemessages", "--verbosity", "0"],
            cwd=PACKAGE,
            # The settings generate keys into the data folder when it has none: the test
            # run's folder, never the package's own (where they would be committed).
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "twofold.settings",
                "TWOFOLD_DATA_DIR": str(CONFIG.data_dir),
            },
            check=True,
        )


#: Argon2id at the lowest cost the configuration accepts (time 1, 8 MiB, one lane). The tests
#: count hashes where cost matters (docs/security.md 21), never time them; the production
#: default (time 2, 19 MiB) is pinned by core/tests/test_config.py. At that default, hashing
#: was a quarter of the suite's CPU.
TEST_ARGON2 = (1, 8192, 1)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # once, in the controller, before any worker
        _compile_catalogues()
    settings.TWOFOLD["argon2"] = TEST_ARGON2
    # The same for the twofold processes tests start (those that pass their environment on).
    os.environ.setdefault("TWOFOLD_ARGON2_TIME_COST", str(TEST_ARGON2[0]))
    os.environ.setdefault("TWOFOLD_ARGON2_MEMORY_KIB", str(TEST_ARGON2[1]))
    os.environ.setdefault("TWOFOLD_ARGON2_PARALLELISM", str(TEST_ARGON2[2]))
    # Each xdist worker gets its own Redis database, so clearing it between tests never
    # wipes another worker's counters.
    cache_settings = settings.CACHES["default"]
    if "redis" in cache_settings["BACKEND"]:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        index = 1 + int(worker.removeprefix("gw") or 0)
        base = cache_settings["LOCATION"].rsplit("/", 1)[0]
        cache_settings["LOCATION"] = f"{base}/{index}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives Chromium is a browser test (scripts/test.sh runs those once, on
    PostgreSQL + Redis), whether or not its module says so."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


def someone_waits_for_a_lock() -> bool:
    """Whether a connection to the test database waits for a lock (PostgreSQL only): how a
    test knows that another thread has reached a row it holds."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> None:
    """The test databases, made by migrating; then no content types or permissions again.

    After each transactional test (every live-server test) Django empties the database and
    runs the post-migrate handlers again, which re-create every content type and
    permission: nothing of twofold uses either, and on PostgreSQL it was about 40 % of each
    of those 1,500 clean-ups (0.4 s of 1.1 s).
    """
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes
    from django.db.models.signals import post_migrate

    post_migrate.disconnect(
        create_permissions, dispatch_uid="django.contrib.auth.management.create_permissions"
    )
    post_migrate.disconnect(create_contenttypes)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Rate-limit counters from one test never leak into the next."""
    cache.clear()


@pytest.fixture(autouse=True)
def _english_between_tests() -> Iterator[None]:
    """A request in another language leaves it active in its thread: reset it after each
    test, so that the next one starts in the default language (English)."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture
def organisation(db):
    from twofold.organisations.services import create_organisation

    return create_organisation("Contoso", ["contoso.example"], slug="contoso")


@pytest.fixture
def other_organisation(db):
    from twofold.organisations.services import create_organisation

    return create_organisation("Fabrikam", ["fabrikam.example"], slug="fabrikam")


@pytest.fixture
def make_user(organisation) -> Callable[..., object]:
    from twofold.accounts.services import create_user

    def make(username: str = "alice@contoso.example", password: str = STRONG_PASSWORD, **fields):
        org = fields.pop("organisation", organisation)
        return create_user(org, username, password, **fields)

    return make


@pytest.fixture
def user(make_user):
    return make_user(display_name="Alice Example")


@pytest.fixture
def outbox():
    """The outbox gateway's messages: the demo's (and the tests') phone."""
    import re

    from twofold.delivery.models import OutboxKind, OutboxMessage

    class Outbox:
        def texts(self) -> list[OutboxMessage]:
            return list(OutboxMessage.objects.filter(kind=OutboxKind.TEXT).order_by("-id"))

        def calls(self) -> list[OutboxMessage]:
            return list(OutboxMessage.objects.filter(kind=OutboxKind.CALL).order_by("-id"))

        def last_code(self) -> str:
            return re.search(r"\b(\d{6})\b", self.texts()[0].body).group(1)

        def wrong_code(self) -> str:
            """A six-digit code that is not the last one sent."""
            return "000000" if self.last_code() != "000000" else "111111"

    return Outbox()


def after_first_method(location: str) -> str:
    """Where a first-time registration goes once the recovery codes it offers next
    (methods/recovery: ``after_first_method``) are made or passed: asserts the offer."""
    from urllib.parse import parse_qs, urlsplit

    offer = urlsplit(location)
    assert offer.path == "/account/security-verification/recovery-codes/new", location
    return parse_qs(offer.query)["next"][0]
