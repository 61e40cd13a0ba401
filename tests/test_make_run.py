"""`make run` from this checkout serves a working demo (the first thing a newcomer does),
and what README's "For applications" promises works against it: the VPN-style check with
curl (examples/vpn_check.sh), the example web app (examples/oidc_app.py), and RADIUS with
FreeRADIUS's radclient ("VPNs and Wi-Fi: RADIUS")."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests

pytestmark = pytest.mark.own_servers  # the suite's database plays no part: once

ROOT = Path(__file__).resolve().parents[1]

# Run inside the served demo's data folder (through `twofold manage shell`): what a person
# would do in the browser first, made through the services. Prints what the tests need.
SET_UP = """
import json
from twofold.accounts.models import User
from twofold.methods.app_passwords import services as app_passwords
from functools import partial
from twofold.methods.authenticator import services as authenticator
from twofold.methods.testing import prove_with_previous_step
from twofold.oidc import services as oidc

alice = User.objects.get(username="alice@contoso.example")
secret = authenticator.new_secret()
prove_with_previous_step(secret, partial(authenticator.add_device, alice, "Phone", secret))
_entry, app_password = app_passwords.create(alice, "Mail")
application = oidc.applications_of(alice.organisation).get(name="Contoso Example App")
admin = User.objects.get(username="admin@contoso.example")
oidc.update_application(application, admin, name=application.name,
                        redirect_uris=["{home}/callback"], post_logout_redirect_uris=["{home}/"])
print(json.dumps({{"key": authenticator.base32(secret), "app_password": app_password}}))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                return response.status
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env = {k: v for k, v in env.items() if not k.startswith(("TWOFOLD_", "DJANGO_"))}
    return env | extra


@dataclass
class Demo:
    url: str
    data: Path
    log: Path
    radius_port: int = 0

    def credentials(self) -> dict:
        return json.loads((self.data / "demo-credentials.json").read_text())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("make-run")
    port, radius_port = _free_port(), _free_udp_port()
    env = _clean_env(
        HOST="127.0.0.1",
        PORT=str(port),
        RADIUS_PORT=str(radius_port),
        TWOFOLD_DATA_DIR=str(tmp / "data"),
    )
    log = tmp / "make-run.log"
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
        _wait_for(f"http://127.0.0.1:{port}/readyz", process)
        # Its address names localhost (passkeys refuse an IP address); it listens on 127.0.0.1.
        yield Demo(f"http://localhost:{port}", tmp / "data", log, radius_port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_make_run_migrates_seeds_and_serves_the_sign_in_page(demo: Demo) -> None:
    with urllib.request.urlopen(f"{demo.url}/signin", timeout=10) as response:  # noqa: S310
        assert response.status == 200
    printed = demo.log.read_text()
    assert "alice@contoso.example" in printed
    assert "admin@contoso.example" in printed
    assert (demo.data / "twofold.sqlite3").exists()


def test_make_run_prints_the_demo_api_token_and_the_example_apps_client_id(demo: Demo) -> None:
    printed, saved = demo.log.read_text(), demo.credentials()
    assert saved["api_client"]["token"] in printed
    assert saved["application"]["client_id"] in printed


# --- For applications: README's promises ----------------------------------------------------


@pytest.fixture(scope="module")
def alice_set_up(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Alice with an authenticator app and an app password; the example app's address."""
    home = f"http://127.0.0.1:{_free_port()}"
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "twofold"),
            "manage",
            "shell",
            "-c",
            SET_UP.format(home=home),
        ],
        env=_clean_env(TWOFOLD_DATA_DIR=str(demo.data)),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"home": home}


