"""Profile N code-only checks in one process (issue 20): cProfile, no server, no load tool.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:<port>/0 \
        .venv/bin/python -m bench.code_profile [N]

Migrates the database, seeds N + 70 benchmark users (bench/seed.py) with an open app-code
challenge each, then answers each challenge once (challenge_id + code, as the harness's
"code only") through Django's test client in this process: 50 to warm up, 20 with their
SQL captured (statements per check), then N under cProfile. Prints the statements of one
check, the CPU per check and the share of the profile spent compiling SQL, executing it,
and in the audit chain. Run it as a module: bench/profile.py would hide the standard
library's profile module from a script in bench/. A figure from a busy machine is an
upper bound; use a fresh database per run (a used time step is refused).
"""

from __future__ import annotations

import cProfile
import io
import json
import logging
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twofold.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import seed  # noqa: E402

logging.disable(logging.INFO)  # one request log line per check would drown the figures

WARM, CAPTURED = 50, 20
#: Where the time goes: (label, the end of the function's file name, the function's name).
SHARES = (
    ("compiling SQL (SQLCompiler.as_sql)", "django/db/models/sql/compiler.py", "as_sql"),
    ("executing SQL (CursorWrapper.execute)", "django/db/backends/utils.py", "execute"),
    ("the audit chain (chain.append)", "audit/chain.py", "append"),
    ("the verification (verification._check)", "methods/verification.py", "_check"),
)


def check(client: Client, index: int, challenge: str) -> None:
    body = {"user": seed.username(index), "challenge_id": challenge, "code": seed.code(index)}
    answer = client.post("/api/v1/validate/check", json.dumps(body), "application/json")
    assert b'"accept"' in answer.content, answer.content


def shares(stats: pstats.Stats, total: float, wanted=SHARES) -> list[str]:
    """The cumulative share of ``total`` of each (label, file, function) in ``wanted``."""
    lines = []
    for label, where, name in wanted:
        # Each function of that name in the file (the select, insert and update
        # compilers' as_sql); cProfile's cumulative time counts a recursive call once.
        cumulative = sum(
            row[3]
            for (filename, _line, function), row in stats.stats.items()
            if filename.endswith(where) and function == name
        )
        lines.append(f"  {100 * cumulative / total:5.1f} %  {label}")
    return lines


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    call_command("migrate", verbosity=0)
    org = seed.seed_users(count + WARM + CAPTURED, log=lambda *_: None)
    challenges = seed.open_challenges(range(count + WARM + CAPTURED))
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {seed.api_token(org)}")
    for index in range(WARM):
        check(client, index, challenges[index])
    counts = []
    for index in range(WARM, WARM + CAPTURED):
        with CaptureQueriesContext(connection) as captured:
            check(client, index, challenges[index])
        sql = [q["sql"] for q in captured.captured_queries]
        counts.append(len([s for s in sql if s.upper() not in ("BEGIN", "COMMIT")]))
    print(f"statements per check (BEGIN/COMMIT left out): {sorted(set(counts))}")
    for number, statement in enumerate(sql, 1):
        print(f"  {number:2}. {statement[:110]}")
    profile = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    profile.enable()
    for index in range(WARM + CAPTURED, WARM + CAPTURED + count):
        check(client, index, challenges[index])
    profile.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{count} checks: {1000 * wall / count:.2f} ms wall, {1000 * cpu / count:.2f} ms CPU each"
    )
    stats = pstats.Stats(profile)
    total = stats.total_tt
    print("share of the profile (cumulative):")
    print("\n".join(shares(stats, total)))
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(12)
    print(out.getvalue()[-2600:])


if __name__ == "__main__":
    main()
