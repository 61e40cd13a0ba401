"""The side-by-side benchmark: twofold and privacyIDEA 3.14, same machine, same run.

    make bench        # short (a few minutes)
    make bench-full   # 1,000,000 users, 100,000 requests for memory, bulk actions at 1M

Run from the repository root with twofold's virtualenv (``python -m bench.harness``).
Everything listens on 127.0.0.1 only (ports BENCH_PORT and BENCH_PORT + 1, default
18090/18091; Redis at BENCH_REDIS_URL, default database 5 of 127.0.0.1:6379). Prints a
Markdown report and appends it to BENCHMARKS.md.
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".bench"
FULL = "--full" in sys.argv
# Seed everything (both sizes, privacyIDEA installed) and measure nothing: the slow part
# can run while the machine is busy, the measurements later on a quiet one.
PREPARE = "--prepare" in sys.argv
PORT = int(os.environ.get("BENCH_PORT", "18090"))
CORES = os.cpu_count() or 1
TWOFOLD_ENV = {
    "DJANGO_SETTINGS_MODULE": "twofold.settings",
    "TWOFOLD_DATA_DIR": str(WORK / "twofold"),
    # bench/probe.py measures the small size in a database of its own.
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/"
    + os.environ.get("BENCH_DATABASE", "twofold_bench"),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
    "TWOFOLD_BASE_URL": f"http://127.0.0.1:{PORT}",
    "TWOFOLD_LOG_LEVEL": "WARNING",
    # Every request comes from 127.0.0.1: the per-address sign-in limit would be measured.
    "TWOFOLD_SIGNIN_ATTEMPTS_PER_ADDRESS": "100000",
    "TWOFOLD_SIGNIN_WINDOW_SECONDS": "10",
}
os.environ.update(TWOFOLD_ENV)
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench import pi, proc, report, seed  # noqa: E402
from twofold.administration.services import restore_remembered_devices_everywhere  # noqa: E402

SIZES = {  # requests per measurement (short / full)
    "password_code": (400, 2000),
    "password_code_64": (400, 2000),
    "code_only": (2000, 20000),
    "signin": (120, 600),
    "memory": (5_000, 100_000),
    "pi_default_pin": (30, 100),
    "pi_equal_pin": (200, 1000),
    "pi_no_pin": (200, 1000),
}
SCALE = (10_000, 1_000_000) if FULL else (10_000, 60_000)


QUICK = int(os.environ.get("BENCH_DIVIDE", "1"))  # for trying the harness: fewer requests


def size(name: str) -> int:
    return max(10, SIZES[name][1 if FULL else 0] // QUICK)


def log(message: str) -> None:
    print(message, flush=True)


@dataclass
class Result:
    label: str
    answered: int
    accepted: int
    seconds: float
    p50: float
    p95: float
    p99: float
    errors: int
    usage: proc.Usage | None = None
    concurrency: int = 0
    client_cpu: float = 0.0  # the load tool's CPU time over wall time, in % of one core
    requests: int | None = None  # requests the load tool sent, where an answer takes several
    session_writes: int | None = None  # rows of django_session written meanwhile

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


def _parse(label: str, output: str, concurrency: int) -> Result:
    line = next((x for x in output.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{label}: the load tool printed no result:\n{output}")
    values = dict(pair.split("=") for pair in line.split()[1:])
    answered, accepted = int(values["answered"]), int(values["accepted"])
    errors = answered - accepted + int(values["socket_errors"])
    return Result(
        label,
        answered,
        accepted,
        float(values["seconds"]),
        float(values["p50"]),
        float(values["p95"]),
        float(values["p99"]),
        errors,
        concurrency=concurrency,
        requests=int(values["requests"]) if "requests" in values else None,
    )


class Users:
    """Hands out distinct user indexes, so no code is ever sent twice in a run."""

    def __init__(self, start: int = 0) -> None:
        self.next = start

    def take(self, count: int) -> range:
        taken = range(self.next, self.next + count)
        self.next += count
        return taken


LAST_CLIENT_CPU = 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(
    url: str,
    bodies: list[str],
    total: int,
    connections: int,
    marker: str,
    ctype: str,
    auth: str = "",
) -> str:
    path = WORK / "bodies.txt"
    path.write_text("\n".join(bodies) + "\n")
    threads = min(2, connections)
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        "600s",
        "--timeout",
        "60s",
        "-s",
        str(ROOT / "bench" / "load.lua"),
        url,
        "--",
        str(path),
        marker,
        str(total),
        str(threads),
        ctype,
        auth,
    ]
    for flag in WORK.glob("bodies.txt.done.*"):
        flag.unlink()
    global LAST_CLIENT_CPU
    before, wall = _children_cpu(), time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while len(list(WORK.glob("bodies.txt.done.*"))) < threads and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)  # every thread has its share: print the summary
    stdout, stderr = process.communicate()
    LAST_CLIENT_CPU = 100 * (_children_cpu() - before) / (time.monotonic() - wall)
    if stderr.strip():
        log("    " + stderr.strip()[:900].replace("\n", "\n    "))
    return stdout


def measure(label, server, url, make_body, users, total, connections, marker, ctype, auth=""):
    """One measured wrk run of ``total`` requests, each for its own user, codes made now."""
    warm = users.take(2 * connections + 4)  # load every worker's code paths first
    wrk(
        url,
        [make_body(index) for index in warm],
        len(warm) - connections - 2,
        connections,
        marker,
        ctype,
        auth,
    )
    indexes = users.take(total + connections + 2)
    bodies = [make_body(index) for index in indexes]
    server.mark()
    result = _parse(label, wrk(url, bodies, total, connections, marker, ctype, auth), connections)
    result.usage = server.usage()
    result.client_cpu = LAST_CLIENT_CPU
    log(
        f"  {label}: {result.rate:,.1f}/s p50 {result.p50:.1f} p99 {result.p99:.1f} ms, "
        f"{result.errors} errors"
    )
    return result


# --- twofold --------------------------------------------------------------------------


def twofold_server(port: int) -> proc.Server:
    command = [
        str(ROOT / ".venv" / "bin" / "twofold"),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(CORES),
    ]
    return proc.Server.start("twofold", command, port, env=TWOFOLD_ENV, cwd=WORK)


def password_body(index: int) -> str:
    """A line for bench/load.lua: the user's TOTP seed, a tab, the body ("@CODE@": its code)."""
    body = json.dumps({"user": seed.username(index), "password": seed.PASSWORD, "code": "@CODE@"})
    return f"{seed.secret(index).hex()}\t{body}"


