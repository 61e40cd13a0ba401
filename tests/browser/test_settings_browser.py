"""The security verification settings page, as a new user works through it in a browser.

The person signs in, opens the settings page and uses the dev outbox in a second tab as
their phone: texted codes are read there and calls are answered there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from importlib import import_module

import pyotp
import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from conftest import STRONG_PASSWORD
from tests.conftest import PATIENCE_MS
from twofold.accounts.models import User
from twofold.delivery.models import OutboxMessage
from twofold.methods import base, stepup
from twofold.methods.app_passwords.models import AppPassword
from twofold.methods.authenticator import services as authenticator
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.methods.phone import services as phone_services
from twofold.methods.phone.models import Phone
from twofold.methods.phone.settings import PhoneChanges, PhoneEntry
from twofold.selfservice import services as selfservice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETTINGS_PATH = "/account/security-verification"
AUTH_NUMBER = "+14255550134"  # typed as "425 555 0134", shown as "(425) 555-0134"
NEW_NUMBER = "+14255550188"
OFFICE_NUMBER = "+14255550199"
ALTERNATE_NUMBER = "+12065550142"
PREFERRED = "What's your preferred option?"


# --- Set-up --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _demo_phone(settings) -> None:
    """The outbox page is the phone; the caps on texts are raised out of the tests' way."""
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "dev_outbox": True,
        "texts_per_user_per_hour": 1000,
        "texts_per_number_per_hour": 1000,
        "texts_per_country_per_hour": 100_000,
        "resend_cooldown_seconds": 0,
    }


@pytest.fixture
def organisation(db):
    """Contoso as the demo seeds it: app passwords allowed."""
    from twofold.organisations.services import create_organisation

    return create_organisation(
        "Contoso", ["contoso.example"], slug="contoso", allow_app_passwords=True
    )


class Outbox:
    """The demo's phone: the dev outbox page, open in a second tab."""

    def __init__(self, tab: Page, url: str) -> None:
        self.tab = tab
        self.url = f"{url}/dev/outbox"

    def open(self) -> Page:
        self.tab.goto(self.url)
        expect(
            self.tab.get_by_role("heading", name="Outbox: the phone for this demo")
        ).to_be_visible()
        return self.tab

    def newest_text(self) -> Locator:
        return self.open().get_by_test_id("outbox-text").first

    def newest_code(self) -> str:
        body = self.newest_text().get_by_test_id("outbox-text-body").inner_text()
        return re.search(r"\b(\d{6})\b", body).group(1)

    def answer_newest_call_with_hash(self) -> None:
        self.open().get_by_test_id("outbox-call-approve").first.click()
        expect(self.tab.get_by_test_id("outbox-call-state").first).to_have_text("Answered")


def _outbox_for(page: Page, url: str) -> Outbox:
    tab = page.context.new_page()
    tab.set_default_timeout(PATIENCE_MS)
    return Outbox(tab, url)


@pytest.fixture
def outbox(page: Page, live_server) -> Outbox:
    return _outbox_for(page, live_server.url)


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/signin")
    page.get_by_label("User name").fill(username)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()


def already_signed_in(page: Page, url: str, user: User) -> None:
    """A browser whose person signed in a moment ago (the sign-in pages have their own tests)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": url}])


def open_settings(page: Page, url: str) -> Page:
    page.goto(f"{url}{SETTINGS_PATH}")
    expect(page.get_by_role("heading", name="Security verification", exact=True)).to_be_visible()
    return page


def confirm_its_you(
    page: Page, outbox: Outbox, screenshot: Callable[[Page, str], object] | None = None
) -> None:
    """From the settings page: "Verify now", text a code to the phone, type it."""
    shoot = screenshot or (lambda _page, _name: None)
    page.get_by_test_id("step-up-needed").get_by_role("link", name="Verify now").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    shoot(page, "confirm-its-you")
    page.get_by_test_id("start-text:authentication").click()
    expect(page.get_by_label("Verification code")).to_be_visible()
    shoot(page, "confirm-code")
    page.get_by_label("Verification code").fill(outbox.newest_code())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Security verification", exact=True)).to_be_visible()
    expect(page.get_by_test_id("step-up-needed")).to_have_count(0)


@pytest.fixture
def newcomer(user, page: Page, live_server) -> Page:
    """Alice has no method yet, is signed in and looks at the settings page."""
    already_signed_in(page, live_server.url, user)
    return open_settings(page, live_server.url)


@pytest.fixture
def phone_owner(user) -> User:
    """Alice, whose authentication phone (texts) is registered and proven."""
    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


def mark_confirmed(page: Page) -> None:
    """As if the person had just confirmed it's them (the page that does it has its own test)."""
    cookie = next(
        c for c in page.context.cookies() if c["name"] == django_settings.SESSION_COOKIE_NAME
    )
    session = import_module(django_settings.SESSION_ENGINE).SessionStore(cookie["value"])
    session[stepup.VERIFIED_AT] = int(time.time())
    session.save()


