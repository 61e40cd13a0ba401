"""The twofold Authenticator, end to end, with two browsers: a desktop that signs in and
a phone-sized one (mobile viewport and user agent) that runs the app at /authenticator/.

The phone makes its P-256 key with WebCrypto, keeps it in IndexedDB, signs its polls and
decisions; the server verifies them. Nothing is faked between the two.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import pyotp
import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, pass_the_recovery_codes_offer
from tests.conftest import PATIENCE_MS
from twofold.accounts.models import MfaState, User
from twofold.core import crypto
from twofold.methods.authenticator import services as authenticator
from twofold.methods.authenticator.models import AuthenticatorDevice, PushNotice
from twofold.methods.models import Challenge, ChallengeState
from twofold.methods.testing import prove_with_previous_step
from twofold.organisations.models import Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
ALICE = "alice@contoso.example"
MOBILE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
# The waiting page polls every 2 s and the app every 3 s.
POLLED = 10_000
SIX_DIGITS = re.compile(r"^\d{3} \d{3}$")


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(**PHONE, user_agent=MOBILE_AGENT, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(PATIENCE_MS)
    yield page
    context.close()


@pytest.fixture
def screenshot(screenshot):
    def take(page: Page, name: str):
        page.wait_for_load_state()
        return screenshot(page, name)

    return take


@pytest.fixture
def alice(db) -> User:
    """Two-step verification on; an ordinary authenticator app for codes to begin with."""
    from twofold.accounts.services import create_user
    from twofold.organisations.services import create_organisation

    contoso: Organisation = create_organisation("Contoso", ["contoso.example"], slug="contoso")
    user = create_user(
        contoso, ALICE, PASSWORD, display_name="Alice Example", mfa_state=MfaState.ENABLED
    )
    return user


def add_code_app(user: User) -> pyotp.TOTP:
    secret = authenticator.new_secret()
    prove_with_previous_step(secret, partial(authenticator.add_device, user, "Old phone", secret))
    return pyotp.TOTP(authenticator.base32(secret))


def enter_password(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/signin")
    page.get_by_label("User name").fill(ALICE)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def expect_signed_in(page: Page) -> None:
    expect(page.get_by_role("heading", name="My account")).to_be_visible(timeout=POLLED)


def activate(page: Page, phone: Page, base_url: str, screenshot=None) -> None:
    """Desktop: sign in with a code, open the settings page, set up the Authenticator.
    Phone: open the activation link, tap Activate."""
    totp = add_code_app(User.objects.get(username=ALICE))
    enter_password(page, base_url)
    page.get_by_label("Verification code").fill(totp.now())
    page.get_by_role("button", name="Verify").click()
    expect_signed_in(page)
    page.goto(f"{base_url}/account/security-verification/authenticator/setup")
    page.get_by_test_id("activate-push").click()
    expect(page.get_by_test_id("activation-qr")).to_be_visible()
    link = page.get_by_test_id("activation-link").inner_text()
    if screenshot:
        screenshot(page, "1-desktop-activation-qr")

    phone.goto(link)
    expect(phone.get_by_test_id("activation-input")).to_have_value(
        " ".join(link[-12:][i : i + 4] for i in (0, 4, 8))
    )
    expect(phone.get_by_test_id("device-name")).to_have_value("Android phone")
    if screenshot:
        screenshot(phone, "2-phone-add-account")
    phone.get_by_test_id("activate").click()
    expect(phone.get_by_test_id("account")).to_have_count(1)
    expect(phone.get_by_test_id("account-code")).to_have_text(SIX_DIGITS)
    # The settings page notices the activation on its own and lists the new app.
    expect(page.get_by_test_id("push-badge")).to_be_visible(timeout=POLLED)


def sign_in_with_push(page: Page, base_url: str) -> str:
    """A new desktop sign-in; returns the number the waiting page shows."""
    page.context.clear_cookies()
    enter_password(page, base_url)
    number = page.get_by_test_id("push-number")
    expect(number).to_have_text(re.compile(r"^\d\d$"))
    return number.inner_text()


def the_push() -> Challenge:
    return Challenge.objects.filter(option="app_notification").latest("created_at")


def wrong(number: str) -> str:
    return "10" if number != "10" else "11"


# --- Activating, and approving with the number --------------------------------------------


def test_activate_from_the_settings_page_and_approve_with_the_right_number(
    live_server, page: Page, phone: Page, alice, screenshot
) -> None:
    activate(page, phone, live_server.url, screenshot)
    device = AuthenticatorDevice.objects.exclude(public_key="").get()
    assert (device.platform, device.name) == ("Android", "Android phone")
    screenshot(page, "3-desktop-settings-lists-the-app")
    screenshot(phone, "4-phone-accounts")

    number = sign_in_with_push(page, live_server.url)
    assert number == PushNotice.objects.get().number
    screenshot(page, "5-desktop-waiting-with-number")

    expect(phone.get_by_test_id("request")).to_be_visible(timeout=POLLED)
    expect(phone.get_by_test_id("request-application")).to_have_text("twofold")
    phone.get_by_test_id("number-input").fill(number)
    screenshot(phone, "6-phone-request")
    phone.get_by_test_id("approve").click()
    expect(phone.get_by_test_id("result")).to_contain_text("Approved")
    screenshot(phone, "7-phone-approved")

    expect_signed_in(page)
    assert the_push().state == ChallengeState.APPROVED


def test_a_wrong_number_refuses_the_sign_in(
    live_server, page: Page, phone: Page, alice, screenshot
) -> None:
    activate(page, phone, live_server.url)
    number = sign_in_with_push(page, live_server.url)
    expect(phone.get_by_test_id("request")).to_be_visible(timeout=POLLED)
    phone.get_by_test_id("number-input").fill(wrong(number))
    phone.get_by_test_id("approve").click()
    expect(phone.get_by_test_id("result")).to_contain_text("doesn't match")
    screenshot(phone, "phone-wrong-number")
    expect(page.get_by_text("didn't match the one on this screen")).to_be_visible(timeout=POLLED)
    assert the_push().state == ChallengeState.DENIED


def test_denying_on_the_phone_stops_the_sign_in(
    live_server, page: Page, phone: Page, alice, screenshot
) -> None:
    activate(page, phone, live_server.url)
    sign_in_with_push(page, live_server.url)
    expect(phone.get_by_test_id("request")).to_be_visible(timeout=POLLED)
    phone.get_by_test_id("deny").click()
    expect(phone.get_by_test_id("result")).to_contain_text("Denied")
    expect(page.get_by_text("The sign-in was denied on your app.")).to_be_visible(timeout=POLLED)
    screenshot(page, "desktop-denied")


def test_reporting_fraud_blocks_the_user(
    live_server, page: Page, phone: Page, alice, screenshot
) -> None:
    activate(page, phone, live_server.url)
    sign_in_with_push(page, live_server.url)
    expect(phone.get_by_test_id("request")).to_be_visible(timeout=POLLED)
    phone.get_by_test_id("report-fraud").click()
    expect(phone.get_by_test_id("result")).to_contain_text("Fraud reported")
    screenshot(phone, "phone-fraud-reported")
    expect(page.get_by_text("You reported this sign-in as fraud")).to_be_visible(timeout=POLLED)
    assert User.objects.get(username=ALICE).is_blocked


def test_an_unanswered_push_expires(live_server, page: Page, phone: Page, alice) -> None:
    activate(page, phone, live_server.url)
    sign_in_with_push(page, live_server.url)
    Challenge.objects.filter(pk=the_push().pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    expect(page.get_by_text("The request to your app expired")).to_be_visible(timeout=POLLED)
    # The phone drops the request it was showing once the server no longer lists it.
    expect(phone.get_by_test_id("request")).to_be_hidden(timeout=POLLED)


def test_a_deleted_device_cannot_approve(
    live_server, page: Page, phone: Page, alice, browser: Browser, screenshot
) -> None:
    activate(page, phone, live_server.url)
    # Someone else (with the password) signs in as Alice in another browser.
    other = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    intruder = other.new_page()
    number = sign_in_with_push(intruder, live_server.url)
    expect(phone.get_by_test_id("request")).to_be_visible(timeout=POLLED)

    # Alice deletes the app on her settings page (she verified minutes ago).
    device = AuthenticatorDevice.objects.exclude(public_key="").get()
    page.goto(f"{live_server.url}/account/security-verification/authenticator/{device.pk}/delete")
    page.get_by_role("button", name="Delete").click()
    assert not AuthenticatorDevice.objects.filter(pk=device.pk).exists()

    phone.get_by_test_id("number-input").fill(number)
    phone.get_by_test_id("approve").click()
    expect(phone.get_by_test_id("result")).to_contain_text(
        "This account was removed from your organisation's records."
    )
    assert the_push().state == ChallengeState.PENDING
    phone.get_by_test_id("result-done").click()
    expect(phone.get_by_test_id("account-removed")).to_be_visible()
    screenshot(phone, "phone-account-removed")
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="Remove from this app").click()
    expect(phone.get_by_test_id("account")).to_have_count(0)
    other.close()


def test_the_app_shows_codes_offline_and_the_sign_in_page_accepts_them(
    live_server, page: Page, phone: Page, alice, screenshot
) -> None:
    activate(page, phone, live_server.url)
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.context.set_offline(True)
    expect(phone.get_by_test_id("offline")).to_be_visible(timeout=POLLED)
    # Reopened without a network: the service worker serves the app, IndexedDB the keys.
    phone.reload()
    expect(phone.get_by_test_id("account-code")).to_have_text(SIX_DIGITS)
    screenshot(phone, "phone-offline-codes")
    code = phone.get_by_test_id("account-code").get_attribute("data-code")

    sign_in_with_push(page, live_server.url)
    page.get_by_text("Use another way to verify").click()
    page.get_by_test_id("option-app_code").click()
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect_signed_in(page)


def test_a_newcomer_registers_the_app_at_sign_in(
    live_server, page: Page, phone: Page, alice, screenshot
) -> None:
    enter_password(page, live_server.url)
    expect(page.get_by_role("heading", name="More information required")).to_be_visible()
    page.get_by_test_id("register-push").click()
    link = page.get_by_test_id("activation-link").inner_text()
    screenshot(page, "1-register-activation")
    phone.goto(link)
    phone.get_by_test_id("activate").click()
    expect(phone.get_by_test_id("account")).to_have_count(1)
    # The registration page notices the activation and finishes by itself.
    pass_the_recovery_codes_offer(page)
    expect_signed_in(page)
    assert User.objects.get(username=ALICE).preferred_option == "app_notification"


def test_one_app_holds_accounts_of_two_organisations_each_with_its_own_key(
    live_server, phone: Page, alice, screenshot
) -> None:
    from twofold.accounts.services import create_user
    from twofold.methods.authenticator import activation
    from twofold.organisations.services import create_organisation

    fabrikam = create_organisation("Fabrikam", ["fabrikam.example"], slug="fabrikam")
    frank = create_user(fabrikam, "frank@fabrikam.example", PASSWORD, mfa_state=MfaState.ENABLED)
    phone.goto(f"{live_server.url}/authenticator/")
    expect(phone.get_by_role("heading", name="No accounts yet")).to_be_visible()
    screenshot(phone, "1-empty")
    for user in (alice, frank):
        _issued, code = activation.issue(user)
        phone.get_by_test_id("add-account").click()
        phone.get_by_test_id("activation-input").fill(f"{code[:4]} {code[4:8]} {code[8:]}")
        phone.get_by_test_id("activate").click()
        expect(phone.get_by_test_id("add-error")).to_be_hidden()
    expect(phone.get_by_test_id("account")).to_have_count(2)
    expect(phone.get_by_test_id("accounts")).to_contain_text("Fabrikam")
    screenshot(phone, "2-two-accounts")
    keys = set(AuthenticatorDevice.objects.values_list("public_key", flat=True))
    assert len(keys) == 2
    assert len({crypto.decrypt(key) for key in keys}) == 2

    phone.get_by_test_id("add-account").click()
    phone.get_by_test_id("activation-input").fill("1234 5678 9012")
    phone.get_by_test_id("activate").click()
    expect(phone.get_by_test_id("add-error")).to_contain_text("not valid any more")
