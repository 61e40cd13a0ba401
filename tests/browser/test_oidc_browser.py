"""Signing in to an application through twofold's OpenID Connect provider, end to end.

The application's side is an unmodified client library: Authlib's ``OAuth2Session``
(authorization code + PKCE), with the ID token's signature checked by joserfc against the
JWKS that discovery points to. Its redirect URI is a tiny HTTP server on a loopback port
that notes what the browser brought. The person's side is Chromium: password, then a code
from the authenticator app (pyotp) or a text read on the dev outbox page, their phone.
The last test runs examples/oidc_app.py as a subprocess and signs in through it.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Page, expect

from twofold.accounts.models import MfaState, User
from twofold.methods.authenticator import services as authenticator
from twofold.methods.phone import services as phones
from twofold.methods.testing import prove_with_previous_step
from twofold.oidc import services
from twofold.oidc.claims import ACR_MFA, ACR_PWD
from twofold.organisations.models import Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
ALICE = "alice@contoso.example"
AUTH_NUMBER = "+14255550134"


# --- Set-up --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _provider_at_the_live_server(settings, live_server) -> None:
    """The issuer is the live server's address; the outbox page is the person's phone."""
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "dev_outbox": True,
        "resend_cooldown_seconds": 0,
        "texts_per_user_per_hour": 100,
        "texts_per_number_per_hour": 100,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Noted(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"<!doctype html><title>Application</title><h1>Back at the app</h1>")

    def log_message(self, *args: object) -> None:
        """Quiet: the query holds codes, which are not for logs."""


@pytest.fixture
def redirect_target() -> Iterator[str]:
    """A loopback HTTP server standing in for the application's redirect URIs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Noted)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def contoso(db) -> Organisation:
    from twofold.organisations.services import create_organisation

    return create_organisation("Contoso", ["contoso.example"], slug="contoso")


@pytest.fixture
def admin(contoso) -> User:
    from twofold.accounts.services import create_user

    return create_user(contoso, "admin@contoso.example", PASSWORD, is_admin=True)


@pytest.fixture
def alice(contoso) -> User:
    """Two-step verification on; her authentication phone gets texts."""
    from twofold.accounts.services import create_user

    user = create_user(
        contoso,
        ALICE,
        PASSWORD,
        display_name="Alice Example",
        email=ALICE,
        mfa_state=MfaState.ENABLED,
    )
    phones.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


def add_app(user: User) -> str:
    """Enrol an authenticator app (proven with the previous step's code), preferred; its key."""
    secret = authenticator.new_secret()
    prove_with_previous_step(
        secret, partial(authenticator.add_device, user, "Alice's phone", secret)
    )
    User.objects.filter(pk=user.pk).update(preferred_option="app_code")
    return authenticator.base32(secret)


# --- The application: Authlib, as any relying party would use it ---------------------------


@dataclass
class RelyingParty:
    """An application: PKCE always; a secret too if confidential; loopback redirect URIs."""

    issuer: str
    client_id: str
    home: str
    secret: str = ""
    code_challenge_method: str = "S256"
    verifier: str = ""
    nonce: str = ""
    state: str = ""
    oauth: OAuth2Session = field(init=False)

    def __post_init__(self) -> None:
        self.provider = requests.get(
            f"{self.issuer}/.well-known/openid-configuration", timeout=10
        ).json()
        self.oauth = OAuth2Session(
            self.client_id,
            self.secret or None,
            scope="openid profile email",
            redirect_uri=f"{self.home}/callback",
            code_challenge_method=self.code_challenge_method,
            token_endpoint_auth_method="client_secret_basic" if self.secret else "none",
        )

    def authorization_url(self, **extra: str) -> str:
        self.verifier, self.nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        url, self.state = self.oauth.create_authorization_url(
            self.provider["authorization_endpoint"],
            code_verifier=self.verifier,
            nonce=self.nonce,
            **extra,
        )
        return url

    def answer(self, page: Page) -> dict[str, list[str]]:
        """The browser is back at the redirect URI: what it brought, once the answer is
        known to come from the issuer asked (RFC 9207, against mix-up attacks)."""
        page.wait_for_url(f"{self.home}/callback?**")
        answer = parse_qs(urlsplit(page.url).query)
        assert answer["iss"] == [self.provider["issuer"]], page.url
        return answer

    def tokens(self, page: Page) -> dict:
        """The browser is back at the redirect URI: its code (and state) for tokens."""
        self.answer(page)
        return self.oauth.fetch_token(
            self.provider["token_endpoint"],
            authorization_response=page.url,
            code_verifier=self.verifier,
        )

    def claims(self, id_token: str, *, refreshed: bool = False) -> dict:
        """The ID token's claims, once its RS256 signature checks out against the JWKS."""
        jwks = requests.get(self.provider["jwks_uri"], timeout=10).json()
        token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
        expected = {"iss": self.provider["issuer"], "aud": self.client_id}
        if not refreshed:  # a refreshed ID token carries no nonce (OIDC Core 12.2)
            expected["nonce"] = self.nonce
        jwt.JWTClaimsRegistry(
            **{name: {"essential": True, "value": value} for name, value in expected.items()}
        ).validate(token.claims)
        assert token.header["alg"] == "RS256"
        return token.claims

    def logout_url(self, id_token: str) -> str:
        query = {"id_token_hint": id_token, "post_logout_redirect_uri": f"{self.home}/signed-out"}
        return (
            requests.Request("GET", self.provider["end_session_endpoint"], params=query)
            .prepare()
            .url
        )


