"""A Redis server and a PostgreSQL cluster of a test's own, on free loopback ports, that the
test stops, freezes and restarts (never the shared ones on 6379 and 5432).

PostgreSQL's initdb refuses to run as root: as root, the cluster belongs to the system's
``postgres`` user and its commands run through ``runuser``. ``make test`` installs Debian's
postgresql and redis-server when they are missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait(port: int, up: bool, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _answers(port) == up:
            return
        time.sleep(0.1)
    raise AssertionError(f"127.0.0.1:{port} still {'down' if up else 'up'} after {seconds} s")


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian's layout), if any."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


class RedisServer:
    """``redis-server`` in the foreground of a child process, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        options = ["--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        self.process = subprocess.Popen(
            ["redis-server", *options, "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(self.port, up=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server cannot act on TERM
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None
        _wait(self.port, up=False)

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, nothing is ever answered."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def refuse_writes(self, refuse: bool) -> None:
        """A full Redis (maxmemory, no eviction): reads and deletes work, writes fail (OOM)."""
        client = redis.Redis.from_url(self.url)
        try:
            client.config_set("maxmemory-policy", "noeviction")
            client.config_set("maxmemory", 1 if refuse else 0)
        finally:
            client.close()

    @property
    def running(self) -> bool:
        return self.process is not None


class PostgresCluster:
    """A throw-away cluster (initdb in a temporary folder), trust authentication, no fsync."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self.folder = Path(tempfile.mkdtemp(prefix="twofold-pg-"))
        self.data = self.folder / "data"
        self.running = False
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust")

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.folder)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")
        self.running = True
        _wait(self.port, up=True)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False
        _wait(self.port, up=False)

    def remove(self) -> None:
        if self.running:
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


#: The shared PostgreSQL the suite runs on (trust authentication, user postgres).
SHARED_POSTGRES = "postgres://postgres@127.0.0.1:5432"


class ScratchDatabase:
    """An empty database of a test's own on the shared PostgreSQL (127.0.0.1:5432), for a
    twofold process the test starts; dropped afterwards, connections and all. The server
    itself is never stopped or reconfigured.

    Where PostgreSQL does not answer, ``available()`` is False: the test skips, unless
    ``TWOFOLD_REQUIRE_POSTGRES=1`` (as CI sets), where it fails instead."""

    def __init__(self, prefix: str) -> None:
        self.name = f"{prefix}_{os.getpid()}_{int(time.monotonic() * 1000) % 10**8}"
        self.url = f"{SHARED_POSTGRES}/{self.name}"

    @staticmethod
    def available() -> bool:
        return _answers(5432)

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(f"{SHARED_POSTGRES}/postgres", autocommit=True) as connection:
            connection.execute(statement)

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
