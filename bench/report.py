"""Probes and the Markdown report of the side-by-side benchmark (see bench/harness.py)."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench import proc, seed
from twofold.methods.stepup import VERIFIED_AT

ROOT = Path(__file__).resolve().parents[1]


def statements(users, token: str, code_only) -> dict[str, object]:
    """Run one code-only and one password + code check in this process and capture their
    SQL: how many statements, and the plan of every SELECT."""
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    url = "/api/v1/validate/check"
    index = users.take(1).start
    challenge = seed.open_challenges(range(index, index + 1))[index]
    shapes = {
        "code only": {
            "user": seed.username(index),
            "challenge_id": challenge,
            "code": seed.code(index),
        },
    }
    index = users.take(1).start
    shapes["password + code"] = {
        "user": seed.username(index),
        "password": seed.PASSWORD,
        "code": seed.code(index),
    }
    found: dict[str, object] = {}
    for name, body in shapes.items():
        with CaptureQueriesContext(connection) as captured:
            response = client.post(url, json.dumps(body), content_type="application/json")
        assert b'"accept"' in response.content, response.content
        queries = [q["sql"] for q in captured.captured_queries]
        found[name] = queries
    return found


def explain(queries: list[str]) -> list[str]:
    plans = []
    with connection.cursor() as cursor:
        for sql in queries:
            if not sql.lstrip().upper().startswith("SELECT") or "FOR UPDATE" in sql:
                continue
            cursor.execute("EXPLAIN " + sql)
            rows = [row[0].strip().removeprefix("->").strip() for row in cursor.fetchall()]
            # The node that reads the table says whether an index is used.
            scans = [row for row in rows if "Scan" in row or "Cond" in row]
            plan = " / ".join(scans or rows[:2])
            plans.append(f"{_short(sql)}\n    -> {plan}")
    return plans


def _short(sql: str) -> str:
    sql = re.sub(r"SELECT .*? FROM", "SELECT … FROM", sql, count=1)
    return sql[:180] + ("…" if len(sql) > 180 else "")


ADMIN_PAGES = {  # the administrators' users list: what each costs at this size
    "first page": {},
    "a page deep in the list": {"after": "u0500000@bench.example"},
    "search by user name": {"q": "u00099"},
    "search matching nobody": {"q": "nobody-by-this-name"},
    "enforced users": {"mfa_state": "enforced"},
    "users with no methods": {"methods": "no"},
    "locked users": {"status": "locked"},
    "blocked users": {"status": "blocked"},
}


def admin_list_probe() -> dict[str, float]:
    """Median milliseconds of each users-list page (in this process, through every
    middleware and the template), as an administrator of the benchmark organisation."""
    admin = seed.User.objects.get(organisation=seed.organisation(), is_admin=True)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    # The portal asks for a recent second factor (a step-up): as if just given.
    session = client.session
    session[VERIFIED_AT] = int(time.time())
    session.save()
    found = {}
    for label, query in ADMIN_PAGES.items():
        times = []
        for _ in range(5):
            started = time.perf_counter()
            response = client.get("/admin-portal/users", query)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (label, response.status_code)
        found[label] = 1000 * sorted(times)[2]
    return found


def latency_probe(server, users, token, code_only, measure, password_body) -> dict:
    """Validate latency at the organisation's current size, one client at a time, with the
    SQL of one check of each kind and the plans of their SELECTs."""
    count = seed.seeded(seed.organisation())
    code = code_only(f"code only, one client, {count:,} users", server, users, 300, 1, token)
    url = f"http://127.0.0.1:{server.port}/api/v1/validate/check"
    bearer = f"Bearer {token}"
    label = f"password + code, one client, {count:,} users"
    password = measure(
        label, server, url, password_body, users, 60, 1, '"accept"', "application/json", bearer
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    found = statements(users, token, code_only)
    return {
        "users": count,
        "code_p50": code.p50,
        "code_p99": code.p99,
        "password_p50": password.p50,
        "password_p99": password.p99,
        "statements": {name: len(queries) for name, queries in found.items()},
        "plans": explain(found["code only"]) + explain(found["password + code"]),
        "admin_list": admin_list_probe(),
    }


def _in_new_database(name: str, script: str, count: int) -> str:
    """bench/<script> on ``count`` users in a database made for it, dropped afterwards."""
    proc.psql("postgres", f"DROP DATABASE IF EXISTS {name}")
    proc.psql("postgres", f"CREATE DATABASE {name}")
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}"}
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / script), str(count)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
    finally:
        proc.psql("postgres", f"DROP DATABASE IF EXISTS {name}")
    return done.stdout.strip()


def bulk_and_import(full: bool) -> list[str]:
    """Reuse bench/bulk_actions.py and bench/import_users.py; their output lines."""
    lines = []
    for count in (100_000, 1_000_000) if full else (10_000,):
        output = _in_new_database("twofold_bench_bulk", "bulk_actions.py", count)
        lines += [f"bulk actions on {count:,} users:", output]
    count = 100_000 if full else 10_000
    output = _in_new_database("twofold_bench_import", "import_users.py", count)
    lines += ["import (PostgreSQL):", output]
    return lines


def machine() -> str:
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    postgres = proc.psql("postgres", "SHOW server_version")
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, {memory} GiB, Python {platform.python_version()}, "
        f"PostgreSQL {postgres}; load average before the run "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    )


def _row(r) -> str:
    usage = r.usage
    return (
        f"| {r.label} | {r.concurrency} | {r.answered:,} | {r.rate:,.1f} | {r.p50:.1f} | "
        f"{r.p95:.1f} | {r.p99:.1f} | {r.errors} | "
        f"{usage.cpu_percent:.0f} % | {usage.peak_rss_mib:.0f} MiB | {r.client_cpu:.0f} % |"
    )


def per(result, count: int | None) -> str:
    """``count`` per answer of ``result`` (a sign-in), or "?" where it was not counted."""
    return "?" if count is None or not result.answered else f"{count / result.answered:.1f}"


def _cpu_ms(result, workers: int) -> float:
    return 1000 * workers * result.usage.cpu_percent / 100 / result.rate


def render(results, sign, hash_seconds, rss, scale, bulk, started, full) -> str:
    by = {r.label: r for r in results}
    command = "make bench-full" if full else "make bench"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    lines = [
        f"## Side by side: twofold and privacyIDEA 3.14 ({when}, {'full' if full else 'short'})",
        "",
        f"Machine: {machine()}. Both servers: gunicorn, {os.cpu_count()} workers, "
        "127.0.0.1; load from wrk (the browser sign-in from bench/signin_load.py) on the "
        "same cores.",
        "",
        "```\n" + command + "\n```",
        "",
        "| scenario | clients | requests | requests/s | p50 ms | p95 ms | p99 ms | errors "
        "| CPU per worker | peak RSS per worker | load tool CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [_row(r) for r in results]
    lines.append(_row(sign))
    ratio = []

    def pair(ours: str, theirs: str, text: str) -> None:
        if ours in by and theirs in by and by[theirs].rate:
            ratio.append(f"- {text}: **{by[ours].rate / by[theirs].rate:.1f}×**")

    cores = os.cpu_count() or 1
    pair(
        results[0].label,
        "privacyIDEA tuned, PIN at twofold's cost",
        "password + code, twofold ÷ tuned privacyIDEA at equal hash cost",
    )
    pair(
        results[0].label,
        "privacyIDEA as installed, PIN at its default cost",
        "password + code, twofold ÷ privacyIDEA as installed (its default PIN cost)",
    )
    pair(
        "twofold code only",
        "privacyIDEA tuned, no PIN",
        "code only, twofold ÷ tuned privacyIDEA without a PIN",
    )
    pair(
        "twofold code only",
        "privacyIDEA as installed, no PIN",
        "code only, twofold ÷ privacyIDEA as installed without a PIN",
    )
    code = by.get("twofold code only")
    bound = cores / hash_seconds
    lines += ["", "Ratios (same run):", *ratio]
    if code:
        lines.append(f"- code only per core: **{code.rate / cores:,.0f} requests/s**")
    ceiling = next((r for r in results if "/healthz" in r.label), None)
    if ceiling:
        lines.append(
            f"- the stack's ceiling (GET /healthz, no database) per core: "
            f"{ceiling.rate / cores:,.0f} requests/s"
        )
    lines += [
        f"- one Argon2id hash at the configured cost: {hash_seconds * 1000:.1f} ms, so the "
        f"bound is {cores} ÷ that = {bound:,.1f} hashes/s; browser sign-ins "
        f"{sign.rate:,.1f}/s = **{100 * sign.rate / bound:.0f} % of the bound**",
        f"- per browser sign-in: {per(sign, sign.requests)} requests sent by the load tool, "
        f"{per(sign, sign.session_writes)} session writes (rows of django_session inserted, "
        "updated or deleted, as PostgreSQL's statistics count them over the run)",
        f"- worker CPU per request (workers × CPU per worker ÷ requests/s): password + code "
        f"{_cpu_ms(results[0], cores):.0f} ms, of which the hash "
        f"{100 * hash_seconds * 1000 / _cpu_ms(results[0], cores):.0f} %; browser sign-in "
        f"{_cpu_ms(sign, cores):.0f} ms",
        f"- memory: RSS per worker after warm-up {', '.join(f'{m:.0f}' for m in rss[0])} MiB, "
        f"after {rss[2]:,} more code-only checks {', '.join(f'{m:.0f}' for m in rss[1])} MiB",
        "",
        "Scale (one client at a time; p50 / p99 in ms):",
        "",
        "| users | code only p50 | p99 | password + code p50 | p99 | SQL statements (code only "
        "/ password + code) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for probe in scale:
        counts = probe["statements"]
        lines.append(
            f"| {probe['users']:,} | {probe['code_p50']:.1f} | {probe['code_p99']:.1f} | "
            f"{probe['password_p50']:.1f} | {probe['password_p99']:.1f} | "
            f"{counts['code only']} / {counts['password + code']} |"
        )
    small, large = scale[0], scale[-1]
    lines.append(
        f"\nLatency at {large['users']:,} ÷ at {small['users']:,} users (p50): code only "
        f"{large['code_p50'] / small['code_p50']:.2f}×, password + code "
        f"{large['password_p50'] / small['password_p50']:.2f}×."
    )
    lines += [
        "",
        "The administrators' users list (median ms of 5, in one process):",
        "",
        "| page | " + " | ".join(f"{probe['users']:,} users" for probe in scale) + " |",
        "| --- |" + " ---: |" * len(scale),
    ]
    for label in ADMIN_PAGES:
        shown = [f"{probe['admin_list'][label]:.1f}" for probe in scale if "admin_list" in probe]
        lines.append(f"| {label} | " + " | ".join(shown) + " |")
    lines += [
        "",
        f"Plans of the SELECTs of one code-only and one password + code check at "
        f"{large['users']:,} users (the statement counts include BEGIN and COMMIT):",
        "",
        "```",
        *large["plans"],
    ]
    lines += [
        "```",
        "",
        "Bulk actions and import (bench/bulk_actions.py, bench/import_users.py):",
        "",
        "```",
        *bulk,
        "```",
        "",
    ]
    return "\n".join(lines)
