"""What a new user does after `make run`: sign in as a demo user, see My account, sign out.

Bob has two-step verification off; the second step has its own tests.
"""

import pytest
from playwright.sync_api import Page, expect

from twofold import demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_demo_user_signs_in_sees_my_account_and_signs_out(live_server, page: Page, screenshot):
    credentials = demo.seed()
    page.goto(live_server.url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "1-username")

    page.get_by_label("User name").fill("bob@contoso.example")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_test_id("pending-username")).to_have_text("bob@contoso.example")
    expect(page.locator(".brand-name")).to_have_text("Contoso")
    screenshot(page, "2-password")

    page.get_by_label("Password", exact=True).fill(credentials["bob@contoso.example"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    expect(page.get_by_test_id("account-username")).to_have_text("bob@contoso.example")
    screenshot(page, "3-my-account")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
    screenshot(page, "4-signed-out")
    page.goto(f"{live_server.url}/account")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_password_shows_the_error_next_to_the_field(live_server, page: Page, screenshot):
    demo.seed()
    page.goto(f"{live_server.url}/signin")
    page.get_by_label("User name").fill("bob@contoso.example")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Your user name or password is incorrect.")
    screenshot(page, "wrong-password")


def test_the_sign_in_page_reads_well_on_a_phone(live_server, phone_page: Page, screenshot):
    phone_page.goto(f"{live_server.url}/signin")
    expect(phone_page.get_by_role("button", name="Next")).to_be_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(phone_page, "phone-username")


def test_an_error_page_shows_the_correlation_id_for_the_help_desk(live_server, page, screenshot):
    response = page.goto(f"{live_server.url}/no-such-page")
    assert response.status == 404
    correlation_id = response.headers["x-correlation-id"]
    expect(page.get_by_test_id("correlation-id")).to_have_text(correlation_id)
    screenshot(page, "404")