def vpn_check(demo: Demo, user: str, password: str, *code: str) -> tuple[int, dict]:
    """examples/vpn_check.sh as a gateway runs it: the password on standard input."""
    done = subprocess.run(
        [str(ROOT / "examples" / "vpn_check.sh"), user, *code],
        input=f"{password}\n",
        env=_clean_env(TWOFOLD_URL=demo.url, TWOFOLD_DATA_DIR=str(demo.data)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    answer = json.loads(done.stdout or done.stderr.splitlines()[-1])
    return done.returncode, answer


def test_the_vpn_check_accepts_a_password_and_a_code_from_the_app(demo, alice_set_up) -> None:
    password = demo.credentials()["users"]["alice@contoso.example"]
    code = pyotp.TOTP(alice_set_up["key"]).now()
    status, answer = vpn_check(demo, "alice@contoso.example", password, code)
    assert (status, answer["result"]) == (0, "accept")


def test_the_vpn_check_rejects_the_password_with_a_wrong_code(demo, alice_set_up) -> None:
    password = demo.credentials()["users"]["alice@contoso.example"]
    wrong = "000000" if pyotp.TOTP(alice_set_up["key"]).now() != "000000" else "111111"
    status, answer = vpn_check(demo, "alice@contoso.example", password, wrong)
    assert (status, answer["result"], answer["reason"]) == (1, "reject", "wrong_code")


def test_the_vpn_check_accepts_an_app_password_alone(demo, alice_set_up) -> None:
    status, answer = vpn_check(demo, "alice@contoso.example", alice_set_up["app_password"])
    assert (status, answer["result"]) == (0, "accept")


def test_the_vpn_check_with_a_bad_token_is_an_error(demo) -> None:
    done = subprocess.run(
        [str(ROOT / "examples" / "vpn_check.sh"), "bob@contoso.example"],
        input="whatever\n",
        env=_clean_env(TWOFOLD_URL=demo.url, TWOFOLD_API_TOKEN="tf_nothing_here"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert '"error": "unauthenticated"' in done.stderr


# A tab, double quotes and a backslash: what a JSON string has to escape.
ODD_PASSWORD = 'tab\there "quoted" back\\slash Zq7!'


@pytest.fixture(scope="module")
def bob_with_an_odd_password(demo: Demo) -> str:
    """Bob (two-step verification off) with a password that JSON has to escape."""
    script = (
        "from twofold.accounts.models import User\n"
        "from twofold.accounts import services\n"
        "import sys\n"
        'services.set_password(User.objects.get(username="bob@contoso.example"), '
        "sys.stdin.read())\n"
    )
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "twofold"), "manage", "shell", "-c", script],
        input=ODD_PASSWORD,
        env=_clean_env(TWOFOLD_DATA_DIR=str(demo.data)),
        capture_output=True,
        text=True,
        check=True,
    )
    return ODD_PASSWORD


def test_the_vpn_check_accepts_a_password_with_a_tab_a_quote_and_a_backslash(
    demo, bob_with_an_odd_password
) -> None:
    status, answer = vpn_check(demo, "bob@contoso.example", bob_with_an_odd_password)
    assert (status, answer["result"]) == (0, "accept")


def run_vpn_check(args: list[str], stdin: str, **env: str) -> subprocess.CompletedProcess:
    """examples/vpn_check.sh with only the environment given (no TWOFOLD_ settings else)."""
    return subprocess.run(
        [str(ROOT / "examples" / "vpn_check.sh"), *args],
        input=stdin,
        env=_clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_vpn_check_without_an_api_token_is_an_error(demo, tmp_path) -> None:
    done = run_vpn_check(
        ["bob@contoso.example"], "whatever\n", TWOFOLD_URL=demo.url, TWOFOLD_DATA_DIR=str(tmp_path)
    )
    assert (done.returncode, "TWOFOLD_API_TOKEN" in done.stderr) == (3, True)


def test_the_vpn_check_with_no_token_in_the_credentials_file_is_an_error(demo, tmp_path) -> None:
    (tmp_path / "demo-credentials.json").write_text('{"users": {}}')
    done = run_vpn_check(
        ["bob@contoso.example"], "whatever\n", TWOFOLD_URL=demo.url, TWOFOLD_DATA_DIR=str(tmp_path)
    )
    assert (done.returncode, "TWOFOLD_API_TOKEN" in done.stderr) == (3, True)


def test_the_vpn_check_without_a_password_is_an_error(demo) -> None:
    done = run_vpn_check(
        ["bob@contoso.example"], "", TWOFOLD_URL=demo.url, TWOFOLD_DATA_DIR=str(demo.data)
    )
    assert (done.returncode, "no password" in done.stderr) == (3, True)


def test_the_vpn_check_without_a_user_is_an_error(demo) -> None:
    done = run_vpn_check([], "whatever\n", TWOFOLD_URL=demo.url, TWOFOLD_DATA_DIR=str(demo.data))
    assert (done.returncode, "usage" in done.stderr) == (3, True)


def test_the_example_app_sends_people_to_sign_in_at_the_demo(demo, alice_set_up) -> None:
    home = alice_set_up["home"]
    env = _clean_env(TWOFOLD_ISSUER=demo.url, EXAMPLE_APP_URL=home, TWOFOLD_DATA_DIR=str(demo.data))
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "oidc_app.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(home, process)
        browser = requests.Session()
        to_twofold = browser.get(f"{home}/login", allow_redirects=False, timeout=10)
        authorize = urlsplit(to_twofold.headers["Location"])
        query = parse_qs(authorize.query)
        assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == (
            f"{demo.url}/oauth2/authorize"
        )
        assert query["client_id"] == [demo.credentials()["application"]["client_id"]]
        assert query["code_challenge_method"] == ["S256"]
        sign_in = browser.get(to_twofold.headers["Location"], timeout=10)
        assert sign_in.status_code == 200
        assert urlsplit(sign_in.url).path == "/signin"
        forged = browser.get(f"{home}/callback?code=forged&state=forged", timeout=10)
        assert forged.status_code == 400
        assert "Sign-in failed" in forged.text
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- VPNs and Wi-Fi: RADIUS (README's radclient lines) ---------------------------------------


def radclient(demo: Demo, user: str, password: str, *extra: str) -> str:
    """FreeRADIUS's radclient against the demo's RADIUS port, as README shows it."""
    binary = shutil.which("radclient")
    if binary is None:
        pytest.fail("radclient is missing: `make radclient` installs freeradius-utils")
    lines = [f'User-Name = "{user}"', f'User-Password = "{password}"', *extra]
    done = subprocess.run(
        [binary, "-x", "-r", "2", "-t", "5", f"127.0.0.1:{demo.radius_port}", "auth",
         demo.credentials()["radius_client"]["secret"]],
        input="\n".join([*lines, "Message-Authenticator = 0x00"]) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def alice_recovery_codes(demo: Demo, alice_set_up: dict) -> list[str]:
    script = (
        "import json\n"
        "from twofold.accounts.models import User\n"
        "from twofold.methods.recovery import services\n"
        'print(json.dumps(services.make_set(User.objects.get(username="alice@contoso.example"))))'
    )
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "twofold"), "manage", "shell", "-c", script],
        env=_clean_env(TWOFOLD_DATA_DIR=str(demo.data)),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_make_run_prints_the_demo_radius_secret(demo: Demo) -> None:
    assert demo.credentials()["radius_client"]["secret"] in demo.log.read_text()


def test_radclient_signs_alice_in_with_a_code_appended_in_one_round(demo, alice_set_up) -> None:
    password = demo.credentials()["users"]["alice@contoso.example"]
    # The next step's code (accepted, RFC 6238's window): the API tests above used this one.
    code = pyotp.TOTP(alice_set_up["key"]).at(time.time() + 30)
    output = radclient(demo, "alice@contoso.example", password + code)
    assert "Received Access-Accept" in output, output


def test_radclient_signs_alice_in_in_a_challenge_round(demo, alice_recovery_codes) -> None:
    password = demo.credentials()["users"]["alice@contoso.example"]
    first = radclient(demo, "alice@contoso.example", password)
    assert "Received Access-Challenge" in first, first
    state = re.search(r"State = (0x[0-9a-f]+)", first).group(1)
    # Her app is preferred (nothing is sent); a recovery code answers the round too.
    second = radclient(demo, "alice@contoso.example", alice_recovery_codes[0], f"State = {state}")
    assert "Received Access-Accept" in second, second