@pytest.fixture
def confirmed(phone_owner, page: Page, live_server) -> Page:
    """Alice with a phone, signed in, who confirmed it's her a moment ago."""
    already_signed_in(page, live_server.url, phone_owner)
    mark_confirmed(page)
    open_settings(page, live_server.url)
    expect(page.get_by_test_id("step-up-needed")).to_have_count(0)
    return page


def section(page: Page, heading: str) -> Locator:
    return page.get_by_role("region", name=heading, exact=True)


def auth_number(page: Page) -> Locator:
    return section(page, "Authentication phone").get_by_label("Authentication phone", exact=True)


def success(page: Page) -> Locator:
    return page.locator(".message.success")


def field_error(page: Page, field: str) -> Locator:
    """The error shown inside the same field block as the input named ``field``."""
    return page.locator(".field.has-error", has=page.locator(f"#id_{field}")).locator(
        ".field-error"
    )


def phones_of(user: User) -> dict[str, Phone]:
    return {phone.role: phone for phone in Phone.objects.filter(user=user)}


# --- 1. The authentication phone ---------------------------------------------------------


def test_a_new_user_registers_an_authentication_phone_with_a_texted_code(
    user, page: Page, live_server, outbox: Outbox, screenshot
) -> None:
    sign_in(page, live_server.url, user.username)
    page.goto(f"{live_server.url}/mfasetup")
    expect(page).to_have_url(f"{live_server.url}{SETTINGS_PATH}")
    expect(page.get_by_role("heading", name="Security verification", exact=True)).to_be_visible()
    expect(page.get_by_test_id("step-up-needed")).to_have_count(0)  # the first method is free
    screenshot(page, "1-empty")

    auth = section(page, "Authentication phone")
    expect(auth.get_by_label("Country or region")).to_have_value("US")
    auth_number(page).fill("425 555 0134")
    expect(auth.get_by_label("Text message")).to_be_checked()
    expect(page.get_by_label(PREFERRED)).to_have_value("text:authentication")
    page.get_by_test_id("save").click()

    expect(page.get_by_role("heading", name="Verify your phone")).to_be_visible()
    expect(page.get_by_test_id("challenge-prompt")).to_contain_text("+1 XXX XXX XX34")
    screenshot(page, "2-verify-your-phone")
    code = outbox.newest_code()
    expect(outbox.newest_text().get_by_test_id("outbox-text-to")).to_have_text("+1 425-555-0134")
    screenshot(outbox.tab, "3-outbox")

    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect(success(page)).to_have_text("Your new number is verified and in use.")
    expect(auth_number(page)).to_have_value("(425) 555-0134")
    expect(page.get_by_label(PREFERRED)).to_have_value("text:authentication")
    expect(page.get_by_test_id("pending-authentication")).to_have_count(0)
    screenshot(page, "4-registered")
    phone = phones_of(user)["authentication"]
    assert (phone.number, phone.pending_number, phone.mode) == (AUTH_NUMBER, "", "text")
    user.refresh_from_db()
    assert user.preferred_option == "text:authentication"


