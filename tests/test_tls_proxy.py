"""twofold behind Debian's nginx terminating TLS, with deploy/nginx/twofold.conf as shipped.

A test CA signs a certificate for localhost; nginx (only the file's ${PLACEHOLDERS}
replaced) forwards to two `twofold serve` processes sharing one database (a PostgreSQL
database of this module's own in the PostgreSQL run, a SQLite file otherwise) and a Redis
server of this module's own, with TWOFOLD_BASE_URL=https://localhost:<port> and
TWOFOLD_TRUSTED_PROXIES=1. Checked through https: HSTS, __Host- Secure cookies, the
client's address in the audit trail (a forged X-Forwarded-For is not believed), both
upstreams used, and a sign-in, the push waiting page and the authenticator app in Chromium.
`make test` installs nginx when missing; its system service is never started.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pyotp
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE
from tests.conftest import PATIENCE_MS
from tests.dependencies import RedisServer, free_port

# One worker starts the stack for all of this module's tests, not each.
pytestmark = pytest.mark.xdist_group("tls-proxy")

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "twofold.conf"
NGINX = "/usr/sbin/nginx"
ALICE = "alice@contoso.example"
PATIENCE = 15
MOBILE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
POLLED = 10_000  # the waiting page polls every 2 s and the app every 3 s
FORGED = "203.0.113.9"
#: Alice's authenticator app for codes, added after the demo seeded her (printed: Base32).
ADD_CODE_APP = """
from twofold.accounts.models import User
from functools import partial
from twofold.methods.authenticator import services as a
from twofold.methods.testing import prove_with_previous_step
user = User.objects.get(username="alice@contoso.example")
secret = a.new_secret()
prove_with_previous_step(secret, partial(a.add_device, user, "Code app", secret))
print(a.base32(secret))
"""
AUDIT_ADDRESS = """
from twofold.audit.models import AuditEvent
events = AuditEvent.objects.filter(correlation_id="{}")
print(sorted(set(events.values_list("client_address", flat=True))))
"""


@dataclass
class Proxied:
    url: str
    ca: Path
    env: dict[str, str]
    access_log: Path
    upstreams: tuple[int, int]
    password: str
    code_app: pyotp.TOTP

    def browser(self) -> requests.Session:
        """A client that trusts the test CA (and no CA bundle from the environment)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.ca)
        session.headers["Referer"] = f"{self.url}/signin"  # Django's https CSRF check
        return session

    def manage_shell(self, code: str) -> str:
        """Run Python in twofold's own settings and database; its printed output."""
        command = [sys.executable, "-m", "twofold.cli", "manage", "shell", "-c", code]
        done = subprocess.run(command, env=self.env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]  # after the shell's own notices


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for localhost and 127.0.0.1 signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "twofold test CA")])
    ca = (
        x509.CertificateBuilder(subject_name=ca_name, issuer_name=ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = (
        x509.CertificateBuilder(
            subject_name=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
            issuer_name=ca_name,
        )
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _site(values: dict[str, str]) -> str:
    """The shipped site file with its ${PLACEHOLDERS} replaced, and nothing else changed."""
    text = SITE.read_text()
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert set(re.findall(r"\$\{([A-Z_0-9]+)\}", body)) == set(values)
    return re.sub(r"\$\{([A-Z_0-9]+)\}", lambda m: values.get(m[1], m[0]), text)


def _main_config(tmp: Path, site: Path) -> Path:
    """What /etc/nginx/nginx.conf is on Debian, in the test's own folder."""
    (tmp / "temp").mkdir()
    temp = "\n".join(
        f"    {kind}_temp_path {tmp}/temp/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = tmp / "nginx.conf"
    config.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\nerror_log {tmp}/error.log;\n"
        + "events { worker_connections 256; }\n"
        + f"http {{\n{temp}\n    include {site};\n}}\n"
    )
    return config


def _wait_for(url: str, process: subprocess.Popen, log: Path, **kwargs) -> None:
    deadline = time.monotonic() + 180  # migrations on a busy machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=5, **kwargs).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer:\n{log.read_text()}")


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _own_database() -> tuple[str, str | None]:
    """This module's own PostgreSQL database in the PostgreSQL run (URL, name to drop), a
    SQLite file otherwise (the data folder's default)."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        return "", None
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"twofold_tls_proxy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}")), name


def _drop_database(name: str) -> None:
    parts = urlsplit(os.environ["DATABASE_URL"])
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    if not os.access(NGINX, os.X_OK):
        pytest.fail("nginx is missing: `make test` installs Debian's nginx")
    tmp = tmp_path_factory.mktemp("tls-proxy")
    ca, certificate, key = _certificates(tmp)
    upstreams, port = (free_port(), free_port()), free_port()
    url = f"https://localhost:{port}"
    redis, (database_url, database) = RedisServer(), _own_database()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env = {k: v for k, v in env.items() if not k.startswith(("TWOFOLD_", "DJANGO_"))}
    env |= {"TWOFOLD_DATA_DIR": str(tmp / "data"), "TWOFOLD_BASE_URL": url}
    env |= {"TWOFOLD_TRUSTED_PROXIES": "1", "REDIS_URL": redis.url, "PYTHONPATH": str(ROOT)}
    env |= {"DATABASE_URL": database_url} if database_url else {}
    site = tmp / "twofold.conf"
    site.write_text(
        _site(
            {
                "SERVER_NAME": "localhost",
                "LISTEN": f"127.0.0.1:{port}",
                "HTTP_LISTEN": f"127.0.0.1:{free_port()}",
                "BASE_URL": url,
                "CERTIFICATE": str(certificate),
                "CERTIFICATE_KEY": str(key),
                "UPSTREAM_1": f"127.0.0.1:{upstreams[0]}",
                "UPSTREAM_2": f"127.0.0.1:{upstreams[1]}",
                "LOG_DIR": str(tmp),
            }
        )
    )
    config = _main_config(tmp, site)
    twofold = [sys.executable, "-m", "twofold.cli"]
    processes: list[subprocess.Popen] = []
    redis.start()
    try:
        # The first migrates and seeds the demo; the second serves the same data. While the
        # second starts, nginx starts and Alice's code app is added (one wait, not three).
        logs = [tmp / "twofold-0.log", tmp / "twofold-1.log"]
        demo, serve = (
            [*twofold, command, "--port", str(upstream), "--workers", "1"]
            for command, upstream in zip(("demo", "serve"), upstreams, strict=True)
        )
        processes.append(_start(demo, env, logs[0]))
        _wait_for(f"http://127.0.0.1:{upstreams[0]}/readyz", processes[-1], logs[0])
        processes.append(_start(serve, env, logs[1]))
        test = [NGINX, "-p", str(tmp), "-c", str(config), "-t"]
        checked = subprocess.run(test, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        daemon = f"daemon off; pid {tmp}/nginx.pid;"
        nginx = [NGINX, "-p", str(tmp), "-c", str(config), "-g", daemon]
        processes.append(_start(nginx, env, tmp / "nginx.out"))
        saved = json.loads((tmp / "data" / "demo-credentials.json").read_text())
        stack = Proxied(
            url, ca, env, tmp / "twofold-access.log", upstreams, saved["users"][ALICE], None
        )
        stack.code_app = pyotp.TOTP(stack.manage_shell(ADD_CODE_APP))
        _wait_for(f"http://127.0.0.1:{upstreams[1]}/readyz", processes[1], logs[1])
        _wait_for(f"{url}/healthz", processes[-1], tmp / "error.log", verify=str(ca))
        yield stack
    finally:
        for process in reversed(processes):
            _stop(process)
        redis.stop()
        if database:
            _drop_database(database)
        shutil.rmtree(tmp / "temp", ignore_errors=True)


def _get(proxied: Proxied, path: str, **kwargs) -> requests.Response:
    return requests.get(f"{proxied.url}{path}", verify=str(proxied.ca), timeout=PATIENCE, **kwargs)


# --- Transport ------------------------------------------------------------------------------


def test_answers_through_the_proxy_carry_hsts(proxied: Proxied) -> None:
    answer = _get(proxied, "/signin")
    assert answer.status_code == 200
    assert "max-age=31536000" in answer.headers["Strict-Transport-Security"]


def test_the_session_csrf_and_language_cookies_are_host_prefixed_secure_and_for_the_whole_site(
    proxied: Proxied,
) -> None:
    browser = proxied.browser()
    browser.get(f"{proxied.url}/signin", timeout=PATIENCE)
    token = browser.cookies["__Host-twofold-csrf"]
    browser.post(
        f"{proxied.url}/signin",
        data={"username": ALICE, "csrfmiddlewaretoken": token},
        timeout=PATIENCE,
    )
    browser.post(
        f"{proxied.url}/language",
        data={"language": "zh-hans", "next": "/signin", "csrfmiddlewaretoken": token},
        timeout=PATIENCE,
    )
    cookies = {cookie.name: cookie for cookie in browser.cookies}
    names = {"__Host-twofold-session", "__Host-twofold-csrf", "__Host-twofold-language"}
    assert names <= set(cookies)
    for cookie in cookies.values():
        assert cookie.name.startswith("__Host-")
        assert (cookie.secure, cookie.path, cookie.domain_specified) == (True, "/", False)


def test_the_audit_trail_has_the_client_address_not_a_forged_forwarded_for(
    proxied: Proxied,
) -> None:
    browser = proxied.browser()
    browser.get(f"{proxied.url}/signin", timeout=PATIENCE)
    token = browser.cookies["__Host-twofold-csrf"]
    forged = {"X-Forwarded-For": FORGED}
    data = {"username": ALICE, "csrfmiddlewaretoken": token}
    browser.post(f"{proxied.url}/signin", data=data, headers=forged, timeout=PATIENCE)
    answer = browser.post(
        f"{proxied.url}/signin/password",
        data={"password": "not the password", "csrfmiddlewaretoken": token},
        headers=forged,
        timeout=PATIENCE,
    )
    correlation_id = answer.headers["X-Correlation-ID"]
    addresses = proxied.manage_shell(AUDIT_ADDRESS.format(correlation_id))
    assert addresses == "['127.0.0.1']"


def test_requests_are_shared_between_both_upstreams(proxied: Proxied) -> None:
    for _ in range(6):
        assert _get(proxied, "/healthz").status_code == 200
    served = set(re.findall(r"upstream=127\.0\.0\.1:(\d+)", proxied.access_log.read_text()))
    assert served == {str(port) for port in proxied.upstreams}


def test_plain_http_is_sent_to_the_https_base_url(proxied: Proxied) -> None:
    site = next(proxied.access_log.parent.glob("twofold.conf")).read_text()
    http_listen = re.search(r"listen (127\.0\.0\.1:\d+);", site)[1]
    answer = requests.get(f"http://{http_listen}/signin", allow_redirects=False, timeout=PATIENCE)
    assert (answer.status_code, answer.headers["Location"]) == (301, f"{proxied.url}/signin")


# --- A person in Chromium -------------------------------------------------------------------


@pytest.fixture
def two_browsers(browser: Browser) -> Iterator[tuple[Page, Page]]:
    """A desktop and a phone-sized browser (the authenticator app), in the test process's
    one Chromium (tests/conftest.py). Chromium takes no extra CA here: the certificate is
    checked by the requests above, not by these."""
    desktop = browser.new_context(ignore_https_errors=True, locale="en-GB")
    phone = browser.new_context(
        **PHONE, user_agent=MOBILE_AGENT, ignore_https_errors=True, locale="en-GB"
    )
    pages = desktop.new_page(), phone.new_page()
    for page in pages:
        page.set_default_timeout(PATIENCE_MS)
    yield pages
    desktop.close()
    phone.close()


def _enter_password(page: Page, proxied: Proxied) -> None:
    page.goto(f"{proxied.url}/signin")
    page.get_by_label("User name").fill(ALICE)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(proxied.password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.browser
def test_a_sign_in_then_a_push_approved_in_the_authenticator_app_work_through_the_proxy(
    proxied: Proxied, two_browsers: tuple[Page, Page]
) -> None:
    page, phone = two_browsers
    _enter_password(page, proxied)
    page.get_by_label("Verification code").fill(proxied.code_app.now())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible(timeout=POLLED)
    names = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert names["__Host-twofold-session"]["secure"]

    page.goto(f"{proxied.url}/account/security-verification/authenticator/setup")
    page.get_by_test_id("activate-push").click()
    link = page.get_by_test_id("activation-link").inner_text()
    assert link.startswith(f"{proxied.url}/authenticator/")
    phone.goto(link)
    phone.get_by_test_id("activate").click()
    expect(phone.get_by_test_id("account")).to_have_count(1)
    expect(page.get_by_test_id("push-badge")).to_be_visible(timeout=POLLED)

    page.context.clear_cookies()
    _enter_password(page, proxied)
    number = page.get_by_test_id("push-number")
    expect(number).to_have_text(re.compile(r"^\d\d$"))
    expect(phone.get_by_test_id("request")).to_be_visible(timeout=POLLED)
    phone.get_by_test_id("number-input").fill(number.inner_text())
    phone.get_by_test_id("approve").click()
    expect(phone.get_by_test_id("result")).to_contain_text("Approved")
    expect(page.get_by_role("heading", name="My account")).to_be_visible(timeout=POLLED)
