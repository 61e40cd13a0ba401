"""The admin portal, as an organisation's administrator uses it in a browser.

The administrator signs in through the pages with a texted code (read on the dev outbox,
open in a second page: the administrator's phone). That sign-in is the recent second
factor every admin action needs. People the administrator acts on sign in afterwards in
browsers of their own.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PATIENCE_MS
from twofold.accounts.models import MfaState, User
from twofold.core import crypto
from twofold.methods.phone import services as phones
from twofold.methods.phone.models import Phone, PhoneRole
from twofold.organisations.models import Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
ADMIN = "admin@contoso.example"
ADMIN_NUMBER = "+14255550100"
USERS_PAGE = "/admin-portal/users"
RAVI, SARA = "+14255550111", "+14255550122"


# --- Set-up --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _outbox_is_the_phone(settings) -> None:
    """The outbox page is switched on; the caps on texts are raised out of the tests' way."""
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "dev_outbox": True,
        "resend_cooldown_seconds": 0,
        "texts_per_user_per_hour": 100,
        "texts_per_number_per_hour": 100,
    }


@pytest.fixture
def contoso(db) -> Organisation:
    from twofold.organisations.services import create_organisation

    return create_organisation(
        "Contoso", ["contoso.example"], slug="contoso", allow_app_passwords=True
    )


def person(
    organisation: Organisation,
    username: str,
    display_name: str,
    *,
    password: str | None = PASSWORD,
    mfa_state: str = MfaState.DISABLED,
    number: str = "",
    is_admin: bool = False,
) -> User:
    from twofold.accounts.services import create_user

    user = create_user(
        organisation,
        username,
        password,
        display_name=display_name,
        is_admin=is_admin,
        mfa_state=mfa_state,
    )
    if number:
        phones.set_number(user, "authentication", number, mode="text")
    return user


@pytest.fixture
def admin(contoso) -> User:
    """An administrator (two-step verification enforced, as always): their phone gets the codes."""
    return person(
        contoso,
        ADMIN,
        "Adele Admin",
        mfa_state=MfaState.ENFORCED,
        number=ADMIN_NUMBER,
        is_admin=True,
    )


# --- What people do --------------------------------------------------------------------------


def in_own_browser(browser: Browser) -> Page:
    """A person other than the administrator, in a browser (context) of their own."""
    page = browser.new_context(locale="en-GB").new_page()
    page.set_default_timeout(PATIENCE_MS)
    return page


def enter_password(page: Page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/signin")
    page.get_by_label("User name").fill(username)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def texted_code(phone: Page) -> str:
    """The code in the newest text on the outbox page (newest first)."""
    phone.reload()
    body = phone.get_by_test_id("outbox-text-body").first.inner_text()
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    return found.group(1)


def expect_my_account(page: Page, username: str) -> None:
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_test_id("account-username")).to_have_text(username)


def sign_in_admin(page: Page, base_url: str) -> None:
    """Password, then the texted code read on the outbox: a recent second factor."""
    enter_password(page, base_url, ADMIN)
    expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()
    phone = page.context.new_page()
    phone.goto(f"{base_url}/dev/outbox")
    code = texted_code(phone)
    phone.close()
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect_my_account(page, ADMIN)


def open_users(page: Page, base_url: str, query: str = "") -> None:
    page.goto(f"{base_url}{USERS_PAGE}{query}")
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()


def rows(page: Page):
    return page.get_by_test_id("user-row")


def row_of(page: Page, username: str):
    return rows(page).filter(has_text=username)


def filter_users(page: Page, *, q: str = "", state: str = "", status: str = "") -> None:
    filters = page.get_by_test_id("user-filters")
    filters.get_by_label("Search").fill(q)
    filters.get_by_label("Two-step verification").select_option(state)
    filters.get_by_label("Status").select_option(status)
    filters.get_by_role("button", name="Filter").click()


def choose_action(page: Page, usernames: list[str], action: str) -> None:
    for username in usernames:
        page.get_by_label(f"Select {username}", exact=True).check()
    page.get_by_test_id("bulk-action").select_option(label=action)
    page.get_by_test_id("bulk-submit").click()


# --- 1. Finding users ------------------------------------------------------------------------