def test_a_changed_number_stays_pending_until_verified_and_the_old_number_is_told(
    phone_owner, page: Page, live_server, outbox: Outbox, screenshot
) -> None:
    already_signed_in(page, live_server.url, phone_owner)
    open_settings(page, live_server.url)
    expect(page.get_by_test_id("step-up-needed")).to_be_visible()
    screenshot(page, "1-confirm-first")
    confirm_its_you(page, outbox, screenshot)

    auth_number(page).fill("425 555 0188")
    page.get_by_test_id("save").click()
    expect(page.get_by_role("heading", name="Verify your phone")).to_be_visible()
    expect(page.get_by_test_id("challenge-prompt")).to_contain_text("+1 XXX XXX XX88")

    open_settings(page, live_server.url)  # back to the settings page before verifying
    pending = page.get_by_test_id("pending-authentication")
    expect(pending).to_have_text(
        re.compile(
            r"\+1 XXX XXX XX88 is waiting for verification\. "
            r"Until it is verified, your current settings stay in force\."
        )
    )
    expect(auth_number(page)).to_have_value("(425) 555-0134")
    screenshot(page, "2-pending")
    phone = phones_of(phone_owner)["authentication"]
    assert (phone.number, phone.pending_number) == (AUTH_NUMBER, NEW_NUMBER)

    page.go_back()  # the verify page still holds the code that was sent
    expect(page.get_by_role("heading", name="Verify your phone")).to_be_visible()
    page.get_by_label("Verification code").fill(outbox.newest_code())
    page.get_by_role("button", name="Verify").click()
    expect(success(page)).to_have_text("Your new number is verified and in use.")
    expect(auth_number(page)).to_have_value("(425) 555-0188")
    expect(page.get_by_test_id("pending-authentication")).to_have_count(0)
    screenshot(page, "3-new-number-in-force")
    phone = phones_of(phone_owner)["authentication"]
    assert (phone.number, phone.pending_number) == (NEW_NUMBER, "")

    outbox.open()
    notice = outbox.tab.get_by_test_id("outbox-text").filter(has_text="was changed to")
    expect(notice.get_by_test_id("outbox-text-to")).to_have_text("+1 425-555-0134")
    expect(notice.get_by_test_id("outbox-text-body")).to_contain_text(
        "Contoso: your authentication phone was changed to +1 XXX XXX XX88"
    )
    screenshot(outbox.tab, "4-outbox-notice-to-old-number")


def test_saving_before_confirming_its_you_asks_for_it_and_changes_nothing(
    phone_owner, page: Page, live_server, screenshot
) -> None:
    already_signed_in(page, live_server.url, phone_owner)
    open_settings(page, live_server.url)
    section(page, "Office phone").get_by_label("Office phone", exact=True).fill("425 555 0199")
    page.get_by_test_id("save").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.locator(".message.info")).to_have_text(
        "Verify it's you, then save your changes again."
    )
    screenshot(page, "confirm-its-you")
    assert set(phones_of(phone_owner)) == {"authentication"}


@pytest.fixture
def pending_change(confirmed: Page, live_server) -> Page:
    """Alice saved a new authentication number, then came back to the settings page."""
    auth_number(confirmed).fill("425 555 0188")
    confirmed.get_by_test_id("save").click()
    expect(confirmed.get_by_role("heading", name="Verify your phone")).to_be_visible()
    open_settings(confirmed, live_server.url)
    expect(confirmed.get_by_test_id("pending-authentication")).to_be_visible()
    return confirmed


def test_discarding_a_pending_number_keeps_the_old_one(pending_change: Page, phone_owner) -> None:
    page = pending_change
    page.get_by_test_id("pending-authentication").get_by_role("button", name="Discard it").click()
    expect(page.locator(".message.info")).to_have_text(
        "The new number was discarded. Your previous settings still apply."
    )
    expect(page.get_by_test_id("pending-authentication")).to_have_count(0)
    phone = phones_of(phone_owner)["authentication"]
    assert (phone.number, phone.pending_number) == (AUTH_NUMBER, "")


def test_verify_it_now_on_the_pending_notice_sends_a_new_code(pending_change: Page) -> None:
    page = pending_change
    texts = OutboxMessage.objects.count()
    button = page.get_by_test_id("pending-authentication").get_by_role(
        "button", name="Verify it now"
    )
    assert button.evaluate("b => b.form.action").endswith("/verify-phone/resend")
    button.click()
    expect(page.get_by_role("heading", name="Verify your phone")).to_be_visible()
    assert OutboxMessage.objects.count() == texts + 1


