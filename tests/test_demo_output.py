"""What a newcomer sees after `make run` (issue 16 item 13): no installer noise, then the
credentials, then where to go; the request log goes to a file in the data folder, so that
what was printed stays on screen.

The demo command runs as `make run` runs it (`twofold demo` with the outbox on and the
base URL following the port), on a free loopback port and in a temporary data folder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.own_servers  # the suite's database plays no part: once

ROOT = Path(__file__).resolve().parents[1]
TWOFOLD = str(ROOT / ".venv" / "bin" / "twofold")
LISTENING = "twofold is listening on"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _demo_env(data: Path, port: int) -> dict[str, str]:
    """The environment `make run` gives the demo, without the test run's own settings."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env = {k: v for k, v in env.items() if not k.startswith(("TWOFOLD_", "DJANGO_"))}
    return env | {
        "TWOFOLD_DATA_DIR": str(data),
        "TWOFOLD_DEV_OUTBOX": "1",
        "TWOFOLD_BASE_URL": f"http://127.0.0.1:{port}",
    }


def _read_until(path: Path, text: str, process: subprocess.Popen, seconds: float = 120) -> str:
    """The demo's standard output, once ``text`` is in it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        printed = path.read_text()
        if text in printed:
            return printed
        if process.poll() is not None:
            raise AssertionError(f"the demo exited with {process.returncode}:\n{printed}")
        time.sleep(0.2)
    raise AssertionError(f"the demo printed no {text!r} within {seconds} s")


def _get(url: str, seconds: float = 60) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                return response.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@dataclass
class Demo:
    url: str
    data: Path
    printed: str  # standard output up to the line saying it serves
    output: Path  # the whole standard output, growing while it runs
    errors: Path  # its standard error

    def credentials(self) -> dict:
        return json.loads((self.data / "demo-credentials.json").read_text())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo")
    port, data = _free_port(), tmp / "data"
    output, errors = tmp / "stdout", tmp / "stderr"
    with output.open("w") as out, errors.open("w") as err:
        process = subprocess.Popen(
            [TWOFOLD, "demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=_demo_env(data, port),
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    try:
        printed = _read_until(output, LISTENING, process)
        _get(f"http://127.0.0.1:{port}/readyz")
        yield Demo(f"http://127.0.0.1:{port}", data, printed, output, errors)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_the_demo_prints_every_users_name_and_password(demo: Demo) -> None:
    users = demo.credentials()["users"]
    assert [f"{name}  " in demo.printed for name in users] == [True] * 3
    assert [password in demo.printed for password in users.values()] == [True] * 3


def test_after_the_credentials_it_prints_the_four_places_to_go(demo: Demo) -> None:
    after = demo.printed[demo.printed.rindex(demo.credentials()["users"]["bob@contoso.example"]) :]
    places = ["/signin", "/dev/outbox", "/authenticator/", "/admin-portal/"]
    assert [f"{demo.url}{place}" in after for place in places] == [True] * 4


def test_it_says_where_the_request_log_goes(demo: Demo) -> None:
    assert str(demo.data / "twofold.log") in demo.printed


def test_requests_leave_no_line_on_its_standard_output(demo: Demo) -> None:
    _get(f"{demo.url}/signin")
    time.sleep(0.5)  # what the worker would print, it has printed by now
    assert demo.output.read_text() == demo.printed
    assert '"twofold.request"' not in demo.errors.read_text()


def test_requests_are_logged_to_the_file_in_the_data_folder(demo: Demo) -> None:
    _get(f"{demo.url}/signin")
    lines = (demo.data / "twofold.log").read_text().splitlines()
    routes = [json.loads(line).get("route") for line in lines]
    assert "signin" in routes


def test_the_license_is_an_spdx_expression_so_setuptools_prints_no_deprecation() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert isinstance(project["license"], str)