def test_an_admin_finds_users_by_name_state_and_status(
    live_server, page: Page, contoso, admin, screenshot
):
    person(contoso, "carol@contoso.example", "Carol Jones", mfa_state=MfaState.ENABLED)
    person(contoso, "carl@contoso.example", "Carl Smith", password=None)
    blocked = person(contoso, "dan@contoso.example", "Dan Ortega", password=None)
    # As a fraud report during a call would leave him.
    User.objects.filter(pk=blocked.pk).update(is_blocked=True, blocked_reason="fraud reported")
    locked = person(contoso, "erin@contoso.example", "Erin Park", password=None)
    User.objects.filter(pk=locked.pk).update(mfa_locked_until=timezone.now() + timedelta(hours=1))

    sign_in_admin(page, live_server.url)
    open_users(page, live_server.url)
    expect(rows(page)).to_have_count(5)
    screenshot(page, "1-all-users")

    filter_users(page, q="Jones")
    expect(rows(page)).to_have_count(1)
    expect(row_of(page, "carol@contoso.example")).to_be_visible()
    screenshot(page, "2-search-by-name")

    filter_users(page, state="enabled")
    expect(rows(page)).to_have_count(1)
    expect(row_of(page, "carol@contoso.example")).to_contain_text("Enabled")

    filter_users(page, state="enforced")  # administrators always are
    expect(rows(page)).to_have_count(1)
    expect(row_of(page, ADMIN)).to_contain_text("Enforced")
    screenshot(page, "3-filter-by-state")

    filter_users(page, status="blocked")
    expect(rows(page)).to_have_count(1)
    expect(row_of(page, "dan@contoso.example")).to_contain_text("Blocked")
    screenshot(page, "4-filter-blocked")

    filter_users(page, status="locked")
    expect(rows(page)).to_have_count(1)
    expect(row_of(page, "erin@contoso.example")).to_contain_text("Locked")

    filter_users(page, q="nobody-by-that-name")
    expect(rows(page)).to_have_count(0)
    expect(page.get_by_test_id("users-table")).to_contain_text("No users match.")
    screenshot(page, "5-no-match")


def test_an_admin_pages_through_many_users_with_next_and_previous(
    live_server, page: Page, contoso, admin, screenshot
):
    for index in range(60):
        person(contoso, f"user{index:02d}@contoso.example", f"User {index:02d}", password=None)

    sign_in_admin(page, live_server.url)
    open_users(page, live_server.url)
    # 61 users, 50 a page, in user-name order: admin@…, then user00 … user48.
    expect(rows(page)).to_have_count(50)
    expect(rows(page).first).to_contain_text(ADMIN)
    expect(rows(page).last).to_contain_text("user48@contoso.example")
    expect(page.get_by_test_id("previous-page")).to_have_count(0)
    screenshot(page, "1-first-page")

    page.get_by_test_id("next-page").click()
    expect(rows(page)).to_have_count(11)
    expect(rows(page).first).to_contain_text("user49@contoso.example")
    expect(rows(page).last).to_contain_text("user59@contoso.example")
    expect(page.get_by_test_id("next-page")).to_have_count(0)
    screenshot(page, "2-second-page")

    page.get_by_test_id("previous-page").click()
    expect(rows(page)).to_have_count(50)
    expect(rows(page).first).to_contain_text(ADMIN)
    expect(rows(page).last).to_contain_text("user48@contoso.example")


def test_paging_keeps_the_filter(live_server, page: Page, contoso, admin):
    for index in range(55):
        person(contoso, f"user{index:02d}@contoso.example", f"User {index:02d}", password=None)
    for index in range(5):
        person(contoso, f"zed{index}@contoso.example", f"Zed {index}", password=None)

    sign_in_admin(page, live_server.url)
    open_users(page, live_server.url)
    filter_users(page, q="user")
    expect(rows(page)).to_have_count(50)
    page.get_by_test_id("next-page").click()
    expect(rows(page)).to_have_count(5)
    expect(rows(page).last).to_contain_text("user54@contoso.example")
    expect(page.get_by_test_id("user-filters").get_by_label("Search")).to_have_value("user")


# --- 2. Enforcing two-step verification ------------------------------------------------------