def code_only_bodies(indexes: range) -> callable:
    challenges = seed.open_challenges(indexes)

    def body(index: int) -> str:
        data = {"user": seed.username(index), "challenge_id": challenges[index], "code": "@CODE@"}
        return f"{seed.secret(index).hex()}\t{json.dumps(data)}"

    return body


def code_only(label, server, users, total, connections, token) -> Result:
    """The second call of the challenge flow: the user is known (its challenge was opened by
    POST /validate/challenges, here by bulk insert), only the code is checked."""
    start = users.next
    indexes = range(start, start + total + 3 * connections + 6)
    make = code_only_bodies(indexes)
    return measure(
        label,
        server,
        f"http://127.0.0.1:{server.port}/api/v1/validate/check",
        make,
        users,
        total,
        connections,
        '"accept"',
        "application/json",
        f"Bearer {token}",
    )


def floor(server) -> Result:
    """GET /healthz for 5 seconds: twofold's whole middleware stack and gunicorn, no
    database, no cache. The ceiling any API call can reach on this machine."""
    for seconds in (2, 5):  # the first run warms the workers up
        server.mark()
        before, wall = _children_cpu(), time.monotonic()
        url = f"http://127.0.0.1:{server.port}/healthz"
        command = ["wrk", "-t", "2", "-c", str(4 * CORES), "-d", f"{seconds}s", "--latency", url]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    client = 100 * (_children_cpu() - before) / (time.monotonic() - wall)
    count = int(re.search(r"(\d+) requests in", out).group(1))
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    percent = {
        p: float(value) * scale[unit]
        for p, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)
    }
    result = Result(
        "twofold GET /healthz (no database: the stack's ceiling)",
        count,
        count,
        float(seconds),
        percent.get("50", 0.0),
        math.nan,  # wrk prints 50, 75, 90 and 99 %
        percent.get("99", 0.0),
        0,
        server.usage(),
        4 * CORES,
        client,
    )
    log(f"  {result.label}: {result.rate:,.0f}/s")
    return result


