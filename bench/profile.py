"""Where a twofold worker spends its time under load: py-spy on every worker while wrk
sends code-only checks (or password + code with ``--password``).

    make bench-profile   # or: .venv/bin/python -m bench.profile [--password|--signin] [SECONDS]

py-spy goes into its own virtualenv under .bench/ (never into twofold's). Prints the
functions with the largest share of the samples, inclusive and self, summed over workers.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter

from bench import harness, seed

TOOLS = harness.WORK / "tools"


def py_spy() -> str:
    binary = TOOLS / "bin" / "py-spy"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run([str(TOOLS / "bin" / "pip"), "install", "--quiet", "py-spy"], check=True)
    return str(binary)


def record(spy: str, pid: int, seconds: int) -> Counter:
    out = harness.WORK / f"profile-{pid}.txt"
    # --gil: only the samples of the thread that holds the GIL, that is what the worker's
    # CPU runs (eight threads per worker: without it, waiting for PostgreSQL, Redis or the
    # GIL itself would fill most of the samples).
    command = [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
               "--format", "raw", "--function", "--nonblocking", "--gil",
               "--output", str(out)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    stacks: Counter = Counter()
    for line in out.read_text().splitlines():
        stack, _space, count = line.rpartition(" ")
        stacks[stack] += int(count)
    return stacks


#: Where a worker's CPU goes: (label, a piece of the frames that stand for it).
SHARES = (
    ("the API operation (ninja's Operation.run)", "Operation.run"),
    ("the client's token looked up (ClientToken.authenticate)", "ClientToken.authenticate"),
    ("the check (api/checks.py check)", "check (twofold/api/checks.py"),
    ("the verification (verification._check)", "_check (twofold/methods/verification.py"),
    ("the audit events written together (Batch.write)", "Batch.write"),
    ("compiling SQL (SQLCompiler.as_sql)", "SQLCompiler.as_sql"),
    ("executing SQL (Django's CursorWrapper.execute)", "CursorWrapper.execute"),
    ("Redis (limits and counters)", "redis/"),
    ("pages rendered (Template.render)", "Template.render"),
    ("sessions (SessionStore)", "SessionStore"),
)


def shares(stacks: Counter) -> str:
    """The share of the samples whose stack holds each of ``SHARES`` (they overlap)."""
    total = sum(stacks.values()) or 1
    lines = ["where the CPU goes (inclusive):"]
    for label, piece in SHARES:
        count = sum(n for stack, n in stacks.items() if piece in stack)
        lines.append(f"  {100 * count / total:5.1f} %  {label}")
    return "\n".join(lines)


def summarise(stacks: Counter, top: int = 30) -> str:
    total = sum(stacks.values()) or 1
    inclusive: Counter = Counter()
    own: Counter = Counter()
    for stack, count in stacks.items():
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f} %  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"  {100 * n / total:5.1f} %  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines)


def measured(result: harness.Result, workers: int) -> str:
    """The measurement the profile was taken under (py-spy's sampling slows it a little)."""
    cpu = result.usage.cpu_percent if result.usage else 0.0
    per_request = workers * cpu / 100 / result.rate * 1000 if result.rate else 0.0
    return (
        f"{result.label}: {result.answered} answered ({result.accepted} accepted), "
        f"{result.rate:.1f}/s, p50 {result.p50:.1f} ms, p99 {result.p99:.1f} ms, "
        f"CPU per worker {cpu:.0f} %, worker CPU per request {per_request:.1f} ms, "
        f"load tool CPU {result.client_cpu:.0f} %\n"
    )


def main() -> None:
    password = "--password" in sys.argv
    signin = "--signin" in sys.argv
    numbers = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
    seconds = numbers[0] if numbers else 15
    spy = py_spy()
    harness.proc.create_database("twofold_bench")
    harness.cache.clear()
    org = seed.seed_users(20_000)
    server = harness.twofold_server(harness.PORT)
    try:
        token = seed.api_token(org)
        users = harness.Users(int(seed.time.time()) % 5 * 4000)
        total = 40 * seconds if password else 200 * seconds
        harness.code_only("warm-up", server, users, 200, 8, token)  # imports, connections
        stacks: list[Counter] = []
        spies = [
            threading.Thread(target=lambda pid=pid: stacks.append(record(spy, pid, seconds)))
            for pid in server.workers()
        ]
        for thread in spies:
            thread.start()
        if signin:
            result = harness.signin(server, users, 8 * seconds)
        elif password:
            url = f"http://127.0.0.1:{harness.PORT}/api/v1/validate/check"
            result = harness.measure("password + code", server, url, harness.password_body,
                                     users, total, 8, '"accept"', "application/json",
                                     f"Bearer {token}")  # fmt: skip
        else:
            result = harness.code_only("code only", server, users, total, 8, token)
        for thread in spies:
            thread.join()
        print(measured(result, len(server.workers())))
        print(shares(sum(stacks, Counter())) + "\n")
        print(summarise(sum(stacks, Counter())))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
