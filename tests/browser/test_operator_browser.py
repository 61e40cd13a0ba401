"""The operator (a superuser of the service) and the promises of administrators' resets,
in a browser: organisations made and suspended on /operator/, "manage user settings"
confirmed with its counts, and a reset's texts reported as sent or waiting.

Everyone signs in through the pages with a texted code read on the dev outbox.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_admin_browser import (
    ADMIN,
    ADMIN_NUMBER,
    PASSWORD,
    choose_action,
    enter_password,
    expect_my_account,
    in_own_browser,
    open_users,
    person,
    texted_code,
)
from twofold.accounts.models import MfaState, User
from twofold.methods import verification
from twofold.methods.models import ChallengePurpose
from twofold.organisations.models import Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OPERATOR = "op@contoso.example"
RAVI, RAVI_NUMBER = "ravi@contoso.example", "+14255550111"


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
def contoso(db) -> Organisation:
    from twofold.organisations.services import create_organisation

    return create_organisation("Contoso", ["contoso.example"], slug="contoso")


@pytest.fixture
def fabrikam(db) -> Organisation:
    from twofold.organisations.services import create_organisation

    return create_organisation("Fabrikam", ["fabrikam.example"], slug="fabrikam")


@pytest.fixture
def operator(contoso) -> User:
    from twofold.accounts.services import create_user
    from twofold.methods.phone import services as phones

    user = create_user(contoso, OPERATOR, PASSWORD, display_name="Olga Operator", is_operator=True)
    phones.set_number(user, "authentication", ADMIN_NUMBER, mode="text")
    return user


@pytest.fixture
def admin(contoso) -> User:
    return person(
        contoso,
        ADMIN,
        "Adele Admin",
        mfa_state=MfaState.ENABLED,
        number=ADMIN_NUMBER,
        is_admin=True,
    )


def sign_in_with_code(page: Page, base_url: str, username: str) -> None:
    enter_password(page, base_url, username)
    expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()
    phone = page.context.new_page()
    phone.goto(f"{base_url}/dev/outbox")
    code = texted_code(phone)
    phone.close()
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect_my_account(page, username)


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width}px wide"


# --- Item 11: the operator -------------------------------------------------------------------


def test_the_operator_creates_an_organisation_whose_first_admin_sets_a_password(
    live_server, page: Page, browser: Browser, operator, screenshot
):
    sign_in_with_code(page, live_server.url, OPERATOR)
    page.goto(f"{live_server.url}/admin-portal/")
    page.get_by_test_id("nav-operator").click()
    expect(page.get_by_role("heading", name="Organisations")).to_be_visible()
    screenshot(page, "1-organisations")
    page.get_by_test_id("operator-new").click()

    page.get_by_label("Name", exact=True).fill("Northwind")
    page.get_by_label("Domain").fill("contoso.example")  # taken: refused, nothing made
    page.get_by_label("First administrator's user name").fill("nora@northwind.example")
    page.get_by_test_id("operator-create-submit").click()
    expect(page.get_by_text("This domain already belongs to an organisation")).to_be_visible()
    screenshot(page, "2-domain-taken")
    page.get_by_label("Domain").fill("northwind.example")
    page.get_by_label("First administrator's name").fill("Nora North")
    page.get_by_test_id("operator-create-submit").click()

    expect(page.get_by_role("heading", name="Northwind is created")).to_be_visible()
    link = page.get_by_test_id("password-link").inner_text()
    screenshot(page, "3-created-with-link")

    nora = in_own_browser(browser)
    try:
        nora.goto(live_server.url + urlsplit(link).path)  # the link names TWOFOLD_BASE_URL
        nora.get_by_label("New password", exact=True).fill("a long and new passphrase")
        nora.get_by_label("New password confirmation").fill("a long and new passphrase")
        nora.get_by_role("button", name="Set password").click()
        expect(nora.get_by_role("heading", name="Your password is set")).to_be_visible()
    finally:
        nora.context.close()
    admin = User.objects.get(username="nora@northwind.example")
    assert admin.is_admin
    assert admin.mfa_state == MfaState.ENFORCED
    assert admin.has_usable_password()


def test_the_operator_suspends_an_organisation_and_its_people_are_told_at_sign_in(
    live_server, page: Page, browser: Browser, operator, fabrikam, screenshot
):
    person(fabrikam, "fred@fabrikam.example", "Fred Fabrikam")
    sign_in_with_code(page, live_server.url, OPERATOR)
    page.goto(f"{live_server.url}/operator/")
    row = page.get_by_test_id("operator-organisation").filter(has_text="fabrikam.example")
    row.get_by_test_id("operator-suspend").click()
    expect(page.get_by_test_id("operator-confirm")).to_contain_text("Its 1 user can't sign in")
    screenshot(page, "1-confirm-suspension")
    page.get_by_test_id("operator-confirm-submit").click()
    expect(page.get_by_text("Fabrikam is suspended.")).to_be_visible()
    expect(row.get_by_test_id("operator-state")).to_contain_text("Suspended since")
    screenshot(page, "2-suspended")

    fred = in_own_browser(browser)
    try:
        fred.goto(f"{live_server.url}/signin")
        fred.get_by_label("User name").fill("fred@fabrikam.example")
        fred.get_by_role("button", name="Next").click()
        expect(fred.get_by_role("heading", name="Sign-in is suspended")).to_be_visible()
        expect(fred.get_by_role("button", name="Use another account")).to_be_visible()
        screenshot(fred, "3-fred-told")
    finally:
        fred.context.close()

    row.get_by_test_id("operator-resume").click()
    page.get_by_test_id("operator-confirm-submit").click()
    expect(row.get_by_test_id("operator-state")).to_have_text("Active")


def test_the_operator_pages_fit_a_phone(
    live_server, phone_page: Page, operator, fabrikam, screenshot
):
    sign_in_with_code(phone_page, live_server.url, OPERATOR)
    phone_page.goto(f"{live_server.url}/operator/")
    expect(phone_page.get_by_test_id("operator-organisation")).to_have_count(2)
    screenshot(phone_page, "1-organisations")
    fits(phone_page)
    phone_page.goto(f"{live_server.url}/operator/organisations/new")
    screenshot(phone_page, "2-new-organisation")
    fits(phone_page)


# --- Items 9 and 10: what a reset promises -----------------------------------------------------


def test_manage_user_settings_is_confirmed_with_its_counts(
    live_server, page: Page, phone_page: Page, contoso, admin, screenshot
):
    person(contoso, RAVI, "Ravi Rao", mfa_state="enabled", number=RAVI_NUMBER)
    person(contoso, "sara@contoso.example", "Sara Sato")
    for shown, name in ((page, "desktop"), (phone_page, "phone")):
        sign_in_with_code(shown, live_server.url, ADMIN)
        open_users(shown, live_server.url)
        choose_action(shown, [RAVI, "sara@contoso.example"], "Manage user settings…")
        shown.get_by_label("Require the selected users to provide contact methods again").check()
        shown.get_by_test_id("bulk-confirm").click()
        effect = shown.get_by_test_id("effect-reregister")
        expect(effect).to_contain_text("2 users must provide contact methods again")
        expect(effect).to_contain_text("1 of them gets a text on their old authentication phone.")
        screenshot(shown, f"confirm-{name}")
        if name == "phone":
            fits(shown)
    assert not User.objects.filter(must_reregister=True).exists()


def test_a_resets_text_held_back_by_a_cap_is_reported_with_when_it_goes(
    live_server, page: Page, phone_page: Page, contoso, admin, settings, screenshot
):
    ravi = person(contoso, RAVI, "Ravi Rao", mfa_state="enabled", number=RAVI_NUMBER)
    sign_in_with_code(page, live_server.url, ADMIN)
    settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_number_per_hour": 1}
    verification.start_challenge(ravi, "text:authentication", ChallengePurpose.SIGNIN)
    page.goto(f"{live_server.url}/admin-portal/users/{ravi.pk}")
    expect(page.get_by_test_id("reregister-notice")).to_contain_text(
        "Their authentication phone gets a text saying so"
    )
    page.get_by_test_id("action-reregister").click()
    page.get_by_test_id("action-confirm").click()
    waiting = page.get_by_test_id("notices-waiting")
    expect(waiting).to_contain_text("1 text to an old authentication phone waits")
    expect(waiting).to_contain_text("It is sent after")
    screenshot(page, "1-text-waits")
    # The same page (a POST's answer) on a phone, for its layout, with its style sheets.
    phone_page.set_content(
        page.content().replace("<head>", f'<head><base href="{live_server.url}/">', 1)
    )
    fits(phone_page)
    screenshot(phone_page, "2-text-waits-phone")


def test_registering_again_after_a_reset_is_not_refused_by_texts_earlier_in_the_hour(
    live_server, page: Page, browser: Browser, contoso, admin, settings, screenshot
):
    ravi = person(contoso, RAVI, "Ravi Rao", mfa_state="enabled", number=RAVI_NUMBER)
    settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_user_per_hour": 1}
    verification.start_challenge(ravi, "text:authentication", ChallengePurpose.SIGNIN)
    sign_in_with_code(page, live_server.url, ADMIN)
    page.goto(f"{live_server.url}/admin-portal/users/{ravi.pk}")
    page.get_by_test_id("action-reregister").click()
    page.get_by_test_id("action-confirm").click()
    code = page.get_by_test_id("access-code").inner_text()
    expect(page.get_by_test_id("notice-progress")).to_contain_text(
        "1 text telling the user was sent"
    )

    ravi_page = in_own_browser(browser)
    try:
        enter_password(ravi_page, live_server.url, RAVI)
        ravi_page.get_by_label("Access code from your administrator").fill(code)
        ravi_page.get_by_role("button", name="Continue").click()
        ravi_page.get_by_test_id("register-phone").click()
        ravi_page.get_by_label("Country or region").select_option("US")
        ravi_page.get_by_label("Phone number").fill("425 555 0177")
        ravi_page.get_by_label("Text message").check()
        ravi_page.get_by_role("button", name="Next").click()
        expect(ravi_page.get_by_role("heading", name="Verify your phone")).to_be_visible()
        screenshot(ravi_page, "verify-new-phone")
    finally:
        ravi_page.context.close()
