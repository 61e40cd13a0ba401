"""Passkeys in Chromium with a virtual authenticator (the DevTools protocol's WebAuthn
domain): the browser makes real credentials and signatures, the server judges them.

The live server answers on ``localhost`` (browsers refuse an IP address as a relying party
ID) and twofold's base URL is set to it, so the relying party ID and origin are real.
"""

from __future__ import annotations

import logging
from functools import partial

import pyotp
import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import CDPSession, Page, Request, expect

from tests.browser.conftest import pass_the_recovery_codes_offer
from twofold.accounts.models import MfaState, User
from twofold.audit.models import AuditEvent
from twofold.methods.authenticator import services as authenticator
from twofold.methods.passkeys import services
from twofold.methods.passkeys.models import Passkey
from twofold.methods.passkeys.tests.softkey import SoftKey
from twofold.methods.testing import prove_with_previous_step

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
ALICE = "alice@contoso.example"


@pytest.fixture
def base_url(live_server, settings) -> str:
    assert live_server.url.startswith("http://localhost:")
    settings.TWOFOLD_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def alice(db) -> tuple[User, pyotp.TOTP]:
    """Two-step verification on, with an authenticator app to sign in and step up with."""
    from twofold.accounts.services import create_user
    from twofold.organisations.services import create_organisation

    contoso = create_organisation("Contoso", ["contoso.example"], slug="contoso")
    user = create_user(
        contoso, ALICE, PASSWORD, display_name="Alice Example", mfa_state=MfaState.ENABLED
    )
    secret = authenticator.new_secret()
    prove_with_previous_step(secret, partial(authenticator.add_device, user, "Old phone", secret))
    return user, pyotp.TOTP(authenticator.base32(secret))


# Chromium's virtual authenticator answers a conditional (autofill) request at once, as
# if the person had picked the passkey from the user-name field's suggestions. Tests of
# the button turn autofill off first, as a browser without it would be.
NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"


