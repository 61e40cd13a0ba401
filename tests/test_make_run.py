"""`make run` from this checkout serves a working demo (the first thing a newcomer does)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                return response.status
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_make_run_migrates_seeds_and_serves_the_sign_in_page(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env = {k: v for k, v in env.items() if not k.startswith(("TWOFOLD_", "DJANGO_"))}
    env.update(HOST="127.0.0.1", PORT=str(port), TWOFOLD_DATA_DIR=str(tmp_path / "data"))
    log = tmp_path / "make-run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            assert _wait_for(f"http://127.0.0.1:{port}/signin", process) == 200
            assert _wait_for(f"http://127.0.0.1:{port}/readyz", process) == 200
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    printed = log.read_text()
    assert "alice@contoso.example" in printed
    assert "admin@contoso.example" in printed
    assert (tmp_path / "data" / "twofold.sqlite3").exists()
