"""A real Prometheus (Debian's ``prometheus``) scrapes a real twofold served by
``twofold demo`` with two gunicorn workers, with the bearer token in its scrape
configuration; a counter moved through the API is read back through Prometheus's HTTP
API. Both run on free loopback ports, each with its own folder; Prometheus's system
service is never used. The served twofold runs once on a SQLite file and once on a scratch
database of the shared PostgreSQL (its own, dropped afterwards)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.dependencies import RedisServer, ScratchDatabase, free_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "prometheus-scrape-token-0123456789"
WRONG_PASSWORDS = 4  # enough that both workers are likely to have answered some

pytestmark = [
    pytest.mark.own_servers,  # twofold on its own SQLite file, then PostgreSQL database, and Redis
    pytest.mark.xdist_group("prometheus"),
]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args[:3]} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The database the served twofold runs on: a SQLite file in its data folder (None), or
    a scratch database on the shared PostgreSQL. Both, whichever run of the suite this is."""
    if request.param == "sqlite":
        yield None
        return
    if not ScratchDatabase.available():
        if os.environ.get("TWOFOLD_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL does not answer on 127.0.0.1:5432")
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    scratch = ScratchDatabase("twofold_metrics")
    scratch.create()
    try:
        yield scratch.url
    finally:
        scratch.drop()


@pytest.fixture(scope="module")
def twofold(tmp_path_factory, redis_server: RedisServer, database: str | None) -> Iterator[dict]:
    """``twofold demo`` with two workers, the metrics token set, on a free port."""
    tmp = tmp_path_factory.mktemp("metrics-demo")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWOFOLD_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env |= {
        "TWOFOLD_DATA_DIR": str(tmp / "data"),
        "TWOFOLD_METRICS_TOKEN": TOKEN,
        "REDIS_URL": redis_server.url,
    }
    if database:
        env["DATABASE_URL"] = database
    log = (tmp / "demo.log").open("w")
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "twofold"), "demo", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/readyz", process)
        credentials = json.loads((tmp / "data" / "demo-credentials.json").read_text())
        yield {
            "port": port,
            "url": f"http://127.0.0.1:{port}",
            "credentials": credentials,
            "data": tmp / "data",
        }
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, twofold: dict) -> Iterator[str]:
    """Prometheus on a free loopback port, scraping twofold every second with the token."""
    binary = shutil.which("prometheus")
    assert binary, "Debian's prometheus is missing: `make test` installs it"
    tmp = tmp_path_factory.mktemp("prometheus")
    (tmp / "token").write_text(TOKEN)
    (tmp / "prometheus.yml").write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "scrape_configs:\n"
        "  - job_name: twofold\n"
        "    authorization:\n"
        "      type: Bearer\n"
        f"      credentials_file: {tmp / 'token'}\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{twofold['port']}']\n"
    )
    port = free_port()
    log = (tmp / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/-/ready", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)
        log.close()


def _query(prometheus: str, expression: str) -> list[dict]:
    answer = requests.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=5)
    answer.raise_for_status()
    return answer.json()["data"]["result"]


def _eventually(prometheus: str, expression: str, seconds: float = 30) -> list[dict]:
    """The query's result once it is not empty (a scrape or two after the change)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = _query(prometheus, expression)
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{expression} stayed empty for {seconds} s")


def test_prometheus_scrapes_twofold_with_the_bearer_token(prometheus: str) -> None:
    result = _eventually(prometheus, 'up{job="twofold"} == 1')
    assert result[0]["value"][1] == "1"


def test_a_counter_moved_through_the_api_is_read_back_through_prometheus(
    prometheus: str, twofold: dict
) -> None:
    _eventually(prometheus, 'up{job="twofold"} == 1')
    token = twofold["credentials"]["api_client"]["token"]
    for _attempt in range(WRONG_PASSWORDS):
        answer = requests.post(
            f"{twofold['url']}/api/v1/validate/check",
            headers={"Authorization": f"Bearer {token}"},
            json={"user": "alice@contoso.example", "password": "not her password"},
            timeout=15,
        )
        assert answer.status_code < 500
    expression = (
        'sum(twofold_signins_total{step="password",result="failure",channel="api"}) '
        f">= {WRONG_PASSWORDS}"
    )
    result = _eventually(prometheus, expression)
    assert float(result[0]["value"][1]) == WRONG_PASSWORDS


def test_without_the_token_twofold_refuses_the_scrape(twofold: dict) -> None:
    assert requests.get(f"{twofold['url']}/metrics", timeout=5).status_code == 401


def test_each_worker_keeps_its_counters_in_the_shared_metrics_folder(twofold: dict) -> None:
    """Multiprocess mode: both workers have their counters' file, so any worker's
    /metrics adds up all of them."""
    folder = twofold["data"] / "metrics" / f"127.0.0.1-{twofold['port']}"
    assert len(list(folder.glob("counter_*.db"))) >= 2


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "twofold.json").read_text())
    return [
        target["expr"].replace("$__rate_interval", "1m")
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]


def test_every_dashboard_query_is_accepted_by_prometheus(prometheus: str) -> None:
    refused = {}
    for expression in _dashboard_expressions():
        answer = requests.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=5)
        if answer.status_code != 200:
            refused[expression] = answer.text
    assert refused == {}
