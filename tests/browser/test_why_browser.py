"""The help desk's "why", in a browser: an administrator reads on a user's page why each
recent sign-in was asked for a second step or not, and follows its correlation ID to the
audit search. Screenshots at desktop width and at 390px (a phone)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_admin_browser import (  # noqa: F401 - fixtures used by name
    RAVI,
    _outbox_is_the_phone,
    admin,
    contoso,
    enter_password,
    in_own_browser,
    person,
    sign_in_admin,
)
from twofold.accounts.models import MfaState
from twofold.organisations.models import Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RAVI_NAME = "ravi@contoso.example"


def sign_in_twice(browser: Browser, base_url: str, organisation: Organisation) -> None:
    """Ravi signs in once from outside any trusted range (asked), then once from inside."""
    page = in_own_browser(browser)
    enter_password(page, base_url, RAVI_NAME)
    expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()
    page.context.close()
    organisation.trusted_ip_ranges = ["127.0.0.0/8"]
    organisation.save()
    page = in_own_browser(browser)
    enter_password(page, base_url, RAVI_NAME)
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    page.context.close()


def test_an_admin_reads_why_each_sign_in_was_asked_or_not(
    live_server,
    browser: Browser,
    page: Page,
    contoso,  # noqa: F811 - the fixture imported above
    admin,  # noqa: F811 - the fixture imported above
    screenshot,
):
    ravi = person(contoso, RAVI_NAME, "Ravi Rao", mfa_state=MfaState.ENABLED, number=RAVI)
    sign_in_admin(page, live_server.url)
    sign_in_twice(browser, live_server.url, contoso)

    page.goto(f"{live_server.url}/admin-portal/users/{ravi.pk}")
    decisions = page.get_by_test_id("subject-decision")
    expect(decisions).to_have_count(2)
    expect(decisions.nth(0)).to_contain_text("Not asked: 127.0.0.0/8 is a trusted range.")
    expect(decisions.nth(1)).to_contain_text(
        "Asked: two-step verification is on; Text message was offered first"
    )
    page.get_by_role("heading", name="Why asked, or not asked").scroll_into_view_if_needed()
    screenshot(page, "1-user-page-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "2-user-page-390px")
    panel = page.locator("section", has=page.get_by_test_id("subject-decisions"))
    panel.screenshot(path=str(ARTIFACTS / "why-panel-390px.png"))

    decisions.nth(0).get_by_role("link").click()
    why = page.get_by_test_id("audit-why")
    expect(why).to_have_count(1)
    expect(why).to_have_text("Not asked: 127.0.0.0/8 is a trusted range.")
    screenshot(page, "3-audit-search-390px")
