"""The SIEM page in a browser: an administrator adds a syslog destination over TLS that
starts from the beginning of the retained log, and reads each destination's state (what
it last received, what waits, and a failing one's error and since when), on a desktop and
on a phone without scrolling sideways."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.test_admin_browser import ADMIN, ADMIN_NUMBER, person, sign_in_admin
from twofold.accounts.models import MfaState, User
from twofold.audit import forwarding
from twofold.audit.models import ForwardDestination
from twofold.organisations.models import Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _outbox_is_the_phone(settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "dev_outbox": True, "resend_cooldown_seconds": 0}


@pytest.fixture
def contoso(db) -> Organisation:
    from twofold.organisations.services import create_organisation

    return create_organisation("Contoso", ["contoso.example"], slug="contoso")


@pytest.fixture
def admin(contoso) -> User:
    return person(
        contoso, ADMIN, "Adele Admin", mfa_state=MfaState.ENFORCED, number=ADMIN_NUMBER,
        is_admin=True,
    )  # fmt: skip


def _add_syslog_from_the_beginning(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/admin-portal/siem")
    form = page.get_by_test_id("siem-syslog-form")
    form.get_by_label("Syslog address").fill("tcp+tls://8.8.8.8:6514")
    form.get_by_label("From the beginning of the retained log").check()
    form.get_by_role("button", name="Add syslog destination").click()
    expect(page.get_by_text("The syslog destination is added.")).to_be_visible()


def test_an_admin_adds_a_syslog_destination_and_reads_each_destinations_state(
    live_server, page: Page, contoso, admin, screenshot
) -> None:
    sign_in_admin(page, live_server.url)
    _add_syslog_from_the_beginning(page, live_server.url)
    syslog = page.locator('[data-testid="siem-destination"][data-kind="syslog"]')
    expect(syslog).to_contain_text("tcp+tls://8.8.8.8:6514")
    expect(syslog.get_by_test_id("siem-delivered")).to_have_text("Nothing yet")
    # From the beginning: the organisation's events so far wait for it.
    expect(syslog.get_by_test_id("siem-behind")).to_contain_text("events")
    expect(syslog.get_by_test_id("siem-state")).to_have_text("Receiving")

    with override_settings(TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES=True):
        webhook, _ = forwarding.add_webhook(contoso, "http://127.0.0.1:9/nothing-listens")
        # Only the webhook is tried: the syslog's address is not one a test may reach.
        forwarding.forward_destination(webhook, timezone.now())
    page.reload()
    row = page.locator('[data-testid="siem-destination"][data-kind="webhook"]')
    expect(row.get_by_test_id("siem-state")).to_contain_text("Failing since")
    expect(row.get_by_test_id("siem-error")).to_contain_text("webhook http://127.0.0.1:9: ")
    screenshot(page, "siem")


def test_the_siem_page_fits_a_phone_without_scrolling_sideways(
    live_server, phone_page: Page, contoso, admin, screenshot
) -> None:
    sign_in_admin(phone_page, live_server.url)
    _add_syslog_from_the_beginning(phone_page, live_server.url)
    ForwardDestination.objects.update(
        failures=4,
        failing_since=timezone.now(),
        last_error="syslog tcp+tls://8.8.8.8:6514: timed out",
    )
    phone_page.reload()
    screenshot(phone_page, "siem-phone")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width}px wide"