def argon2_seconds() -> float:
    """One Argon2id hash at the configured cost, median of 9, in this process."""
    times = []
    for _ in range(9):
        started = time.perf_counter()
        make_password(seed.PASSWORD)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


#: PostgreSQL (15) counts a table's writes in each backend and reports them when it goes
#: idle, at most once a second, and within 10 s at the latest: wait that long to read them.
STATISTICS_LAG = 11.0


def session_writes() -> int:
    """Rows of django_session inserted, updated and deleted so far, as PostgreSQL counts
    them (every server's writes, whichever worker made them)."""
    database = TWOFOLD_ENV["DATABASE_URL"].rsplit("/", 1)[1]
    sql = (
        "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables "
        "WHERE relname = 'django_session'"
    )
    return int(proc.psql(database, sql))


def signin(server, users, total) -> Result:
    indexes = users.take(total)
    work = [[seed.username(i), seed.PASSWORD, seed.secret(i).hex()] for i in indexes]
    path = WORK / "signins.json"
    path.write_text(json.dumps(work))
    concurrency = 4 * CORES
    # No wait here: the runs before (API calls, GET /healthz) write no session.
    writes = session_writes()
    server.mark()
    before, wall = _children_cpu(), time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "signin_load.py"),
            str(server.port),
            str(concurrency),
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if done.stderr.strip():
        log("    " + done.stderr.strip()[:600].replace("\n", "\n    "))
    result = _parse("browser sign-in", done.stdout, concurrency)
    result.usage = server.usage()
    result.client_cpu = 100 * (_children_cpu() - before) / (time.monotonic() - wall)
    time.sleep(STATISTICS_LAG)
    result.session_writes = session_writes() - writes
    log(
        f"  browser sign-in: {result.rate:,.1f}/s, {result.errors} errors, per sign-in "
        f"{report.per(result, result.requests)} requests and "
        f"{report.per(result, result.session_writes)} session writes"
    )
    return result


def memory(server, users, total, token) -> tuple[list[float], list[float], int]:
    """RSS of each worker after warm-up, and after ``total`` more code-only checks."""
    server.mark()
    before = server.usage().rss_mib
    code_only(f"memory: {total:,} code-only checks", server, users, total, 4 * CORES, token)
    return before, server.usage().rss_mib, total


# --- privacyIDEA ----------------------------------------------------------------------


def pi_body(index: int, pin: str) -> str:
    body = urlencode({"user": f"u{index:07d}", "realm": "bench", "pass": pin + "@CODE@"})
    return f"{seed.secret(index).hex()}\t{body.replace('%40CODE%40', '@CODE@')}"


def run_privacyidea(users: Users, results: list[Result]) -> None:
    plan = [  # (mode, label, pin kind, size key)
        (
            "installed",
            "privacyIDEA as installed, PIN at its default cost",
            "default",
            "pi_default_pin",
        ),
        ("installed", "privacyIDEA as installed, no PIN", "", "pi_no_pin"),
        ("tuned", "privacyIDEA tuned, PIN at twofold's cost", "equal", "pi_equal_pin"),
        ("tuned", "privacyIDEA tuned, no PIN", "", "pi_no_pin"),
    ]
    connections = 4 * CORES
    ranges = []
    for _mode, _label, _pin, key in plan:
        taken = users.take(size(key) + 3 * connections + 6)
        ranges.append(taken)
    log(
        "  "
        + pi.seed_tokens(
            [
                {"start": r.start, "stop": r.stop, "pin": p[2]}
                for r, p in zip(ranges, plan, strict=True)
            ]
        )
    )
    for mode in ("installed", "tuned"):
        server = pi.start(mode, PORT + 1, CORES)
        try:
            for (m, label, pin, key), taken in zip(plan, ranges, strict=True):
                if m != mode:
                    continue
                pin_text = pi.PIN_TEXT if pin else ""
                results.append(
                    measure(
                        label,
                        server,
                        f"http://127.0.0.1:{PORT + 1}/validate/check",
                        lambda index, p=pin_text: pi_body(index, p),
                        Users(taken.start),
                        size(key),
                        connections,
                        '"ACCEPT"',
                        "application/x-www-form-urlencoded",
                    )
                )
        finally:
            server.stop()