def test_other_changes_are_saved_while_a_new_number_waits_for_verification(
    pending_change: Page, phone_owner
) -> None:
    page = pending_change
    section(page, "Office phone").get_by_label("Office phone", exact=True).fill("425 555 0199")
    save = page.get_by_test_id("save")
    assert save.evaluate("b => b.form?.dataset.testid") == "settings-form"
    save.click()
    expect(success(page)).to_have_text("Your changes were saved.")
    assert phones_of(phone_owner)["office"].number == OFFICE_NUMBER


# --- 2. Other phones -----------------------------------------------------------------------


def test_an_alternate_phone_and_an_office_phone_with_an_extension_are_saved(
    confirmed: Page, phone_owner, screenshot
) -> None:
    page = confirmed
    alternate = section(page, "Alternate authentication phone")
    expect(alternate.get_by_test_id("alternate-advice")).to_be_visible()
    alternate.get_by_label("Use an alternate authentication phone (calls only)").check()
    alternate.get_by_label("Alternate authentication phone number").fill("206 555 0142")
    office = section(page, "Office phone")
    office.get_by_label("Office phone", exact=True).fill("425 555 0199")
    office.get_by_label("Extension").fill("1234")
    screenshot(page, "1-typed")
    page.get_by_test_id("save").click()
    expect(success(page)).to_have_text("Your changes were saved.")

    page.reload()
    expect(
        alternate.get_by_label("Use an alternate authentication phone (calls only)")
    ).to_be_checked()
    expect(alternate.get_by_label("Alternate authentication phone number")).to_have_value(
        "(206) 555-0142"
    )
    expect(office.get_by_label("Office phone", exact=True)).to_have_value("(425) 555-0199")
    expect(office.get_by_label("Extension")).to_have_value("1234")
    expect(alternate.get_by_test_id("alternate-advice")).to_have_count(0)
    screenshot(page, "2-saved")
    phones = phones_of(phone_owner)
    assert (phones["office"].number, phones["office"].extension) == (OFFICE_NUMBER, "1234")
    assert phones["alternate"].number == ALTERNATE_NUMBER


def test_a_new_office_number_for_the_preferred_call_is_proven_by_answering_the_call(
    confirmed: Page, phone_owner, outbox: Outbox, screenshot
) -> None:
    page = confirmed
    page.get_by_label(PREFERRED).select_option(label="Call my office phone")
    office = section(page, "Office phone")
    office.get_by_label("Office phone", exact=True).fill("425 555 0199")
    office.get_by_label("Extension").fill("77")
    page.get_by_test_id("save").click()

    expect(page.get_by_test_id("waiting")).to_be_visible()
    expect(page.get_by_test_id("challenge-prompt")).to_contain_text("+1 XXX XXX XX99")
    screenshot(page, "1-waiting")
    outbox.answer_newest_call_with_hash()
    screenshot(outbox.tab, "2-outbox-call-answered")

    # The waiting page polls the challenge and moves on by itself.
    expect(success(page)).to_have_text("Your new number is verified and in use.")
    expect(office.get_by_label("Office phone", exact=True)).to_have_value("(425) 555-0199")
    expect(office.get_by_label("Extension")).to_have_value("77")
    expect(page.get_by_label(PREFERRED)).to_have_value("call:office")
    screenshot(page, "3-office-in-force")
    phone = phones_of(phone_owner)["office"]
    assert (phone.number, phone.extension, phone.pending_number) == (OFFICE_NUMBER, "77", "")


# --- 3. The authenticator app --------------------------------------------------------------