def test_an_admin_enforces_two_step_verification_for_one_user(
    live_server, page: Page, contoso, admin, screenshot
):
    person(contoso, "bob@contoso.example", "Bob Baker", password=None)
    person(contoso, "cleo@contoso.example", "Cleo Chen", password=None)

    sign_in_admin(page, live_server.url)
    open_users(page, live_server.url)
    expect(row_of(page, "bob@contoso.example")).to_contain_text("Disabled")
    choose_action(page, ["bob@contoso.example"], "Enforce two-step verification")

    expect(page.get_by_role("heading", name="Change two-step verification")).to_be_visible()
    expect(page.get_by_test_id("bulk-count")).to_have_text("This applies to 1 user.")
    expect(page.get_by_text("bob@contoso.example", exact=True)).to_be_visible()
    expect(page.get_by_text("A second factor is required everywhere.")).to_be_visible()
    screenshot(page, "1-confirm")

    page.get_by_test_id("bulk-confirm").click()
    # (The message says "1 users": not pluralised yet; this matches either way.)
    expect(page.locator(".message")).to_contain_text("Done: 1 user")
    expect(row_of(page, "bob@contoso.example").locator(".badge")).to_have_text("Enforced")
    expect(row_of(page, "cleo@contoso.example").locator(".badge")).to_have_text("Disabled")
    screenshot(page, "2-enforced")
    assert User.objects.get(username="bob@contoso.example").mfa_state == MfaState.ENFORCED


def test_cancelling_the_confirmation_changes_nobody(live_server, page: Page, contoso, admin):
    person(contoso, "bob@contoso.example", "Bob Baker", password=None)

    sign_in_admin(page, live_server.url)
    open_users(page, live_server.url)
    choose_action(page, ["bob@contoso.example"], "Enforce two-step verification")
    page.get_by_role("link", name="Cancel").click()

    expect(row_of(page, "bob@contoso.example").locator(".badge")).to_have_text("Disabled")
    assert User.objects.get(username="bob@contoso.example").mfa_state == MfaState.DISABLED


# --- 3. "Manage user settings": provide contact methods again ---------------------------------


def reregister(page: Page, base_url: str, usernames: list[str], screenshot) -> dict[str, str]:
    """The seeds' steps: tick the users, Manage user settings, require again, Save."""
    open_users(page, base_url)
    choose_action(page, usernames, "Manage user settings…")
    expect(page.get_by_role("heading", name="Manage user settings")).to_be_visible()
    expect(page.get_by_test_id("bulk-count")).to_have_text(
        f"This applies to {len(usernames)} users."
    )
    page.get_by_label("Require the selected users to provide contact methods again").check()
    screenshot(page, "1-manage-user-settings")
    page.get_by_test_id("bulk-confirm").click()

    # Like every admin action: a confirmation, with the number of users it changes.
    expect(page.get_by_test_id("effect-reregister")).to_contain_text(
        f"{len(usernames)} users must provide contact methods again"
    )
    screenshot(page, "1b-confirm-manage-user-settings")
    page.get_by_test_id("manage-confirm-submit").click()

    expect(page.get_by_role("heading", name="One-time access codes")).to_be_visible()
    fact = (
        page.get_by_test_id("manage-result")
        .locator("div")
        .filter(has_text="Asked to provide contact methods again")
    )
    expect(fact.locator("dd")).to_have_text(str(len(usernames)))
    code_rows = page.get_by_test_id("access-code-row")
    expect(code_rows).to_have_count(len(usernames))
    screenshot(page, "2-access-codes")
    return {
        username: code_rows.filter(has_text=username).get_by_test_id("access-code").inner_text()
        for username in usernames
    }


@pytest.fixture
def phone_owners(contoso) -> list[User]:
    """Two people with two-step verification on and an authentication phone each."""
    return [
        person(contoso, "ravi@contoso.example", "Ravi Rao", mfa_state="enabled", number=RAVI),
        person(contoso, "sara@contoso.example", "Sara Sato", mfa_state="enabled", number=SARA),
    ]


