"""The admin portal's policy page in a browser: every label a sentence, one option per
line, and the trusted address ranges field saying its format and that an integration's
own address never counts as trusted (docs/security.md 32). At desktop and phone width."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE
from tests.browser.test_admin_browser import (  # noqa: F401 - fixtures used by name
    _outbox_is_the_phone,
    admin,
    contoso,
    sign_in_admin,
)
from tests.conftest import PATIENCE_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLICY_PAGE = "/admin-portal/policy"
RANGES = "Sign-ins from these address ranges need no second factor."

# Each option's label box, in page order (checkboxes in and out of lists).
OPTION_BOXES = """() => [...document.querySelectorAll('.policy-form label.choice')]
  .map((label) => { const box = label.getBoundingClientRect();
                    return [box.top, box.bottom, box.left]; })"""


def open_policy(page: Page, base_url: str) -> None:
    sign_in_admin(page, base_url)
    page.goto(f"{base_url}{POLICY_PAGE}")
    expect(page.get_by_role("heading", name="Policy and branding")).to_be_visible()


def shares_a_line(boxes: list[list[float]]) -> list[int]:
    """Indexes of options that start on the same line as the option before them."""
    return [
        index
        for index in range(1, len(boxes))
        if boxes[index][0] < boxes[index - 1][1] - 1  # overlaps the previous one vertically
    ]


def expect_the_ranges_field_explains_itself(page: Page) -> None:
    field = page.get_by_label(RANGES)
    expect(field).to_be_visible()
    expect(field).to_have_attribute("placeholder", "192.0.2.0/24\n2001:db8::/32")
    help_text = page.locator("#id_trusted_ip_ranges_help")
    expect(help_text).to_contain_text("such as 192.0.2.0/24 or 2001:db8::/32")
    expect(help_text).to_contain_text(
        "the address of a VPN, mail server or other integration never does"
    )


@pytest.mark.usefixtures("contoso", "admin")
@pytest.mark.parametrize("width", [1280, 390])
def test_the_policy_page_shows_one_option_per_line_and_explains_trusted_ranges(
    live_server, browser, screenshot, width
):
    options = PHONE if width == 390 else {"viewport": {"width": width, "height": 800}}
    context = browser.new_context(**options, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(PATIENCE_MS)
    try:
        open_policy(page, live_server.url)
        expect(
            page.get_by_label(
                "Everyone must use two-step verification, whatever their own setting."
            )
        ).to_be_visible()
        expect_the_ranges_field_explains_itself(page)
        page.get_by_label(RANGES).scroll_into_view_if_needed()
        screenshot(page, f"policy-{width}")

        boxes = page.evaluate(OPTION_BOXES)
        assert len(boxes) >= 8
        assert shares_a_line(boxes) == []
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"the page scrolls sideways: {scroll_width}px wide"
    finally:
        context.close()