def test_an_authenticator_app_is_set_up_made_preferred_and_deleted(
    confirmed: Page, phone_owner, screenshot
) -> None:
    page = confirmed
    page.get_by_role("link", name="Set up an authenticator app").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    screenshot(page, "1-setup")
    page.get_by_label("Name").fill("Work phone")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Save").click()

    expect(success(page)).to_have_text("Your authenticator app is set up.")
    expect(page.get_by_test_id("authenticator-device")).to_have_count(1)
    expect(page.get_by_test_id("authenticator-device")).to_contain_text("Work phone")
    screenshot(page, "2-device-listed")

    page.get_by_label(PREFERRED).select_option(
        label="Use a verification code from the app or a hardware token"
    )
    page.get_by_test_id("save").click()
    expect(success(page)).to_have_text("Your changes were saved.")
    expect(page.get_by_label(PREFERRED)).to_have_value("app_code")
    phone_owner.refresh_from_db()
    assert phone_owner.preferred_option == "app_code"

    page.get_by_role("link", name="Delete Work phone").click()
    expect(page.get_by_role("heading", name="Delete “Work phone”?")).to_be_visible()
    screenshot(page, "3-delete-confirm")
    page.get_by_role("button", name="Delete").click()
    expect(success(page)).to_have_text("The authenticator app “Work phone” is deleted.")
    expect(page.get_by_test_id("authenticator-device")).to_have_count(0)
    expect(page.get_by_text("You have not set up an authenticator app.")).to_be_visible()
    screenshot(page, "4-deleted")
    assert not AuthenticatorDevice.objects.filter(user=phone_owner).exists()
    assert base.preferred_option(phone_owner).key == "text:authentication"


@pytest.fixture
def app_preferred(phone_owner) -> User:
    """Alice with a phone and an app, who made the app her preferred option."""
    secret = authenticator.new_secret()
    code = pyotp.TOTP(authenticator.base32(secret)).now()
    authenticator.add_device(phone_owner, "Work phone", secret, code)
    selfservice.save(
        phone_owner,
        "app_code",
        [PhoneChanges(authentication=PhoneEntry(AUTH_NUMBER), authentication_mode="text")],
    )
    return phone_owner


def test_after_deleting_the_preferred_app_the_page_shows_the_option_sign_in_falls_back_to(
    app_preferred, page: Page, live_server, screenshot
) -> None:
    already_signed_in(page, live_server.url, app_preferred)
    mark_confirmed(page)
    open_settings(page, live_server.url)
    page.get_by_role("link", name="Delete Work phone").click()
    page.get_by_role("button", name="Delete").click()
    expect(success(page)).to_have_text("The authenticator app “Work phone” is deleted.")
    screenshot(page, "1-after-delete")
    assert page.get_by_label(PREFERRED).input_value() == "text:authentication"
    page.get_by_test_id("save").click()
    expect(page.locator(".field-error")).to_have_count(0)


# --- 4. App passwords ----------------------------------------------------------------------