@pytest.fixture
def party(live_server, admin, redirect_target) -> RelyingParty:
    """A public client (a native app, RFC 8252): PKCE and no secret."""
    application, _secret = services.register_application(
        admin.organisation,
        admin,
        name="Contoso Desk",
        client_type=services.PUBLIC,
        redirect_uris=[f"{redirect_target}/callback"],
    )
    return RelyingParty(live_server.url, application.client_id, redirect_target)


@pytest.fixture
def web_party(live_server, admin, redirect_target) -> RelyingParty:
    """A confidential web application, which may sign users out back to a loopback address."""
    application, secret = services.register_application(
        admin.organisation,
        admin,
        name="Contoso Expenses",
        client_type=services.CONFIDENTIAL,
        redirect_uris=[f"{redirect_target}/callback"],
        post_logout_redirect_uris=[f"{redirect_target}/signed-out"],
    )
    return RelyingParty(live_server.url, application.client_id, redirect_target, secret)


# --- What the person does --------------------------------------------------------------


def enter_password(page: Page, username: str = ALICE) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("User name").fill(username)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def texted_code(page: Page, base_url: str) -> str:
    """The code in the newest text, read on the outbox page (the phone) in another tab."""
    phone = page.context.new_page()
    phone.goto(f"{base_url}/dev/outbox")
    body = phone.get_by_test_id("outbox-text-body").first.inner_text()
    phone.close()
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    return found.group(1)


def verify_with(page: Page, code: str, *, remember: bool = False) -> None:
    page.get_by_label("Verification code").fill(code)
    if remember:
        page.get_by_label("Don't ask again for 14 days").check()
    page.get_by_role("button", name="Verify").click()


# --- Tests -----------------------------------------------------------------------------------


def test_an_app_code_sign_in_gives_a_signed_id_token_with_amr_otp_then_refresh_and_userinfo(
    live_server, page: Page, party: RelyingParty, alice, screenshot
):
    key = add_app(alice)
    page.goto(party.authorization_url())
    enter_password(page)
    expect(page.get_by_test_id("challenge-prompt")).to_contain_text("authenticator app")
    screenshot(page, "1-app-code-asked")
    verify_with(page, pyotp.TOTP(key).now())

    tokens = party.tokens(page)
    screenshot(page, "2-back-at-the-app")
    claims = party.claims(tokens["id_token"])
    assert claims["amr"] == ["pwd", "mfa", "otp"]
    assert claims["acr"] == ACR_MFA
    assert claims["sub"] == str(alice.pk)

    userinfo = party.oauth.get(party.provider["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == claims["sub"]
    assert userinfo.json()["preferred_username"] == ALICE
    assert userinfo.json()["email"] == ALICE

    refreshed = party.oauth.refresh_token(party.provider["token_endpoint"])
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    again = party.claims(refreshed["id_token"], refreshed=True)
    assert (again["sub"], again["amr"], again["acr"]) == (
        claims["sub"],
        ["pwd", "mfa", "otp"],
        ACR_MFA,
    )
    assert party.oauth.get(party.provider["userinfo_endpoint"], timeout=10).status_code == 200


def test_a_texted_code_sign_in_gives_amr_sms(live_server, page: Page, party, alice, screenshot):
    page.goto(party.authorization_url())
    enter_password(page)
    expect(page.get_by_test_id("challenge-prompt")).to_contain_text("We texted a 6-digit code")
    screenshot(page, "1-code-texted")
    verify_with(page, texted_code(page, live_server.url))

    claims = party.claims(party.tokens(page)["id_token"])
    assert claims["amr"] == ["pwd", "mfa", "sms"]
    assert claims["acr"] == ACR_MFA
    assert claims["name"] == "Alice Example"


def test_acr_values_make_a_trusted_device_confirm_with_a_second_factor(
    live_server, page: Page, web_party: RelyingParty, alice, screenshot
):
    party = web_party
    # First sign-in: a texted code, and "don't ask again" on this browser.
    page.goto(party.authorization_url())
    enter_password(page)
    verify_with(page, texted_code(page, live_server.url), remember=True)
    first = party.tokens(page)
    page.goto(party.logout_url(first["id_token"]))
    page.wait_for_url(f"{party.home}/signed-out")

    # The trusted device skips the second factor at sign-in: acr says password only.
    page.goto(party.authorization_url())
    enter_password(page)
    trusted = party.claims(party.tokens(page)["id_token"])
    assert (trusted["acr"], trusted["amr"]) == (ACR_PWD, ["pwd", "mfa"])

    # The application demands a second factor: twofold asks for one, trusted device or not.
    page.goto(party.authorization_url(acr_values=ACR_MFA))
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_text("The application you're signing in to asks")).to_be_visible()
    screenshot(page, "1-confirm-its-you")
    page.get_by_test_id("start-text:authentication").click()
    verify_with(page, texted_code(page, live_server.url))
    stepped_up = party.claims(party.tokens(page)["id_token"])
    assert (stepped_up["acr"], stepped_up["amr"]) == (ACR_MFA, ["pwd", "mfa", "sms"])


def test_rp_initiated_logout_ends_the_twofold_session(
    live_server, page: Page, web_party: RelyingParty, alice, screenshot
):
    party = web_party
    key = add_app(alice)
    page.goto(party.authorization_url())
    enter_password(page)
    verify_with(page, pyotp.TOTP(key).now())
    tokens = party.tokens(page)
    page.goto(f"{live_server.url}/account")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()

    page.goto(party.logout_url(tokens["id_token"]))
    page.wait_for_url(f"{party.home}/signed-out")
    screenshot(page, "1-back-at-the-app")

    page.goto(f"{live_server.url}/account")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(party.authorization_url())
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "2-signed-out-at-twofold")