def test_users_asked_to_provide_contact_methods_again_register_a_new_phone_with_the_access_code(
    live_server, page: Page, browser: Browser, contoso, admin, phone_owners, screenshot
):
    ravi = "ravi@contoso.example"
    sign_in_admin(page, live_server.url)
    codes = reregister(page, live_server.url, [ravi, "sara@contoso.example"], screenshot)
    assert re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", codes[ravi]), codes
    assert codes[ravi] != codes["sara@contoso.example"]

    open_users(page, live_server.url)
    expect(row_of(page, ravi)).to_contain_text("Must register again")
    screenshot(page, "3-users-must-register-again")

    # Ravi, in a browser of his own: his password leads to the access-code step.
    ravi_page = in_own_browser(browser)
    try:
        enter_password(ravi_page, live_server.url, ravi)
        expect(
            ravi_page.get_by_role("heading", name="Set up your verification again")
        ).to_be_visible()
        screenshot(ravi_page, "4-access-code-asked")
        ravi_page.get_by_label("Access code from your administrator").fill(codes[ravi].lower())
        ravi_page.get_by_role("button", name="Continue").click()

        expect(ravi_page.get_by_role("heading", name="More information required")).to_be_visible()
        expect(ravi_page.get_by_text("Your previous methods no longer work.")).to_be_visible()
        screenshot(ravi_page, "5-choose-method")
        ravi_page.get_by_test_id("register-phone").click()

        expect(
            ravi_page.get_by_role("heading", name="Add your authentication phone")
        ).to_be_visible()
        ravi_page.get_by_label("Country or region").select_option("US")
        ravi_page.get_by_label("Phone number").fill("425 555 0177")
        ravi_page.get_by_label("Text message").check()
        screenshot(ravi_page, "6-new-phone")
        ravi_page.get_by_role("button", name="Next").click()

        expect(ravi_page.get_by_role("heading", name="Verify your phone")).to_be_visible()
        expect(ravi_page.get_by_test_id("challenge-prompt")).to_contain_text("77")
        outbox = ravi_page.context.new_page()
        outbox.goto(f"{live_server.url}/dev/outbox")
        expect(outbox.get_by_test_id("outbox-text-to").first).to_contain_text("77")
        code = texted_code(outbox)
        outbox.close()
        screenshot(ravi_page, "7-verify-new-phone")
        ravi_page.get_by_label("Verification code").fill(code)
        ravi_page.get_by_role("button", name="Verify").click()

        expect_my_account(ravi_page, ravi)
        screenshot(ravi_page, "8-my-account")
    finally:
        ravi_page.context.close()
    user = User.objects.get(username=ravi)
    assert not user.must_reregister
    assert Phone.objects.get(user=user, role=PhoneRole.AUTHENTICATION).number == "+14255550177"


def test_a_wrong_access_code_is_refused_with_a_clear_message(
    live_server, page: Page, browser: Browser, contoso, admin, phone_owners, screenshot
):
    sign_in_admin(page, live_server.url)
    reregister(page, live_server.url, ["ravi@contoso.example", "sara@contoso.example"], screenshot)

    ravi_page = in_own_browser(browser)
    try:
        enter_password(ravi_page, live_server.url, "ravi@contoso.example")
        ravi_page.get_by_label("Access code from your administrator").fill("AAAA-BBBB-CCCC")
        ravi_page.get_by_role("button", name="Continue").click()

        expect(
            ravi_page.get_by_text("This access code is not right, or it has expired.")
        ).to_be_visible()
        expect(
            ravi_page.get_by_role("heading", name="Set up your verification again")
        ).to_be_visible()
        screenshot(ravi_page, "3-wrong-access-code")
        # Without the code, the registration pages send him back to ask for it.
        ravi_page.goto(f"{live_server.url}/account/security-verification/phone/add")
        expect(
            ravi_page.get_by_role("heading", name="Set up your verification again")
        ).to_be_visible()
    finally:
        ravi_page.context.close()


# --- 4. Hardware tokens ----------------------------------------------------------------------


TOKEN_SECRET = "3132333435363738393031323334353637383930"  # RFC 6238's SHA-1 seed, in hex


def token_csv(owner: str) -> bytes:
    lines = [
        "user name,serial number,secret key,time interval,manufacturer,model",
        f"{owner},TOK-0001,{TOKEN_SECRET},30,Feitian,c200",
        f"=cmd|' /C calc'!A0,TOK-0002,{TOKEN_SECRET},30,=HYPERLINK(\"http://x.example\"),c200",
    ]
    return ("\n".join(lines) + "\n").encode()