def test_an_app_password_is_shown_once_listed_by_name_and_deleted(
    newcomer: Page, user, screenshot
) -> None:
    page = newcomer
    panel = page.get_by_test_id("app-passwords-panel")
    expect(panel).to_contain_text("You have no app passwords.")
    panel.get_by_role("link", name="Create an app password").click()
    expect(page.get_by_role("heading", name="Create an app password")).to_be_visible()
    page.get_by_label("Name").fill("Mail")
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_role("heading", name="Your new app password")).to_be_visible()
    value = page.get_by_test_id("app-password-value").inner_text()
    assert re.fullmatch(r"[a-z]{4}( [a-z]{4}){3}", value)
    screenshot(page, "1-shown-once")

    page.get_by_role("link", name="Done").click()
    expect(page.get_by_test_id("app-password")).to_have_count(1)
    page.go_back()  # back to where it was shown: it is not shown again
    expect(page.get_by_role("heading", name="Security verification", exact=True)).to_be_visible()
    expect(page.get_by_test_id("app-password")).to_have_count(1)
    expect(page.get_by_test_id("app-password")).to_contain_text("Mail")
    expect(page.get_by_test_id("app-password-value")).to_have_count(0)
    assert value not in page.content()
    assert value.replace(" ", "") not in page.content()
    screenshot(page, "2-listed")
    stored = AppPassword.objects.get(user=user)
    assert stored.name == "Mail"
    assert stored.password.startswith("argon2")

    page.get_by_role("link", name="Delete Mail").click()
    expect(page.get_by_role("heading", name="Delete “Mail”?")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(success(page)).to_have_text("The app password “Mail” is deleted.")
    expect(page.get_by_test_id("app-password")).to_have_count(0)
    assert not AppPassword.objects.filter(user=user).exists()


# --- 5. Trusted devices --------------------------------------------------------------------


def test_restoring_verification_on_trusted_devices_moves_the_epoch_on_by_one(
    confirmed: Page, phone_owner, screenshot
) -> None:
    page = confirmed
    before = User.objects.get(pk=phone_owner.pk).trusted_device_epoch
    page.get_by_test_id("restore-trusted-devices").click()
    expect(page.get_by_role("heading", name="Forget every trusted device?")).to_be_visible()
    screenshot(page, "1-confirm")
    page.get_by_test_id("confirm-restore").click()
    expect(success(page)).to_have_text(
        "Done. Every device will ask for verification at the next sign-in."
    )
    screenshot(page, "2-done")
    assert User.objects.get(pk=phone_owner.pk).trusted_device_epoch == before + 1


def test_after_confirming_its_you_the_restore_confirmation_follows(
    phone_owner, page: Page, live_server, outbox: Outbox
) -> None:
    already_signed_in(page, live_server.url, phone_owner)
    open_settings(page, live_server.url)
    page.get_by_test_id("restore-trusted-devices").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_test_id("start-text:authentication").click()
    page.get_by_label("Verification code").fill(outbox.newest_code())
    page.get_by_role("button", name="Verify").click()
    expect(page).not_to_have_url(re.compile(r"/account/verify"))
    assert page.url.endswith(f"{SETTINGS_PATH}/restore-trusted-devices")


# --- 6. Bad input --------------------------------------------------------------------------


def _type_auth(page: Page, number: str) -> None:
    auth_number(page).fill(number)


def _type_office(page: Page, number: str, extension: str = "") -> None:
    office = section(page, "Office phone")
    office.get_by_label("Office phone", exact=True).fill(number)
    office.get_by_label("Extension").fill(extension)


def _tick_alternate(page: Page, number: str) -> None:
    alternate = section(page, "Alternate authentication phone")
    alternate.get_by_label("Use an alternate authentication phone (calls only)").check()
    alternate.get_by_label("Alternate authentication phone number").fill(number)


def _prefer(page: Page, label: str) -> None:
    page.get_by_label(PREFERRED).select_option(label=label)


@dataclass(frozen=True)
class BadInput:
    steps: tuple[Callable[[Page], None], ...]  # what the person types or picks
    field: str  # where the error must show
    error: str
    kept: str  # what that field still holds afterwards


US_NUMBER = partial(_type_auth, number="425 555 0134")
US_OFFICE = partial(_type_office, number="425 555 0199")
BAD_INPUT = {
    "invalid-number": BadInput(
        (partial(_type_auth, number="12345"), US_OFFICE),
        "authentication_number",
        "This is not a valid phone number for the country you chose.",
        "12345",
    ),
    "words-not-a-number": BadInput(
        (partial(_type_auth, number="call me"), US_OFFICE),
        "authentication_number",
        "This is not a phone number.",
        "call me",
    ),
    "uk-number-with-us-selected": BadInput(
        (partial(_type_auth, number="+44 20 7946 0958"), US_OFFICE),
        "authentication_number",
        "This number belongs to United Kingdom, not to United States. Choose United Kingdom "
        "in the list, or check the number.",
        "+44 20 7946 0958",
    ),
    "uk-national-number-with-us-selected": BadInput(
        (partial(_type_auth, number="020 7946 0958"), US_OFFICE),
        "authentication_number",
        "This is not a valid phone number for the country you chose.",
        "020 7946 0958",
    ),
    "alternate-ticked-but-empty": BadInput(
        (US_NUMBER, partial(_tick_alternate, number="")),
        "alternate_number",
        "Enter the alternate phone number.",
        "",
    ),
    "extension-with-letters": BadInput(
        (US_NUMBER, partial(_type_office, number="425 555 0199", extension="12a4")),
        "office_extension",
        "An extension is up to 10 digits.",
        "12a4",
    ),
    "office-call-without-office-number": BadInput(
        (US_NUMBER, partial(_prefer, label="Call my office phone")),
        "preferred_option",
        "Enter the phone number this option uses, or choose another option.",
        "call:office",
    ),
    "app-code-without-an-app": BadInput(
        (
            US_NUMBER,
            partial(_prefer, label="Use a verification code from the app or a hardware token"),
        ),
        "preferred_option",
        "Set up this method before making it your preferred option.",
        "app_code",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_on_the_settings_page_is_explained_at_its_field_and_nothing_is_saved(
    case: str, newcomer: Page, user, screenshot
) -> None:
    bad = BAD_INPUT[case]
    for step in bad.steps:
        step(newcomer)
    newcomer.get_by_test_id("save").click()

    expect(field_error(newcomer, bad.field)).to_have_text(bad.error)
    expect(newcomer.locator(f"#id_{bad.field}")).to_have_value(bad.kept)
    screenshot(newcomer, f"error-{case}")
    user.refresh_from_db()
    assert user.preferred_option == ""
    assert not Phone.objects.filter(user=user).exists()
    assert not Challenge.objects.filter(user=user).exists()
    assert not OutboxMessage.objects.exists()


def test_a_number_with_an_error_is_outlined_in_the_error_colour(newcomer: Page) -> None:
    _type_auth(newcomer, "12345")
    newcomer.get_by_test_id("save").click()
    error = field_error(newcomer, "authentication_number")
    expect(error).to_be_visible()
    number = newcomer.locator("#id_authentication_number")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_have_css("border-top-color", error.evaluate("e => getComputedStyle(e).color"))


def test_a_ticked_alternate_box_stays_ticked_after_an_error(newcomer: Page) -> None:
    _type_auth(newcomer, "425 555 0134")
    _tick_alternate(newcomer, "")
    newcomer.get_by_test_id("save").click()
    expect(field_error(newcomer, "alternate_number")).to_be_visible()
    expect(
        newcomer.get_by_label("Use an alternate authentication phone (calls only)")
    ).to_be_checked()


@pytest.fixture
def verifying(newcomer: Page) -> Page:
    """Alice typed her first number and saved: the page asks for the texted code."""
    _type_auth(newcomer, "425 555 0134")
    newcomer.get_by_test_id("save").click()
    expect(newcomer.get_by_role("heading", name="Verify your phone")).to_be_visible()
    return newcomer


def _another_code(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def _first_phone_is_still_pending(user: User) -> bool:
    phone = phones_of(user)["authentication"]
    return (phone.number, phone.pending_number) == ("", AUTH_NUMBER)


def test_a_wrong_code_is_refused_at_its_field_and_the_number_stays_pending(
    verifying: Page, outbox: Outbox, user, screenshot
) -> None:
    wrong = _another_code(outbox.newest_code())
    verifying.get_by_label("Verification code").fill(wrong)
    verifying.get_by_role("button", name="Verify").click()
    expect(field_error(verifying, "code")).to_have_text(
        "That code didn't work. Check it and try again."
    )
    expect(verifying.get_by_label("Verification code")).to_have_value(wrong)
    screenshot(verifying, "wrong-code")
    assert _first_phone_is_still_pending(user)
    assert Challenge.objects.get(user=user).state == ChallengeState.PENDING


def test_an_expired_code_ends_the_verification_and_the_number_stays_pending(
    verifying: Page, outbox: Outbox, user, screenshot
) -> None:
    code = outbox.newest_code()
    Challenge.objects.filter(user=user, state=ChallengeState.PENDING).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    verifying.get_by_label("Verification code").fill(code)
    verifying.get_by_role("button", name="Verify").click()
    expect(verifying.get_by_test_id("challenge-ended")).to_have_text(
        "This verification has ended. Send a new code or call to try again."
    )
    expect(verifying.get_by_test_id("resend")).to_have_text("Send a new code")
    screenshot(verifying, "expired-code")
    assert _first_phone_is_still_pending(user)
    assert Challenge.objects.get(user=user).state == ChallengeState.EXPIRED


def test_a_used_code_does_not_prove_the_next_new_number(
    verifying: Page, outbox: Outbox, user, screenshot
) -> None:
    # The session forgets a challenge as soon as it succeeds, so a used code can't be sent
    # to the same challenge again from the browser; typing it for the next change is the
    # replay a person can attempt.
    used = outbox.newest_code()
    verifying.get_by_label("Verification code").fill(used)
    verifying.get_by_role("button", name="Verify").click()
    expect(success(verifying)).to_be_visible()

    _type_auth(verifying, "425 555 0188")
    verifying.get_by_test_id("save").click()
    expect(verifying.get_by_role("heading", name="Verify your phone")).to_be_visible()
    verifying.get_by_label("Verification code").fill(used)
    verifying.get_by_role("button", name="Verify").click()
    expect(field_error(verifying, "code")).to_have_text(
        "That code didn't work. Check it and try again."
    )
    screenshot(verifying, "used-code")
    phone = phones_of(user)["authentication"]
    assert (phone.number, phone.pending_number) == (AUTH_NUMBER, NEW_NUMBER)


def test_a_stale_tab_cannot_submit_a_used_code_again(
    verifying: Page, outbox: Outbox, user, live_server
) -> None:
    stale = verifying.context.new_page()
    stale.goto(f"{live_server.url}{SETTINGS_PATH}/verify-phone")
    code = outbox.newest_code()
    verifying.get_by_label("Verification code").fill(code)
    verifying.get_by_role("button", name="Verify").click()
    expect(success(verifying)).to_be_visible()

    stale.get_by_label("Verification code").fill(code)
    stale.get_by_role("button", name="Verify").click()
    expect(stale.get_by_role("heading", name="Security verification", exact=True)).to_be_visible()
    expect(success(stale)).to_have_count(0)
    approved = Challenge.objects.filter(
        user=user, purpose=ChallengePurpose.VERIFY_NUMBER, state=ChallengeState.APPROVED
    )
    assert approved.count() == 1


# --- 7. On a phone -------------------------------------------------------------------------


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_settings_page_fits_a_phone_screen(
    phone_owner, phone_page: Page, live_server, screenshot
) -> None:
    secret = authenticator.new_secret()
    authenticator.add_device(
        phone_owner, "Work phone", secret, pyotp.TOTP(authenticator.base32(secret)).now()
    )
    selfservice.save(
        phone_owner,
        "text:authentication",
        [
            PhoneChanges(
                authentication=PhoneEntry(AUTH_NUMBER),
                authentication_mode="text",
                office=PhoneEntry(OFFICE_NUMBER, "1234"),
                alternate=PhoneEntry(ALTERNATE_NUMBER),
            )
        ],
    )
    already_signed_in(phone_page, live_server.url, phone_owner)
    open_settings(phone_page, live_server.url)
    _no_sideways_scroll(phone_page)
    screenshot(phone_page, "1-settings")

    outbox = _outbox_for(phone_page, live_server.url)
    confirm_its_you(phone_page, outbox, screenshot)
    auth_number(phone_page).fill("020 7946 0958")
    phone_page.get_by_test_id("save").click()
    expect(field_error(phone_page, "authentication_number")).to_be_visible()
    _no_sideways_scroll(phone_page)
    screenshot(phone_page, "2-error")

    auth_number(phone_page).fill("425 555 0188")
    phone_page.get_by_test_id("save").click()
    expect(phone_page.get_by_role("heading", name="Verify your phone")).to_be_visible()
    _no_sideways_scroll(phone_page)
    screenshot(phone_page, "3-verify")

    outbox.open()
    _no_sideways_scroll(outbox.tab)
    screenshot(outbox.tab, "4-outbox")


def test_a_new_code_asked_too_soon_is_said_on_the_proof_page_not_a_full_page_error(
    confirmed: Page, settings, screenshot
) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 30}
    auth_number(confirmed).fill("425 555 0188")
    confirmed.get_by_test_id("save").click()
    expect(confirmed.get_by_role("heading", name="Verify your phone")).to_be_visible()

    confirmed.get_by_test_id("resend").click()

    expect(confirmed.get_by_role("heading", name="Verify your phone")).to_be_visible()
    expect(confirmed.get_by_text(re.compile("before asking for another text"))).to_be_visible()
    expect(confirmed.get_by_text("Go to the start page")).to_have_count(0)
    screenshot(confirmed, "cooldown-said-on-the-proof-page")
    confirmed.set_viewport_size({"width": 390, "height": 844})
    assert confirmed.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(confirmed, "cooldown-said-on-the-proof-page-390")