def _interrupted(signum, _frame) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so that the servers are stopped


def restore_everywhere(org) -> str:
    """Time forgetting every remembered device of the largest organisation (its epoch)."""
    admin = seed.User.objects.get(organisation=org, is_admin=True)
    started = time.perf_counter()
    restore_remembered_devices_everywhere(org, actor=admin)
    took = time.perf_counter() - started
    line = (
        f"restore remembered devices, whole organisation of {seed.seeded(org):,} users: "
        f"{took * 1000:.1f} ms"
    )
    log("  " + line)
    return line


def prepare_database() -> None:
    proc.create_database(TWOFOLD_ENV["DATABASE_URL"].rsplit("/", 1)[1])
    call_command("migrate", verbosity=0)


def scale_probe(database: str, count: int, port: int, *, prepare: bool = False) -> dict:
    """bench/probe.py in its own process, on ``database`` grown to ``count`` users."""
    env = {**os.environ, "BENCH_DATABASE": database}
    done = subprocess.run(
        [sys.executable, "-m", "bench.probe", str(count), str(port)]
        + (["--prepare"] if prepare else []),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    log("    " + done.stderr.strip()[-1500:].replace("\n", "\n    "))
    if done.returncode:
        raise SystemExit(f"the scale probe at {count:,} users failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupted)
    WORK.mkdir(exist_ok=True)
    (WORK / "twofold").mkdir(exist_ok=True)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    started = time.time()
    log(f"twofold benchmark ({'full' if FULL else 'short'}), {CORES} cores")
    prepare_database()
    cache.clear()  # Redis db 5 is the benchmark's own: no counters left from an earlier run
    needed = sum(SIZES[key][1 if FULL else 0] for key in SIZES) * 2 + 20_000
    pi.install(log)
    pi.initialise(needed, log)
    largest = max(SCALE[1], needed) + 1000  # the probe takes the last 1,000
    org = seed.seed_users(largest, log=log)
    if PREPARE:
        scale_probe("twofold_bench_small", SCALE[0], PORT, prepare=True)
        log(f"prepared in {time.time() - started:.0f} s: nothing measured")
        return
    scale = [
        scale_probe("twofold_bench_small", SCALE[0], PORT),
        scale_probe("twofold_bench", largest, PORT),
    ]
    users = Users()
    hash_seconds = argon2_seconds()
    everywhere = restore_everywhere(org)
    server = twofold_server(PORT)
    results: list[Result] = []
    try:
        token = seed.api_token(org)
        url = f"http://127.0.0.1:{PORT}/api/v1/validate/check"
        bearer = f"Bearer {token}"
        for key, connections in (("password_code", 4 * CORES), ("password_code_64", 64)):
            label = f"twofold password + code, {connections} clients"
            results.append(
                measure(
                    label,
                    server,
                    url,
                    password_body,
                    users,
                    size(key),
                    connections,
                    '"accept"',
                    "application/json",
                    bearer,
                )
            )
        results.append(floor(server))
        results.append(
            code_only("twofold code only", server, users, size("code_only"), 4 * CORES, token)
        )
        sign = signin(server, users, size("signin"))
        rss = memory(server, users, size("memory"), token)
    finally:
        server.stop()
    run_privacyidea(users, results)
    bulk = [everywhere, *report.bulk_and_import(FULL)]
    text = report.render(results, sign, hash_seconds, rss, scale, bulk, started, FULL)
    print(text)
    with open(ROOT / "BENCHMARKS.md", "a") as handle:
        handle.write("\n" + text)


if __name__ == "__main__":
    main()