def test_an_uploaded_hardware_token_is_activated_by_its_user(
    live_server, page: Page, browser: Browser, contoso, admin, screenshot
):
    tina = "tina@contoso.example"
    person(contoso, tina, "Tina Token")

    sign_in_admin(page, live_server.url)
    open_users(page, live_server.url)
    page.get_by_role("link", name="Hardware tokens").click()
    expect(page.get_by_role("heading", name="Hardware tokens")).to_be_visible()
    screenshot(page, "1-tokens-empty")
    page.get_by_label("CSV file").set_input_files(
        {"name": "tokens.csv", "mimeType": "text/csv", "buffer": token_csv(tina)}
    )
    page.get_by_test_id("token-upload").get_by_role("button", name="Upload").click()

    expect(page.get_by_test_id("import-summary")).to_contain_text("1 token added")
    expect(page.get_by_test_id("import-summary")).to_contain_text("1 assigned to a user")
    expect(page.get_by_test_id("import-summary")).to_contain_text("1 row refused")
    added = page.get_by_test_id("import-added-row")
    expect(added).to_have_count(1)
    expect(added).to_contain_text("TOK-0001")
    expect(added).to_contain_text(tina)
    refused = page.get_by_test_id("import-refused-row")
    expect(refused).to_have_count(1)
    expect(refused).to_have_attribute("data-row", "3")
    expect(refused).to_contain_text("There is no user named")
    expect(refused).to_contain_text("not starting with = + - or @")
    screenshot(page, "2-import-report")

    page.get_by_role("link", name="Back to hardware tokens").click()
    tokens = page.get_by_test_id("hardware-token")
    expect(tokens).to_have_count(1)
    expect(tokens).to_contain_text(tina)
    screenshot(page, "3-tokens-list")

    tina_page = in_own_browser(browser)
    try:
        enter_password(tina_page, live_server.url, tina)
        expect_my_account(tina_page, tina)
        tina_page.goto(f"{live_server.url}/account/security-verification")
        activation = tina_page.get_by_test_id("activate-token")
        expect(activation).to_be_visible()
        screenshot(tina_page, "4-token-waiting")
        code = crypto.totp(bytes.fromhex(TOKEN_SECRET), time.time())
        activation.get_by_label("Code from the token").fill(code)
        activation.get_by_role("button", name="Activate").click()

        expect(tina_page.get_by_text("Your hardware token is activated.")).to_be_visible()
        expect(tina_page.get_by_test_id("active-token")).to_contain_text("Hardware token")
        expect(tina_page.get_by_test_id("activate-token")).to_have_count(0)
        screenshot(tina_page, "5-token-active")
    finally:
        tina_page.context.close()


# --- 5. The audit log, by correlation ID -----------------------------------------------------


def correlation_id_on(page: Page, heading: str) -> str:
    """What the person reads out to the help desk from the error page."""
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    correlation_id = page.get_by_test_id("correlation-id").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", correlation_id), correlation_id
    return correlation_id


def look_up(page: Page, base_url: str, correlation_id: str):
    """The admin filters the audit log by the correlation ID; returns the matching rows."""
    open_users(page, base_url)
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    page.get_by_label("Correlation ID").fill(correlation_id)
    page.get_by_test_id("audit-filters").get_by_role("button", name="Filter").click()
    expect(page.get_by_label("Correlation ID")).to_have_value(correlation_id)
    return page.get_by_test_id("audit-row")


def test_an_admin_finds_a_sign_in_refused_for_too_many_passwords_by_its_correlation_id(
    live_server, page: Page, browser: Browser, contoso, admin, settings, screenshot
):
    settings.TWOFOLD = {**settings.TWOFOLD, "signin_attempts_per_user": 2}
    mona = "mona@contoso.example"
    person(contoso, mona, "Mona Miller")

    # Mona forgets her password: two wrong tries, then the third is refused outright.
    mona_page = in_own_browser(browser)
    try:
        mona_page.goto(f"{live_server.url}/signin")
        mona_page.get_by_label("User name").fill(mona)
        mona_page.get_by_role("button", name="Next").click()
        for attempt in ("not my password", "nor this one", "still not it"):
            mona_page.get_by_label("Password", exact=True).fill(attempt)
            mona_page.get_by_role("button", name="Sign in").click()
            if attempt != "still not it":
                expect(mona_page.get_by_role("alert")).to_contain_text("incorrect")
        # Said next to the password, on the page she is on, with the help desk's details.
        expect(mona_page.get_by_role("alert")).to_contain_text("Too many sign-in attempts")
        correlation_id = correlation_id_on(mona_page, "Enter password")
        screenshot(mona_page, "1-too-many-attempts")
    finally:
        mona_page.context.close()

    sign_in_admin(page, live_server.url)
    found = look_up(page, live_server.url, correlation_id)
    screenshot(page, "2-audit-by-correlation-id")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Sign-in refused: too many attempts")
    expect(found).to_contain_text(mona)
    expect(found).to_contain_text(correlation_id)