def virtual_authenticator(page: Page, **options: object) -> tuple[CDPSession, str]:
    """A platform authenticator with resident keys and user verification (by default)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    settings = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
        **options,
    }
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": settings})
    return cdp, found["authenticatorId"]


def sign_in_with_code(page: Page, base_url: str, totp: pyotp.TOTP) -> None:
    page.goto(f"{base_url}/signin")
    page.get_by_label("User name").fill(ALICE)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Verification code").fill(totp.now())
    page.get_by_role("button", name="Verify").click()
    expect_signed_in(page)


def expect_signed_in(page: Page) -> None:
    expect(page.get_by_role("heading", name="My account")).to_be_visible()


def add_passkey(page: Page, base_url: str, name: str = "Work laptop") -> None:
    page.goto(f"{base_url}/account/security-verification")
    page.get_by_test_id("passkeys-panel").get_by_role("link", name="Add a passkey").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create passkey").click()
    expect(page.get_by_test_id("passkey")).to_have_count(1)


def sign_out(page: Page) -> None:
    page.context.clear_cookies()


@pytest.fixture
def registered(page: Page, base_url: str, alice) -> tuple[CDPSession, str]:
    """Alice signed in once with a code, added a passkey, and is signed out again."""
    cdp, authenticator_id = virtual_authenticator(page)
    sign_in_with_code(page, base_url, alice[1])
    add_passkey(page, base_url)
    sign_out(page)
    page.add_init_script(NO_AUTOFILL)
    return cdp, authenticator_id


def test_a_passkey_is_registered_from_the_settings_page(
    page: Page, base_url: str, alice, screenshot
) -> None:
    cdp, authenticator_id = virtual_authenticator(page)
    sign_in_with_code(page, base_url, alice[1])
    add_passkey(page, base_url)
    screenshot(page, "settings-with-passkey")
    passkey = Passkey.objects.get(user=alice[0])
    assert passkey.name == "Work laptop"
    assert passkey.discoverable
    assert passkey.user_verified
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert [c["isResidentCredential"] for c in stored["credentials"]] == [True]
    assert stored["credentials"][0]["rpId"] == "localhost"
    assert AuditEvent.objects.filter(action="passkey.added", subject=alice[0]).count() == 1


def test_a_passkey_signs_in_without_a_password(
    page: Page, base_url: str, alice, registered, screenshot
) -> None:
    page.goto(f"{base_url}/signin")
    screenshot(page, "signin-page")
    page.get_by_test_id("passkey-signin").click()
    expect_signed_in(page)
    event = AuditEvent.objects.filter(action="signin.completed").latest("at")
    assert event.details["via"] == "passkey"
    assert Passkey.objects.get(user=alice[0]).last_used_at is not None


def test_the_browsers_autofill_offers_the_passkey_and_signs_in(
    page: Page, base_url: str, alice
) -> None:
    virtual_authenticator(page)
    sign_in_with_code(page, base_url, alice[1])
    add_passkey(page, base_url)
    sign_out(page)
    page.goto(f"{base_url}/signin")
    # The field asks for passkeys in its autofill; the virtual authenticator picks one.
    expect_signed_in(page)
    event = AuditEvent.objects.filter(action="signin.completed").latest("at")
    assert event.details["via"] == "passkey"


def test_the_user_name_field_offers_passkeys_in_its_autofill(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/signin")
    expect(page.get_by_label("User name")).to_have_attribute("autocomplete", "username webauthn")


def test_the_sign_in_page_sends_no_request_of_its_own_while_the_person_signs_in(
    page: Page, base_url: str, alice
) -> None:
    """The autofill's options come with the page. Fetched as it loaded, they were written
    to the session while the user name was on its way, and the slower write won: the
    password page then found no user name (docs/design.md, "Sessions")."""
    sent: list[str] = []  # what is neither a page nor what a page shows (scripts, styles)

    def note(request: Request) -> None:
        if request.resource_type in ("fetch", "xhr") or request.method != "GET":
            sent.append(f"{request.method} {request.url}")

    page.on("request", note)
    page.goto(f"{base_url}/signin")
    expect(page.locator("body")).to_have_attribute("data-passkey-autofill", "ready")
    page.wait_for_load_state("networkidle")
    assert sent == []
    page.get_by_label("User name").fill(ALICE)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Verification code")).to_be_visible()
    assert sent == [f"POST {base_url}/signin", f"POST {base_url}/signin/password"]


def test_a_deleted_passkey_is_refused(page: Page, base_url: str, alice, registered) -> None:
    Passkey.objects.filter(user=alice[0]).delete()  # as deleting it on the settings page does
    page.goto(f"{base_url}/signin")
    page.get_by_test_id("passkey-signin").click()
    expect(page.get_by_text("This passkey is not registered here.")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_passkey_is_deleted_from_the_settings_page_and_then_refused(
    page: Page, base_url: str, alice
) -> None:
    virtual_authenticator(page)
    sign_in_with_code(page, base_url, alice[1])
    add_passkey(page, base_url)
    page.get_by_test_id("passkey").get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("passkey")).to_have_count(0)
    sign_out(page)
    page.add_init_script(NO_AUTOFILL)
    page.goto(f"{base_url}/signin")
    page.get_by_test_id("passkey-signin").click()
    expect(page.get_by_text("This passkey is not registered here.")).to_be_visible()


def test_a_passkey_is_renamed(page: Page, base_url: str, alice) -> None:
    virtual_authenticator(page)
    sign_in_with_code(page, base_url, alice[1])
    add_passkey(page, base_url)
    page.get_by_test_id("passkey").get_by_role("link", name="Rename").click()
    page.get_by_label("Name", exact=True).fill("Yubikey on my keyring")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("passkey")).to_contain_text("Yubikey on my keyring")


def test_a_counter_going_backwards_is_refused_audited_and_alerted(
    page: Page, base_url: str, alice, registered, caplog
) -> None:
    cdp, authenticator_id = registered
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    credential = stored["credentials"][0]
    Passkey.objects.filter(user=alice[0]).update(sign_count=50)  # seen further on before
    credential["signCount"] = 3  # a copy of the authenticator, taken earlier
    cdp.send(
        "WebAuthn.removeCredential",
        {"authenticatorId": authenticator_id, "credentialId": credential["credentialId"]},
    )
    cdp.send(
        "WebAuthn.addCredential", {"authenticatorId": authenticator_id, "credential": credential}
    )
    page.goto(f"{base_url}/signin")
    with caplog.at_level(logging.WARNING, logger="twofold.alerts"):
        page.get_by_test_id("passkey-signin").click()
        expect(page.get_by_text("it may have been copied")).to_be_visible()
    event = AuditEvent.objects.get(action="passkey.cloned")
    assert event.details["severity"] == "high"
    assert event.result == "denied"
    assert [r.event for r in caplog.records if r.name == "twofold.alerts"] == ["passkey_cloned"]
    assert Passkey.objects.get(user=alice[0]).sign_count == 50
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_answer_made_for_another_origin_is_refused(
    page: Page, base_url: str, alice, registered, settings
) -> None:
    # twofold now says its address is on another port: the browser's origin no longer is.
    settings.TWOFOLD_BASE_URL = base_url.rsplit(":", 1)[0] + ":1"
    page.goto(f"{base_url}/signin")
    page.get_by_test_id("passkey-signin").click()
    expect(page.get_by_text("Your passkey's answer could not be checked.")).to_be_visible()
    event = AuditEvent.objects.get(action="passkey.refused")
    assert "origin" in event.details["reason"]


def test_user_verification_required_but_not_done_is_refused(
    page: Page, base_url: str, alice, registered
) -> None:
    """A client that does not ask for user verification (the options rewritten on the
    way) gets an answer without it from an authenticator that cannot verify: refused."""
    cdp, authenticator_id = registered
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator_id, "isUserVerified": False}
    )

    def without_user_verification(route) -> None:
        answer = route.fetch()
        options = answer.json()
        assert options["userVerification"] == "required"
        options["userVerification"] = "discouraged"
        route.fulfill(response=answer, json=options)

    page.route("**/passkeys/signin/options", without_user_verification)
    page.goto(f"{base_url}/signin")
    page.get_by_test_id("passkey-signin").click()
    expect(page.get_by_text("Your passkey's answer could not be checked.")).to_be_visible()
    event = AuditEvent.objects.get(action="passkey.refused")
    assert "verif" in event.details["reason"]


def test_a_passkey_is_the_second_factor_after_the_password(
    page: Page, base_url: str, alice, registered, screenshot
) -> None:
    User.objects.filter(pk=alice[0].pk).update(preferred_option="passkey")
    page.goto(f"{base_url}/signin")
    page.get_by_label("User name").fill(ALICE)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The page asks the browser at once; the virtual authenticator answers.
    expect_signed_in(page)
    event = AuditEvent.objects.filter(action="signin.completed").latest("at")
    assert event.details["method"] == "passkey"
    assert Passkey.objects.get(user=alice[0]).sign_count > 0


def test_a_deleted_passkey_is_refused_as_a_second_factor(
    page: Page, base_url: str, alice, registered
) -> None:
    User.objects.filter(pk=alice[0].pk).update(preferred_option="passkey")
    # Alice keeps a second passkey (a security key in a drawer), so the option stays; the
    # one in this browser is deleted from twofold between the page's request and its answer.
    in_browser = Passkey.objects.get(user=alice[0]).pk
    session = SessionStore()
    options = services.begin_registration(session, alice[0])
    drawer = SoftKey(rp_id="localhost", origin=base_url).create(options)
    services.finish_registration(session, alice[0], drawer, "Key in a drawer")

    def delete_then_continue(route) -> None:
        if route.request.method == "POST":
            Passkey.objects.filter(pk=in_browser).delete()
        route.continue_()

    page.route("**/signin/verify", delete_then_continue)
    page.goto(f"{base_url}/signin")
    page.get_by_label("User name").fill(ALICE)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("browser-error")).to_be_visible()
    expect(page.get_by_role("heading", name="My account")).to_have_count(0)
    refused = AuditEvent.objects.filter(action="challenge.verified", result="failure")
    assert refused.get().details["method"] == "passkey"


def test_a_passkey_is_registered_in_first_time_registration_and_signs_in(
    page: Page, base_url: str, screenshot
) -> None:
    from twofold.accounts.services import create_user
    from twofold.organisations.services import create_organisation

    contoso = create_organisation("Contoso", ["contoso.example"], slug="contoso")
    newcomer = create_user(contoso, ALICE, PASSWORD, mfa_state=MfaState.ENABLED)
    virtual_authenticator(page)
    page.goto(f"{base_url}/signin")
    page.get_by_label("User name").fill(ALICE)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    screenshot(page, "registration-choices")
    page.get_by_test_id("register-passkey").click()
    page.get_by_label("Name").fill("My laptop")
    page.get_by_role("button", name="Create passkey").click()
    pass_the_recovery_codes_offer(page)
    expect_signed_in(page)
    assert Passkey.objects.get(user=newcomer).name == "My laptop"
    event = AuditEvent.objects.filter(action="signin.completed").latest("at")
    assert event.details["method"] == "passkey"
