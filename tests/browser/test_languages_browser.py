"""The sign-in, settings and admin pages in English and in Simplified Chinese (issue 10).

Each page is screenshotted in both languages (artifacts/screenshots/) and checked for
what a reader would notice first: the page's words in its language, Chinese glyphs from
a real CJK font, nothing wider than the window and no text cut off inside its box.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import STRONG_PASSWORD
from tests.conftest import PATIENCE_MS
from twofold.accounts.services import create_user
from twofold.delivery.models import OutboxMessage
from twofold.methods.phone import services as phone_services
from twofold.organisations.services import create_organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (language, the browser's locale, words each page must show)
LANGUAGES = {
    "en": {
        "locale": "en-GB",
        "sign_in": "Sign in",
        "next": "Next",
        "user_name": "User name",
        "password": "Password",
        "my_account": "My account",
        "settings": "Security verification",
        "users": "Users",
        "policy": "Policy and branding",
        "code": "Verification code",
        "verify": "Verify",
    },
    "zh-hans": {
        "locale": "zh-CN",
        "sign_in": "登录",
        "next": "下一步",
        "user_name": "用户名",
        "password": "密码",
        "my_account": "我的账户",
        "settings": "安全验证",
        "users": "用户",
        "policy": "策略和品牌",
        "code": "验证码",
        "verify": "验证",
    },
}
#: The administrator's phone: administrators always sign in with a second factor.
ADMIN_NUMBER = "+14255550142"
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Elements whose text is cut off by their own box (overflow hidden, clip or ellipsis),
# and how far the page is wider than the window.
CLIPPED = """() => [...document.querySelectorAll('body *')].filter((el) => {
  const style = getComputedStyle(el);
  if (style.display === 'none' || style.visibility === 'hidden' || !el.textContent.trim()) {
    return false;
  }
  if (el.closest('.visually-hidden')) return false;
  const cuts = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
  return cuts && el.scrollWidth > el.clientWidth + 1;
}).map((el) => el.tagName + ': ' + el.textContent.trim().slice(0, 40))"""
TOO_WIDE = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(scope="module", autouse=True)
def _cjk_font_installed() -> None:
    """Chinese needs a CJK font (Debian's fonts-noto-cjk, which `make test` installs)."""
    if shutil.which("fc-list") is None:
        pytest.fail("fontconfig is missing: install Debian's fonts-noto-cjk (make fonts)")
    found = subprocess.run(
        ["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip(), "no Chinese font: install Debian's fonts-noto-cjk (make fonts)"


@pytest.fixture
def contoso(db):
    organisation = create_organisation("Contoso", ["contoso.example"], slug="contoso")
    admin = create_user(organisation, "admin@contoso.example", STRONG_PASSWORD, is_admin=True)
    phone_services.set_number(admin, "authentication", ADMIN_NUMBER)
    create_user(organisation, "bob@contoso.example", STRONG_PASSWORD, display_name="Bob")
    return organisation


def _context_page(browser: Browser, locale: str, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    page.set_default_timeout(PATIENCE_MS)
    yield page
    context.close()


@pytest.fixture(params=list(LANGUAGES))
def language(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def words(language: str) -> dict[str, str]:
    return LANGUAGES[language]


@pytest.fixture
def page_in(browser: Browser, words: dict[str, str]) -> Iterator[Page]:
    """A browser whose Accept-Language is the language under test."""
    yield from _context_page(browser, words["locale"], WIDE)


def looks_right(page: Page, language: str) -> None:
    """The document is in ``language``, fits the window, and cuts no text off."""
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert page.evaluate(TOO_WIDE) <= 0
    assert page.evaluate(CLIPPED) == []


def enter_password(page: Page, base_url: str, username: str, words: dict[str, str]) -> None:
    page.goto(f"{base_url}/signin")
    page.get_by_label(words["user_name"]).fill(username)
    page.get_by_role("button", name=words["next"]).click()
    page.get_by_label(words["password"], exact=True).fill(STRONG_PASSWORD)
    page.get_by_role("button", name=words["sign_in"], exact=True).click()


def sign_in(page: Page, base_url: str, username: str, words: dict[str, str]) -> None:
    enter_password(page, base_url, username, words)
    expect(page.get_by_role("heading", name=words["my_account"])).to_be_visible()


def sign_in_admin(page: Page, base_url: str, words: dict[str, str]) -> None:
    """Password, then the code texted to the administrator's phone (read off the outbox)."""
    enter_password(page, base_url, "admin@contoso.example", words)
    code_field = page.get_by_label(words["code"])
    expect(code_field).to_be_visible()
    text = OutboxMessage.objects.filter(to=ADMIN_NUMBER).latest("id")
    code_field.fill(re.search(r"\b(\d{6})\b", text.body).group(1))
    page.get_by_role("button", name=words["verify"], exact=True).click()
    expect(page.get_by_role("heading", name=words["my_account"])).to_be_visible()


def test_the_sign_in_page_follows_the_browser_language(
    live_server, page_in: Page, language, words, screenshot
):
    page_in.goto(f"{live_server.url}/signin")
    expect(page_in.get_by_role("heading", name=words["sign_in"])).to_be_visible()
    looks_right(page_in, language)
    screenshot(page_in, f"signin-{language}")


def test_the_switch_on_the_sign_in_page_changes_the_language(live_server, page, screenshot):
    page.goto(f"{live_server.url}/signin")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.get_by_role("button", name="下一步")).to_be_visible()
    looks_right(page, "zh-hans")
    screenshot(page, "switched-to-zh-hans")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_sign_in_page_fits_a_phone_in_chinese(live_server, browser: Browser, screenshot):
    for phone in _context_page(browser, "zh-CN", PHONE):
        phone.goto(f"{live_server.url}/signin")
        expect(phone.get_by_role("heading", name="登录")).to_be_visible()
        looks_right(phone, "zh-hans")
        screenshot(phone, "signin-phone-zh-hans")


def test_the_settings_page_in_each_language(
    live_server, contoso, page_in: Page, language, words, screenshot
):
    sign_in(page_in, live_server.url, "bob@contoso.example", words)
    looks_right(page_in, language)
    screenshot(page_in, f"my-account-{language}")
    page_in.goto(f"{live_server.url}/account/security-verification")
    expect(page_in.get_by_role("heading", name=words["settings"], exact=True)).to_be_visible()
    looks_right(page_in, language)
    screenshot(page_in, f"security-verification-{language}")


def test_the_settings_page_fits_a_phone_in_chinese(
    live_server, contoso, browser: Browser, screenshot
):
    for phone in _context_page(browser, "zh-CN", PHONE):
        sign_in(phone, live_server.url, "bob@contoso.example", LANGUAGES["zh-hans"])
        phone.goto(f"{live_server.url}/account/security-verification")
        expect(phone.get_by_role("heading", name="安全验证", exact=True)).to_be_visible()
        looks_right(phone, "zh-hans")
        screenshot(phone, "security-verification-phone-zh-hans")


def test_the_admin_portal_in_each_language(
    live_server, contoso, page_in: Page, language, words, screenshot
):
    sign_in_admin(page_in, live_server.url, words)
    page_in.goto(f"{live_server.url}/admin-portal/")
    expect(page_in.get_by_role("heading", name=words["users"], exact=True)).to_be_visible()
    looks_right(page_in, language)
    screenshot(page_in, f"admin-users-{language}")
    page_in.goto(f"{live_server.url}/admin-portal/policy")
    expect(page_in.get_by_role("heading", name=words["policy"])).to_be_visible()
    looks_right(page_in, language)
    screenshot(page_in, f"admin-policy-{language}")


def test_a_person_chooses_chinese_on_my_account_and_keeps_it(
    live_server, contoso, page: Page, screenshot
):
    sign_in(page, live_server.url, "bob@contoso.example", LANGUAGES["en"])
    page.get_by_label("Language", exact=True).select_option("zh-hans")
    page.get_by_label("Time zone", exact=True).select_option("Asia/Shanghai")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="我的账户")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("你的语言和时区已保存。")
    looks_right(page, "zh-hans")
    screenshot(page, "my-account-chose-zh-hans")
    # An English browser (en-GB) does not override the person's own choice.
    page.goto(f"{live_server.url}/account/security-verification")
    expect(page.get_by_role("heading", name="安全验证", exact=True)).to_be_visible()


def test_the_second_step_and_its_text_are_chinese(
    live_server, contoso, browser: Browser, settings, screenshot
):
    from twofold.accounts.models import MfaState
    from twofold.methods.phone import services as phones

    settings.TWOFOLD = {**settings.TWOFOLD, "dev_outbox": True}
    carol = create_user(
        contoso, "carol@contoso.example", STRONG_PASSWORD, mfa_state=MfaState.ENFORCED
    )
    phones.set_number(carol, "authentication", "+14255550134", mode="text")
    for page in _context_page(browser, "zh-CN", WIDE):
        page.goto(f"{live_server.url}/signin")
        page.get_by_label("用户名").fill(carol.username)
        page.get_by_role("button", name="下一步").click()
        page.get_by_label("密码", exact=True).fill(STRONG_PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_text("我们已向")).to_be_visible()
        looks_right(page, "zh-hans")
        screenshot(page, "second-step-zh-hans")
        page.goto(f"{live_server.url}/dev/outbox")
        expect(page.get_by_test_id("outbox-text-body").first).to_contain_text("是你的验证码")
        screenshot(page, "outbox-text-zh-hans")


def test_an_error_page_in_chinese(live_server, browser: Browser, screenshot):
    for page in _context_page(browser, "zh-CN", WIDE):
        response = page.goto(f"{live_server.url}/no-such-page")
        assert response.status == 404
        expect(page.get_by_role("heading", name="找不到页面")).to_be_visible()
        looks_right(page, "zh-hans")
        screenshot(page, "not-found-zh-hans")
