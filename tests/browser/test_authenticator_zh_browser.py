"""The twofold Authenticator on a phone set to Simplified Chinese (issue 10): the app
follows the phone's language, not the desktop's or the account's.

The desktop signs in in English; the phone (a 390×844 mobile context whose locale, and so
navigator.languages and Accept-Language, is zh-CN) activates from the settings page's
link, lists the account, and answers pushes, all in Chinese: the page's own words from
Django, the app's words from its zh-hans catalogue, refusals from the server's API. Off
the network the service worker still has the catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE
from tests.browser.test_authenticator_browser import (
    ALICE,
    MOBILE_AGENT,
    POLLED,
    SIX_DIGITS,
    add_code_app,
    enter_password,
    expect_signed_in,
    sign_in_with_push,
    the_push,
    wrong,
)
from tests.browser.test_languages_browser import CLIPPED, TOO_WIDE
from tests.conftest import PATIENCE_MS
from twofold.accounts.models import MfaState, User
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.models import ChallengeState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(**PHONE, user_agent=MOBILE_AGENT, locale="zh-CN")
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
    from twofold.accounts.services import create_user
    from twofold.organisations.services import create_organisation

    contoso = create_organisation("Contoso", ["contoso.example"], slug="contoso")
    return create_user(
        contoso, ALICE, PASSWORD, display_name="Alice Example", mfa_state=MfaState.ENABLED
    )


def looks_right(phone: Page) -> None:
    """In Chinese, as wide as the phone, no text cut off inside its box."""
    expect(phone.locator("html")).to_have_attribute("lang", "zh-hans")
    assert phone.evaluate(TOO_WIDE) <= 0
    assert phone.evaluate(CLIPPED) == []


def test_the_app_speaks_the_phones_chinese(
    live_server, page: Page, phone: Page, alice, screenshot
) -> None:
    base_url = live_server.url
    totp = add_code_app(User.objects.get(username=ALICE))
    enter_password(page, base_url)
    page.get_by_label("Verification code").fill(totp.now())
    page.get_by_role("button", name="Verify").click()
    expect_signed_in(page)
    page.goto(f"{base_url}/account/security-verification/authenticator/setup")
    page.get_by_test_id("activate-push").click()
    link = page.get_by_test_id("activation-link").inner_text()

    # The phone opens the link: the add-account sheet, in Chinese, the phone named for it.
    phone.goto(link)
    expect(phone.get_by_role("heading", name="添加账户")).to_be_visible()
    expect(phone.get_by_label("激活链接或激活码")).to_have_value(re.compile(r"^\d{4} \d{4} \d{4}$"))
    expect(phone.get_by_test_id("device-name")).to_have_value("Android 手机")
    looks_right(phone)
    screenshot(phone, "1-phone-add-account-zh")
    phone.get_by_role("button", name="激活").click()
    expect(phone.get_by_test_id("account")).to_have_count(1)
    expect(phone.get_by_test_id("account-code")).to_have_text(SIX_DIGITS)
    expect(phone.locator(".app-title")).to_have_text("验证器")
    expect(page.get_by_test_id("push-badge")).to_be_visible(timeout=POLLED)
    assert AuthenticatorDevice.objects.exclude(public_key="").get().name == "Android 手机"
    looks_right(phone)
    screenshot(phone, "2-phone-accounts-zh")

    # A push: the request in Chinese; a wrong number refused by the server, in Chinese.
    number = sign_in_with_push(page, base_url)
    expect(phone.get_by_role("heading", name="你正在尝试登录吗？")).to_be_visible(timeout=POLLED)
    expect(phone.get_by_test_id("request")).to_contain_text("输入登录屏幕上显示的数字")
    phone.get_by_role("button", name="批准").click()  # no number yet: the app's own words
    expect(phone.get_by_test_id("request-error")).to_have_text("请输入登录屏幕上显示的两位数字。")
    phone.get_by_test_id("number-input").fill(wrong(number))
    looks_right(phone)
    screenshot(phone, "3-phone-request-zh")
    phone.get_by_role("button", name="批准").click()
    expect(phone.get_by_test_id("result")).to_contain_text("未批准")
    expect(phone.get_by_test_id("result")).to_contain_text(
        "该数字与登录屏幕上显示的数字不符，因此登录已被拒绝。"
    )
    looks_right(phone)
    screenshot(phone, "4-phone-wrong-number-zh")
    assert the_push().state == ChallengeState.DENIED
    phone.get_by_role("button", name="完成").click()

    # Another push, approved with the right number.
    number = sign_in_with_push(page, base_url)
    expect(phone.get_by_test_id("request")).to_be_visible(timeout=POLLED)
    phone.get_by_test_id("number-input").fill(number)
    phone.get_by_role("button", name="批准").click()
    expect(phone.get_by_role("heading", name="已批准")).to_be_visible()
    expect(phone.get_by_test_id("result")).to_contain_text("你已在另一块屏幕上登录。")
    looks_right(phone)
    screenshot(phone, "5-phone-approved-zh")
    expect_signed_in(page)
    assert the_push().state == ChallengeState.APPROVED


def test_offline_the_app_keeps_its_chinese(live_server, phone: Page, screenshot) -> None:
    phone.goto(f"{live_server.url}/authenticator/")
    expect(phone.get_by_role("heading", name="还没有账户")).to_be_visible()
    looks_right(phone)
    screenshot(phone, "phone-empty-zh")
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.context.set_offline(True)
    # Reopened without a network: the worker serves the page, i18n.js and the catalogue.
    phone.reload()
    expect(phone.get_by_role("heading", name="还没有账户")).to_be_visible()
    phone.get_by_test_id("add-account").click()
    phone.get_by_test_id("activation-input").fill("not a code")
    phone.get_by_role("button", name="激活").click()
    expect(phone.get_by_test_id("add-error")).to_have_text("请粘贴激活链接，或输入 12 位激活码。")
    looks_right(phone)
    screenshot(phone, "phone-offline-zh")
