"""Profile N browser sign-ins in one process (issue 20): cProfile, no server, no load tool.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:<port>/0 \
        .venv/bin/python -m bench.signin_profile [N]

Migrates the database and seeds benchmark users (bench/seed.py), then signs each in once
through Django's test client in this process, with CSRF checked, each step as
bench/signin_load.py takes it: GET /signin, POST the user name, GET and POST the password
page, GET the verification page (which opens the app-code challenge), POST the code. 20
to warm up, 20 with their SQL captured (statements and session writes of each request,
and the Redis commands of a sign-in when REDIS_URL names a Redis of this run's own), N
timed, and N under cProfile (CPU time). Prints the figures of each step, the CPU of a sign-in beside
one Argon2id hash's, and where the profile's time goes. Run it as a module (see
bench/code_profile.py). A figure from a busy machine is an upper bound.
"""

from __future__ import annotations

import cProfile
import io
import logging
import os
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twofold.settings")
# Every sign-in comes from one address: its limit would be measured (as in bench/harness.py).
os.environ.setdefault("TWOFOLD_SIGNIN_ATTEMPTS_PER_ADDRESS", "100000")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import seed  # noqa: E402
from bench.code_profile import shares  # noqa: E402

logging.disable(logging.INFO)  # one request log line per request would drown the figures

WARM, CAPTURED = 20, 20
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_SESSION_WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM) "django_session"', re.I)
#: The six requests of one sign-in: (label, path, the field posted, where the POST leads).
STEPS = (
    ("GET /signin", "/signin", None, None),
    ("POST /signin", "/signin", "username", "/signin/password"),
    ("GET /signin/password", "/signin/password", None, None),
    ("POST /signin/password", "/signin/password", "password", "/signin/verify"),
    ("GET /signin/verify", "/signin/verify", None, None),
    ("POST /signin/verify", "/signin/verify", "code", "/account"),
)
#: Where the time goes: (label, the end of the function's file name, the function's name).
SHARES = (
    ("the Argon2id hash (argon2 verify_secret)", "argon2/low_level.py", "verify_secret"),
    ("rendering templates (render_to_string)", "django/template/loader.py", "render_to_string"),
    ("compiling SQL (SQLCompiler.as_sql)", "django/db/models/sql/compiler.py", "as_sql"),
    ("executing SQL (CursorWrapper.execute)", "django/db/backends/utils.py", "execute"),
    ("saving the session (SessionStore.save)", "twofold/core/sessions.py", "save"),
    ("loading the session (SessionStore.load)", "twofold/core/sessions.py", "load"),
    ("the audit chain (chain.append)", "audit/chain.py", "append"),
    ("the verification (verification._check)", "methods/verification.py", "_check"),
    ("the options (base.options_for)", "methods/base.py", "options_for"),
)


def _field(step: str, index: int) -> str:
    return {
        "username": seed.username(index),
        "password": seed.PASSWORD,
        "code": seed.code(index),
    }[step]


def sign_in(index: int, each=None) -> None:
    """One sign-in of user ``index``; ``each(label, call)`` wraps every request."""
    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    page = ""
    for label, path, name, lands in STEPS:
        if name is None:
            call = lambda path=path: client.get(path)  # noqa: E731
        else:
            token = _CSRF.search(page)
            form = {"csrfmiddlewaretoken": token.group(1) if token else ""}
            form[name] = _field(name, index)
            call = lambda path=path, form=form: client.post(path, form)  # noqa: E731
        response = each(label, call) if each else call()
        if name is None:
            assert response.status_code == 200, (label, response.status_code)
            page = response.content.decode()
        else:
            location = response.get("Location", "")
            assert response.status_code == 302, (label, response.status_code)
            assert location.startswith(lands), (label, location)


def _redis_commands() -> dict[str, int]:
    """Calls of each Redis command so far (INFO commandstats), or {} without Redis."""
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        return {}
    client = cache._cache.get_client()
    return {
        name.removeprefix("cmdstat_"): values["calls"]
        for name, values in client.info("commandstats").items()
    }


def capture(indexes: range) -> None:
    """Statements and session writes of each request, the Redis commands of a sign-in."""
    found: dict[str, list[tuple[int, int]]] = {label: [] for label, *_rest in STEPS}
    last: dict[str, list[str]] = {}

    def each(label, call):
        with CaptureQueriesContext(connection) as captured:
            response = call()
        sql = [q["sql"] for q in captured.captured_queries]
        sql = [s for s in sql if s.upper() not in ("BEGIN", "COMMIT")]
        found[label].append((len(sql), sum(bool(_SESSION_WRITE.match(s)) for s in sql)))
        last[label] = sql
        return response

    before = _redis_commands()
    for index in indexes:
        sign_in(index, each)
    after = _redis_commands()
    print("per request (statements without BEGIN/COMMIT, of which session writes):")
    total_sql = total_writes = 0
    for label, rows in found.items():
        sql, writes = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
        total_sql, total_writes = total_sql + sql, total_writes + writes
        print(f"  {label:24} {sql:4.0f} statements, {writes:.0f} session writes")
    whole = f"{total_sql:4.0f} statements, {total_writes:.0f} session writes"
    print(f"  {'a whole sign-in':24} {whole}")
    if after:
        used = {name: after[name] - before.get(name, 0) for name in after}
        shown = ", ".join(
            f"{name} {count / len(indexes):.1f}"
            for name, count in sorted(used.items(), key=lambda item: -item[1])
            if count and name not in ("info",)
        )
        print(f"Redis commands per sign-in: {shown}")
    for label, sql in last.items():
        print(f"{label}:")
        for number, statement in enumerate(sql, 1):
            print(f"  {number:2}. {statement[:150]}")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    call_command("migrate", verbosity=0)
    first = int(os.environ.get("BENCH_FIRST_USER", "0"))  # a used time step is refused
    needed = first + WARM + CAPTURED + 2 * count
    seed.seed_users(needed, log=lambda *_: None)
    cache.clear()
    users = iter(range(first, needed))
    for _ in range(WARM):
        sign_in(next(users))
    capture(range(first + WARM, first + WARM + CAPTURED))
    for _ in range(CAPTURED):
        next(users)
    hashes = []
    for _ in range(9):
        started = time.process_time()
        make_password(seed.PASSWORD)
        hashes.append(time.process_time() - started)
    hash_ms = 1000 * statistics.median(hashes)
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        sign_in(next(users))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    per = 1000 * cpu / count
    print(
        f"{count} sign-ins: {1000 * wall / count:.1f} ms wall, {per:.1f} ms CPU each; "
        f"one Argon2id hash {hash_ms:.1f} ms CPU, so {per - hash_ms:.1f} ms besides the hash "
        f"(the hash is {100 * hash_ms / per:.0f} % of a sign-in)"
    )
    profile = cProfile.Profile(time.process_time)  # CPU: not the waits on PostgreSQL
    profile.enable()
    for _ in range(count):
        sign_in(next(users))
    profile.disable()
    dump = Path(__file__).resolve().parents[1] / ".bench" / "signin_profile.prof"
    dump.parent.mkdir(exist_ok=True)
    profile.dump_stats(dump)  # for pstats (print_callees) or snakeviz
    stats = pstats.Stats(profile)
    print(f"share of the profile (cumulative; the whole profile is in {dump}):")
    print("\n".join(shares(stats, stats.total_tt, SHARES)))
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(20)
    print(out.getvalue()[-4200:])
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(60)
    print(out.getvalue()[-9000:])


if __name__ == "__main__":
    main()
