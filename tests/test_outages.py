"""A dependency that is down answers 503 with a clear message, never 500, and twofold
recovers without a restart (docs/security.md 35).

A real twofold (``twofold demo``: migrate, seed, gunicorn) runs on a PostgreSQL cluster and
a Redis server of this module's own, which the tests stop, freeze and restart. Since the
tests bring their own servers, the suite's two runs would test the same thing twice: they
run in the SQLite run only (the one that always runs).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.dependencies import PostgresCluster, RedisServer, free_port, postgres_bin

pytestmark = [
    pytest.mark.own_servers,  # brings its own PostgreSQL and Redis: once, in the SQLite run
    pytest.mark.xdist_group("outages"),  # one worker starts the servers, not each
]

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
#: A bound on any answer: a request that hangs fails here rather than blocking the suite.
PATIENCE = 15


@dataclass
class Stack:
    url: str
    token: str
    passwords: dict[str, str]
    redis: RedisServer
    postgres: PostgresCluster

    def check(self, user: str = ALICE, password: str = "not the password") -> requests.Response:
        """An API client's password + code check (the demo's token)."""
        return requests.post(
            f"{self.url}/api/v1/validate/check",
            json={"user": user, "password": password, "code": "123456"},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=PATIENCE,
        )

    def readyz(self) -> requests.Response:
        return requests.get(f"{self.url}/readyz", timeout=PATIENCE)

    def password_page(self, username: str = ALICE) -> tuple[requests.Session, str]:
        """A browser at the password step of a sign-in, and its CSRF token."""
        browser = requests.Session()
        browser.get(f"{self.url}/signin", timeout=PATIENCE)
        token = browser.cookies["csrftoken"]
        browser.post(
            f"{self.url}/signin",
            data={"username": username, "csrfmiddlewaretoken": token},
            timeout=PATIENCE,
        )
        return browser, token

    def post_password(
        self, browser: requests.Session, token: str, password: str = "not the password"
    ) -> requests.Response:
        return browser.post(
            f"{self.url}/signin/password",
            data={"password": password, "csrfmiddlewaretoken": token},
            timeout=PATIENCE,
        )


def _wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 180  # migrations on a fresh cluster, on a busy machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"twofold exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading
            pass
        time.sleep(0.3)
    raise AssertionError(f"twofold did not become ready:\n{log.read_text()}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.fail("PostgreSQL's initdb is missing: `make test` installs Debian's postgresql")
    tmp = tmp_path_factory.mktemp("outages")
    redis, postgres = RedisServer(), PostgresCluster(bin_dir)
    redis.start()
    postgres.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWOFOLD_", "DJANGO_"))}
    env |= {
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis.url,
        "TWOFOLD_DATA_DIR": str(tmp / "data"),
        "TWOFOLD_BASE_URL": url,
    }
    log = tmp / "twofold.log"
    command = [sys.executable, "-m", "twofold.cli", "demo", "--port", str(port), "--workers", "1"]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_until_ready(url, process, log)
        saved = json.loads((tmp / "data" / "demo-credentials.json").read_text())
        yield Stack(url, saved["api_client"]["token"], saved["users"], redis, postgres)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        redis.stop()
        postgres.remove()


@pytest.fixture
def up(stack: Stack) -> Iterator[Stack]:
    """The stack with both dependencies running, as each test leaves it."""
    yield stack
    if not stack.redis.running:
        stack.redis.start()
    stack.redis.thaw()
    stack.redis.refuse_writes(False)
    if not stack.postgres.running:
        stack.postgres.start()


def _is_unavailable_json(response: requests.Response) -> bool:
    body = response.json()
    return (
        response.status_code == 503
        and body["error"] == "temporarily_unavailable"
        and "temporarily unavailable" in body["message"]
        and body["correlation_id"] == response.headers["X-Correlation-ID"]
        and int(response.headers["Retry-After"]) > 0
    )


def _is_unavailable_page(response: requests.Response) -> bool:
    correlation_id = response.headers["X-Correlation-ID"]
    shown = re.search(r'data-testid="correlation-id">([^<]*)<', response.text)
    return (
        response.status_code == 503
        and response.headers["Content-Type"].startswith("text/html")
        and "Temporarily unavailable" in response.text
        and shown is not None
        and shown.group(1) == correlation_id
        and int(response.headers["Retry-After"]) > 0
    )


def test_readyz_is_200_when_the_database_and_the_cache_answer(up: Stack) -> None:
    response = up.readyz()
    assert (response.status_code, response.json()) == (
        200,
        {"status": "ok", "database": "ok", "cache": "ok", "encryption_keys": "ok"},
    )


def test_with_redis_stopped_an_api_check_answers_503_in_json(up: Stack) -> None:
    up.redis.stop()
    assert _is_unavailable_json(up.check())


def test_with_redis_stopped_a_sign_in_post_answers_the_503_page(up: Stack) -> None:
    browser, token = up.password_page()
    up.redis.stop()
    assert _is_unavailable_page(up.post_password(browser, token))


def test_with_redis_stopped_a_right_password_is_not_accepted_without_its_rate_limit(
    up: Stack,
) -> None:
    up.redis.stop()
    response = up.check(BOB, up.passwords[BOB])  # Bob's second factor is off: password only
    assert (response.status_code, response.json()["error"]) == (503, "temporarily_unavailable")


def test_with_redis_stopped_a_right_password_signs_nobody_in(up: Stack) -> None:
    browser, token = up.password_page(BOB)
    up.redis.stop()
    up.post_password(browser, token, up.passwords[BOB])
    up.redis.start()
    account = browser.get(f"{up.url}/account", allow_redirects=False, timeout=PATIENCE)
    assert (account.status_code, account.headers["Location"].startswith("/signin")) == (302, True)


def test_the_503_page_of_a_sign_in_keeps_the_organisations_branding(up: Stack) -> None:
    browser, token = up.password_page()
    up.redis.stop()
    response = up.post_password(browser, token)
    assert "/branding/contoso.css" in response.text


def test_the_503_page_is_translated(up: Stack) -> None:
    browser, token = up.password_page()
    browser.headers["Accept-Language"] = "zh-Hans"
    up.redis.stop()
    response = up.post_password(browser, token)
    assert (response.status_code, "暂时无法使用" in response.text) == (503, True)


def test_with_redis_stopped_the_authenticator_apps_api_answers_503_in_its_json(
    up: Stack,
) -> None:
    up.redis.stop()
    response = requests.post(
        f"{up.url}/authenticator/api/activate",
        json={"code": "12345678", "public_key": "", "name": "Phone", "platform": "web"},
        timeout=PATIENCE,
    )
    answer = (response.status_code, response.json()["error"], "Retry-After" in response.headers)
    assert answer == (503, "temporarily_unavailable", True)


def test_with_redis_refusing_writes_a_changed_session_is_never_read_back_stale(
    up: Stack,
) -> None:
    browser, token = up.password_page()  # the session (Alice's user name) is cached in Redis

    def post_bob() -> requests.Response:
        return browser.post(
            f"{up.url}/signin",
            data={"username": BOB, "csrfmiddlewaretoken": token},
            timeout=PATIENCE,
        )

    up.redis.refuse_writes(True)
    # The cached copy cannot be marked as changing: nothing changes, as the page says.
    assert _is_unavailable_page(post_bob())
    up.redis.refuse_writes(False)
    page = browser.get(f"{up.url}/signin/password", timeout=PATIENCE)
    assert (BOB in page.text, ALICE in page.text) == (False, True)
    post_bob()  # Redis takes writes again: the change is read back, never the old copy
    page = browser.get(f"{up.url}/signin/password", timeout=PATIENCE)
    assert (BOB in page.text, ALICE in page.text) == (True, False)


def test_with_redis_refusing_writes_signing_out_still_signs_out(up: Stack) -> None:
    browser, token = up.password_page(BOB)
    up.post_password(browser, token, up.passwords[BOB])  # Bob's second factor is off
    assert browser.get(f"{up.url}/account", allow_redirects=False, timeout=PATIENCE).ok
    copied = requests.Session()  # the session cookie, as someone who copied it holds it
    copied.cookies.update(browser.cookies)
    up.redis.refuse_writes(True)
    token = browser.cookies["csrftoken"]
    signed_out = browser.post(
        f"{up.url}/signout", data={"csrfmiddlewaretoken": token}, timeout=PATIENCE
    )
    up.redis.refuse_writes(False)
    assert signed_out.status_code == 200
    account = copied.get(f"{up.url}/account", allow_redirects=False, timeout=PATIENCE)
    assert (account.status_code, account.headers["Location"].startswith("/signin")) == (302, True)


def test_with_redis_refusing_writes_a_sign_in_post_answers_the_503_page(up: Stack) -> None:
    browser, token = up.password_page()
    up.redis.refuse_writes(True)
    assert _is_unavailable_page(up.post_password(browser, token))


def test_with_redis_stopped_readyz_answers_503_naming_the_cache(up: Stack) -> None:
    up.redis.stop()
    response = up.readyz()
    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "database": "ok", "cache": "down", "encryption_keys": "ok"},
    )


def test_once_redis_is_back_checks_and_sign_ins_work_without_restarting_twofold(
    up: Stack,
) -> None:
    browser, token = up.password_page()
    up.redis.stop()
    up.check()
    up.redis.start()
    answers = (up.readyz().status_code, up.check().status_code)
    page = up.post_password(browser, token)
    assert (answers, page.status_code, "password" in page.text.lower()) == ((200, 200), 200, True)


def test_with_redis_frozen_an_api_check_answers_503_instead_of_hanging(up: Stack) -> None:
    up.check()  # the worker's connection to Redis is open when it freezes
    up.redis.freeze()
    assert _is_unavailable_json(up.check())


def test_with_redis_frozen_a_sign_in_post_answers_the_503_page(up: Stack) -> None:
    browser, token = up.password_page()
    up.redis.freeze()
    assert _is_unavailable_page(up.post_password(browser, token))


def test_with_redis_frozen_readyz_answers_503(up: Stack) -> None:
    up.redis.freeze()
    assert up.readyz().status_code == 503


def test_with_the_database_stopped_an_api_check_answers_503_in_json(up: Stack) -> None:
    up.postgres.stop()
    assert _is_unavailable_json(up.check())


def test_with_the_database_stopped_a_sign_in_post_answers_the_503_page(up: Stack) -> None:
    browser, token = up.password_page()
    up.postgres.stop()
    assert _is_unavailable_page(up.post_password(browser, token))


def test_with_the_database_stopped_readyz_answers_503_naming_it(up: Stack) -> None:
    up.postgres.stop()
    response = up.readyz()
    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "database": "down", "cache": "ok", "encryption_keys": "unknown"},
    )


def test_once_the_database_is_back_checks_and_sign_ins_work_without_restarting_twofold(
    up: Stack,
) -> None:
    browser, token = up.password_page()
    up.postgres.stop()
    up.check()
    up.postgres.start()
    answers = (up.readyz().status_code, up.check().status_code)
    page = up.post_password(browser, token)
    assert (answers, page.status_code, "password" in page.text.lower()) == ((200, 200), 200, True)


def test_with_redis_stopped_the_oauth_token_endpoint_answers_503_in_json(up: Stack) -> None:
    up.redis.stop()
    response = requests.post(
        f"{up.url}/oauth2/token",
        data={"grant_type": "authorization_code", "code": "not a code", "client_id": "nobody"},
        timeout=PATIENCE,
    )
    assert _is_unavailable_json(response)


def test_with_the_database_stopped_the_oauth_userinfo_endpoint_answers_503_in_json(
    up: Stack,
) -> None:
    up.postgres.stop()
    response = requests.get(
        f"{up.url}/oauth2/userinfo",
        headers={"Authorization": "Bearer not-a-token"},
        timeout=PATIENCE,
    )
    assert _is_unavailable_json(response)