def test_an_admin_finds_a_sign_in_locked_for_too_many_codes_by_its_correlation_id(
    live_server, page: Page, browser: Browser, contoso, admin, screenshot
):
    Organisation.objects.filter(pk=contoso.pk).update(lockout_threshold=2)
    mona = "mona@contoso.example"
    person(contoso, mona, "Mona Miller", mfa_state=MfaState.ENABLED, number="+14255550155")

    # Mona mistypes her texted code twice: her second factor locks, the page says so.
    mona_page = in_own_browser(browser)
    try:
        enter_password(mona_page, live_server.url, mona)
        for _attempt in range(2):
            expect(mona_page.get_by_role("heading", name="Verify your identity")).to_be_visible()
            mona_page.get_by_label("Verification code").fill("000000")
            mona_page.get_by_role("button", name="Verify").click()
        expect(mona_page.get_by_test_id("refusal")).to_contain_text("Verification is locked")
        correlation_id = correlation_id_on(mona_page, "Verify your identity")
        screenshot(mona_page, "1-locked")
    finally:
        mona_page.context.close()

    sign_in_admin(page, live_server.url)
    found = look_up(page, live_server.url, correlation_id)
    locked = found.filter(has_text="Second factor locked after failed attempts")
    expect(locked).to_have_count(1)
    expect(locked).to_contain_text(mona)
    expect(locked).to_contain_text("Denied")
    expect(found.filter(has_text=correlation_id)).to_have_count(found.count())
    screenshot(page, "2-audit-by-correlation-id")


# --- 6. Who may open the portal --------------------------------------------------------------


def test_a_user_who_is_not_an_admin_gets_access_denied_with_a_correlation_id(
    live_server, page: Page, contoso, screenshot
):
    person(contoso, "bob@contoso.example", "Bob Baker")
    enter_password(page, live_server.url, "bob@contoso.example")
    expect_my_account(page, "bob@contoso.example")

    response = page.goto(f"{live_server.url}{USERS_PAGE}")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Access denied")).to_be_visible()
    expect(page.get_by_test_id("correlation-id")).to_have_text(response.headers["x-correlation-id"])
    expect(page.get_by_test_id("users-table")).to_have_count(0)
    screenshot(page, "403")


def test_an_admin_finds_a_refused_visit_to_the_portal_by_its_correlation_id(
    live_server, page: Page, browser: Browser, contoso, admin
):
    person(contoso, "bob@contoso.example", "Bob Baker")
    bob_page = in_own_browser(browser)
    try:
        enter_password(bob_page, live_server.url, "bob@contoso.example")
        expect_my_account(bob_page, "bob@contoso.example")
        bob_page.goto(f"{live_server.url}{USERS_PAGE}")
        correlation_id = correlation_id_on(bob_page, "Access denied")
    finally:
        bob_page.context.close()

    sign_in_admin(page, live_server.url)
    found = look_up(page, live_server.url, correlation_id)
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Admin portal access refused")
    expect(found).to_contain_text("bob@contoso.example")


# --- 7. On a phone ---------------------------------------------------------------------------


def test_the_users_page_fits_a_phone_without_scrolling_sideways(
    live_server, phone_page: Page, contoso, admin, screenshot
):
    for index in range(6):
        person(
            contoso,
            f"someone.with.a.long.name{index}@contoso.example",
            f"Someone With A Long Name {index}",
            password=None,
        )
    sign_in_admin(phone_page, live_server.url)
    open_users(phone_page, live_server.url)
    expect(rows(phone_page)).to_have_count(7)
    screenshot(phone_page, "users")

    width = phone_page.evaluate("document.documentElement.scrollWidth")
    # Only the table's own container may scroll sideways, never the page.
    assert width <= 390, f"the page scrolls sideways: {width}px wide"