def test_a_refusal_from_the_oauth_library_reaches_the_app_with_the_issuer(
    live_server, page: Page, party: RelyingParty, alice, screenshot
):
    key = add_app(alice)
    plain = RelyingParty(party.issuer, party.client_id, party.home, code_challenge_method="plain")
    page.goto(plain.authorization_url())
    enter_password(page)
    verify_with(page, pyotp.TOTP(key).now())

    answer = plain.answer(page)  # checks iss
    screenshot(page, "1-refused-back-at-the-app")
    assert (answer["error"], answer["state"]) == (["invalid_request"], [plain.state])


# --- examples/oidc_app.py ------------------------------------------------------------------


@pytest.fixture
def example_app(live_server, admin, tmp_path) -> Iterator[tuple[str, Path]]:
    """The example relying web app, registered as the README says and run as a process."""
    home = f"http://127.0.0.1:{free_port()}"
    application, secret = services.register_application(
        admin.organisation,
        admin,
        name="Contoso Example App",
        client_type=services.CONFIDENTIAL,
        redirect_uris=[f"{home}/callback"],
        post_logout_redirect_uris=[f"{home}/"],
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("TWOFOLD_")}
    env.update(
        TWOFOLD_ISSUER=live_server.url,
        EXAMPLE_APP_URL=home,
        OIDC_CLIENT_ID=application.client_id,
        OIDC_CLIENT_SECRET=secret,
    )
    log = tmp_path / "example-app.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "oidc_app.py")],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_it_answers(home, process, log)
        yield home, log
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_it_answers(url: str, process: subprocess.Popen, log: Path) -> None:
    for _attempt in range(200):
        if process.poll() is not None:
            raise AssertionError(log.read_text())
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer")


def test_the_example_app_signs_in_through_twofold_with_a_second_factor_and_out(
    live_server, page: Page, example_app: tuple[str, Path], alice, screenshot
):
    example_app, log = example_app
    key = add_app(alice)
    page.goto(example_app)
    expect(page.get_by_test_id("signed-out")).to_be_visible()
    screenshot(page, "1-example-app")
    page.get_by_role("link", name="Sign in", exact=True).click()
    enter_password(page)
    screenshot(page, "2-twofold-asks-for-a-code")
    verify_with(page, pyotp.TOTP(key).now())

    expect(page.get_by_test_id("signed-in")).to_have_text(f"Signed in as Alice Example ({ALICE})")
    expect(page.get_by_test_id("how")).to_have_text(f"amr pwd mfa otp, acr {ACR_MFA}")
    screenshot(page, "3-signed-in-at-the-app")
    assert "GET /callback 302" in log.read_text()
    assert "code=" not in log.read_text()

    page.get_by_role("link", name="Sign out").click()
    expect(page.get_by_test_id("signed-out")).to_be_visible()
    assert page.url == f"{example_app}/"
    page.goto(f"{live_server.url}/account")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
