"""Processes for the benchmark: PostgreSQL databases, gunicorn servers on loopback, and
the CPU time and memory of their workers read from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def psql(database: str, sql: str) -> str:
    command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atqc", sql]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def create_database(name: str) -> None:
    if not psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        psql("postgres", f"CREATE DATABASE {name}")


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS now, peak RSS) of ``pid`` in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _colon, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


@dataclass
class Usage:
    """CPU and memory of a server's workers over one measured run."""

    cpu_percent: float  # CPU time per worker over wall time, averaged over workers
    peak_rss_mib: float  # the largest peak RSS of any worker
    rss_mib: list[float] = field(default_factory=list)  # each worker's RSS at the end


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    _cpu: dict[int, float] = field(default_factory=dict)
    _since: float = 0.0

    @classmethod
    def start(
        cls, name: str, command: list[str], port: int, env: dict[str, str], cwd: Path
    ) -> Server:
        if not port_free(port):
            raise SystemExit(f"port {port} is taken: choose another (BENCH_PORT)")
        log = open(Path(cwd) / f"server-{port}.log", "ab")  # noqa: SIM115 - the server's lifetime
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            cwd=cwd,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        server = cls(name, process, port)
        deadline = time.monotonic() + 60
        while port_free(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start: see {log.name}")
            time.sleep(0.2)
        return server

    def workers(self) -> list[int]:
        # twofold's `serve` execs gunicorn, so the master is the process we started.
        return _children(self.process.pid)

    def mark(self) -> None:
        """Start a measured run: remember each worker's CPU time."""
        self._cpu = {pid: cpu_seconds(pid) for pid in self.workers()}
        self._since = time.monotonic()

    def usage(self) -> Usage:
        wall = time.monotonic() - self._since
        pids = self.workers()
        used = [cpu_seconds(pid) - self._cpu.get(pid, 0.0) for pid in pids]
        memory = [memory_kib(pid) for pid in pids]
        return Usage(
            cpu_percent=100 * sum(used) / len(pids) / wall,
            peak_rss_mib=max(peak for _rss, peak in memory) / 1024,
            rss_mib=[rss / 1024 for rss, _peak in memory],
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
