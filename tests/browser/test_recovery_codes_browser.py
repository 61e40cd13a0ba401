"""Recovery codes as a person uses them: made on the settings page, kept, and used to
sign in "another way" when the phone is out of reach (docs/security.md 28).

The person's phone is the dev outbox, open in a second page: the sign-in code that makes
the settings page's changes possible is read there, and so are the notices.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from conftest import STRONG_PASSWORD
from twofold.accounts.models import MfaState, User
from twofold.audit.models import AuditEvent
from twofold.methods.phone import services as phones
from twofold.organisations.models import Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALICE = "alice@contoso.example"
AUTH_NUMBER = "+14255550134"
_CODE = re.compile(r"^[a-z]{4}-[a-z]{4}-[a-z]{4}-[a-z]{4}$")


@pytest.fixture(autouse=True)
def _outbox_is_the_phone(settings) -> None:
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "dev_outbox": True,
        "resend_cooldown_seconds": 0,
        "texts_per_user_per_hour": 100,
        "texts_per_number_per_hour": 100,
    }


@pytest.fixture
def alice(db) -> User:
    from twofold.accounts.services import create_user
    from twofold.organisations.services import create_organisation

    contoso: Organisation = create_organisation("Contoso", ["contoso.example"], slug="contoso")
    user = create_user(
        contoso, ALICE, STRONG_PASSWORD, display_name="Alice Example", mfa_state=MfaState.ENABLED
    )
    phones.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


def enter_password(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/signin")
    page.get_by_label("User name").fill(ALICE)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(STRONG_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()


def newest_text(phone: Page) -> str:
    phone.reload()
    return phone.get_by_test_id("outbox-text-body").first.inner_text()


def sign_in_with_the_texted_code(page: Page, base_url: str) -> None:
    enter_password(page, base_url)
    phone = page.context.new_page()
    phone.goto(f"{base_url}/dev/outbox")
    code = re.search(r"\b(\d{6})\b", newest_text(phone)).group(1)
    phone.close()
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()


def make_a_set(page: Page, base_url: str, screenshot) -> list[str]:
    """From the settings page (a second factor passed just now): make a set, keep it."""
    page.goto(f"{base_url}/account/security-verification")
    panel = page.get_by_test_id("recovery-panel")
    expect(panel).to_contain_text("You have no recovery codes.")
    panel.get_by_role("link", name="Make recovery codes").click()
    page.get_by_role("button", name="Make recovery codes").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_test_id("recovery-code").all_inner_texts()
    screenshot(page, "1-codes-shown")
    assert len(codes) == 10
    assert all(_CODE.match(code) for code in codes)
    with page.expect_download() as downloading:
        page.get_by_test_id("recovery-download").click()
    download = downloading.value
    assert download.suggested_filename == "twofold-recovery-codes.txt"
    saved = Path(download.path()).read_text(encoding="utf-8")
    assert [line for line in saved.splitlines() if _CODE.match(line)] == codes
    page.emulate_media(media="print")
    expect(page.get_by_role("link", name="Download")).to_be_hidden()
    expect(page.get_by_test_id("recovery-codes")).to_be_visible()
    screenshot(page, "2-codes-printed")
    page.emulate_media(media="screen")
    page.get_by_test_id("recovery-done").click()
    expect(page.get_by_test_id("recovery-left")).to_contain_text("10 left")
    return codes


def test_a_set_made_on_the_settings_page_signs_in_another_way_once(
    live_server, page: Page, alice, screenshot
) -> None:
    sign_in_with_the_texted_code(page, live_server.url)
    codes = make_a_set(page, live_server.url, screenshot)
    page.get_by_role("button", name="Sign out").click()

    enter_password(page, live_server.url)
    page.get_by_text("Use another way to verify").click()
    page.get_by_role("button", name="Use one of my recovery codes").click()
    field = page.get_by_label("Verification code")
    expect(field).to_have_attribute("inputmode", "text")
    screenshot(page, "3-recovery-code-asked")
    field.fill(codes[0].upper().replace("-", " "))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()

    page.goto(f"{live_server.url}/account/security-verification")
    panel = page.get_by_test_id("recovery-panel")
    expect(panel.get_by_test_id("recovery-left")).to_contain_text("9 left")
    expect(panel.get_by_role("link", name="Make a new set")).to_be_visible()
    screenshot(page, "4-nine-left")
    phone = page.context.new_page()
    phone.goto(f"{live_server.url}/dev/outbox")
    assert "9 left" in newest_text(phone)
    assert AuditEvent.objects.filter(action="recovery_codes.used").count() == 1

    # The same code a second time is a wrong code.
    page.get_by_role("button", name="Sign out").click()
    enter_password(page, live_server.url)
    page.get_by_text("Use another way to verify").click()
    page.get_by_role("button", name="Use one of my recovery codes").click()
    page.get_by_label("Verification code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code didn't work.")).to_be_visible()
