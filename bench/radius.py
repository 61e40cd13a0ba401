"""RADIUS beside REST: Access-Requests per second (password + code, distinct users) and the
REST validate check in the same run, each with 64 requests in flight; p50 and p99.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/twofold_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python -m bench.radius [REQUESTS]

Seeds the benchmark organisation (bench/seed.py, kept between runs), starts `twofold serve`
(one worker per core) and `twofold radius` on 127.0.0.1 (ports BENCH_PORT and
BENCH_PORT + 2, default 18190/18192), and sends REQUESTS (default 300) of each kind from
64 threads: pyrad-encoded Access-Requests over UDP, and POST /api/v1/validate/check. The
clients run on the same machine as the servers. Prints a Markdown table.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".bench" / "radius"
PORT = int(os.environ.get("BENCH_PORT", "18190"))
RADIUS_PORT = PORT + 2
IN_FLIGHT = 64
CORES = os.cpu_count() or 1
ENV = {
    "DJANGO_SETTINGS_MODULE": "twofold.settings",
    "TWOFOLD_DATA_DIR": str(WORK),
    "TWOFOLD_BASE_URL": f"http://127.0.0.1:{PORT}",
    "TWOFOLD_LOG_LEVEL": "WARNING",
    "TWOFOLD_SIGNIN_ATTEMPTS_PER_ADDRESS": "100000",
}
WORK.mkdir(parents=True, exist_ok=True)
os.environ.update(ENV)
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    raise SystemExit("set DATABASE_URL (PostgreSQL) and REDIS_URL: see the docstring")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402
from pyrad import packet as pyrad_packet  # noqa: E402
from pyrad.client import Client  # noqa: E402

from bench import proc, seed  # noqa: E402
from twofold.accounts.models import User  # noqa: E402
from twofold.radius import clients, codec  # noqa: E402
from twofold.radius.models import RadiusClient  # noqa: E402


def radius_secret(org) -> str:
    """A fresh RADIUS client for 127.0.0.1 (the previous run's deleted); its secret."""
    admin = User.objects.get(organisation=org, is_admin=True)
    for old in RadiusClient.objects.filter(network="127.0.0.1/32"):
        clients.delete(old, actor=admin)
    _client, secret = clients.create(org, f"bench {time.time():.0f}", "127.0.0.1", actor=admin)
    return secret


def start_radius() -> subprocess.Popen:
    command = [str(ROOT / ".venv" / "bin" / "twofold"), "radius", "--port", str(RADIUS_PORT)]
    log = open(WORK / "radius.log", "ab")  # noqa: SIM115 - the server's lifetime
    process = subprocess.Popen(
        command, env=os.environ, cwd=WORK, stdout=log, stderr=log, start_new_session=True
    )
    time.sleep(3)  # the UDP socket has no handshake to wait for; a first request says more
    if process.poll() is not None:
        raise SystemExit("twofold radius did not start: see .bench/radius/radius.log")
    return process


def radius_request(secret: str) -> Callable[[int], bool]:
    template = Client(server="127.0.0.1", secret=secret.encode(), dict=codec.dictionary())

    def one(index: int) -> bool:
        request = template.CreateAuthPacket(code=pyrad_packet.AccessRequest)
        request["User-Name"] = seed.username(index)
        request["User-Password"] = request.PwCrypt(seed.PASSWORD + seed.code(index))
        raw = request.RequestPacket()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(60)
            sock.sendto(raw, ("127.0.0.1", RADIUS_PORT))
            reply = sock.recv(4096)
        return reply[0] == codec.ACCESS_ACCEPT

    return one


def rest_request(token: str) -> Callable[[int], bool]:
    url = f"http://127.0.0.1:{PORT}/api/v1/validate/check"

    def one(index: int) -> bool:
        body = {"user": seed.username(index), "password": seed.PASSWORD, "code": seed.code(index)}
        answer = requests.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        return answer.status_code == 200 and answer.json()["result"] == "accept"

    return one


def measure(label: str, one: Callable[[int], bool], indexes: range) -> dict:
    latencies: list[float] = []

    def timed(index: int) -> bool:
        started = time.perf_counter()
        accepted = one(index)
        latencies.append(time.perf_counter() - started)
        return accepted

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        accepted = sum(pool.map(timed, indexes))
    wall = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "label": label,
        "requests": len(indexes),
        "accepted": accepted,
        "per_second": len(indexes) / wall,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    call_command("migrate", verbosity=0)
    org = seed.seed_users(2 * total + 1)
    token, secret = seed.api_token(org), radius_secret(org)
    web = proc.Server.start(
        "twofold",
        [str(ROOT / ".venv" / "bin" / "twofold"), "serve", "--port", str(PORT),
         "--workers", str(CORES)],
        PORT,
        env=ENV,
        cwd=WORK,
    )  # fmt: skip
    radius = start_radius()
    try:
        rows = [
            measure("RADIUS Access-Request (PAP, password + code)", radius_request(secret),
                    range(1, total + 1)),
            measure("REST POST /validate/check (password + code)", rest_request(token),
                    range(total + 1, 2 * total + 1)),
        ]  # fmt: skip
    finally:
        web.stop()
        radius.terminate()
        radius.wait(timeout=30)
    print(f"\n{IN_FLIGHT} in flight, {CORES} cores, distinct users, clients on the same machine\n")
    print("| what | requests | accepted | requests/s | p50 | p99 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['label']} | {row['requests']} | {row['accepted']} | "
            f"{row['per_second']:.1f} | {row['p50_ms']:.0f} ms | {row['p99_ms']:.0f} ms |"
        )


if __name__ == "__main__":
    main()
