"""No dead ends and no untrue messages, as a new user meets them in Chromium.

A limit met halfway through signing in is said on the page the person is on; a challenge
that ended leaves no live prompt behind; what each page says is what happened. Each
scene is photographed on a desktop and at 390 px wide.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import pass_the_recovery_codes_offer
from tests.browser.test_second_step_browser import (
    POLLED,
    add_app,
    alice,
    answer_call,
    contoso,
    enter_password,
    expect_my_account,
    fits_the_width,
    newcomer,
    open_phone,
    screenshot,
    with_office_phone,
)
from twofold.accounts.models import User
from twofold.methods.authenticator import activation, push
from twofold.methods.authenticator.tests.phone_app import PhoneApp
from twofold.methods.models import Challenge, ChallengeState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The fixtures this file shares with the second step's (imported, so pytest finds them).
__all__ = ["alice", "contoso", "newcomer", "screenshot"]

DEAD_END = "Go to the start page"


@pytest.fixture(autouse=True)
def _outbox_is_the_phone(settings) -> None:
    """The outbox page on; a 30-second cooldown between texts and calls to one number."""
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "dev_outbox": True,
        "resend_cooldown_seconds": 30,
        "texts_per_user_per_hour": 100,
        "texts_per_number_per_hour": 100,
    }


@pytest.fixture(params=["desktop", "phone"])
def any_page(request, page: Page, phone_page: Page) -> Page:
    """The same scene on a desktop and on a 390 px wide phone."""
    return page if request.param == "desktop" else phone_page


def test_a_call_asked_for_within_the_cooldown_is_refused_on_the_verify_page(
    live_server, any_page: Page, alice, screenshot
):
    with_office_phone(alice)
    enter_password(any_page, live_server.url)  # the automatic text goes out
    any_page.get_by_text("Use another way to verify").click()
    with any_page.expect_response(re.compile(r"/signin/verify/start$")) as refused:
        any_page.get_by_role("button", name="Call +1 XXX XXX XX34").click()

    assert refused.value.status == 429
    expect(any_page.get_by_test_id("refusal")).to_contain_text(
        re.compile(r"Wait \d+ seconds before asking for another text or call")
    )
    expect(any_page.get_by_label("Verification code")).to_be_visible()  # the text still works
    expect(any_page.get_by_role("button", name="Call +1 XXX XXX XX99")).to_be_visible()
    expect(any_page.get_by_text(DEAD_END)).to_have_count(0)
    assert fits_the_width(any_page, any_page.viewport_size["width"])
    screenshot(any_page, "cooldown-inline")


def test_signing_in_while_locked_says_so_once(live_server, any_page: Page, alice, screenshot):
    add_app(alice)
    User.objects.filter(pk=alice.pk).update(
        preferred_option="app_code", mfa_locked_until=timezone.now() + timedelta(minutes=10)
    )
    enter_password(any_page, live_server.url)

    expect(any_page.get_by_test_id("refusal")).to_contain_text("Verification is locked")
    expect(any_page.get_by_text(re.compile("Verification is locked"))).to_have_count(1)
    expect(any_page.get_by_test_id("correlation-id")).to_be_visible()
    assert fits_the_width(any_page, any_page.viewport_size["width"])
    screenshot(any_page, "locked-once")


def test_a_blocked_user_with_the_right_password_is_told_to_call_the_help_desk(
    live_server, any_page: Page, alice, screenshot
):
    User.objects.filter(pk=alice.pk).update(is_blocked=True)
    enter_password(any_page, live_server.url)

    expect(any_page.get_by_role("alert")).to_contain_text("Your account is blocked")
    expect(any_page.get_by_test_id("correlation-id")).to_have_text(re.compile(r"\S+"))
    screenshot(any_page, "blocked")


def test_a_push_approved_with_the_wrong_number_says_so_and_offers_a_new_one(
    live_server, any_page: Page, alice, screenshot
):
    app = PhoneApp()
    app.activate(Client(), activation.issue(alice)[1])
    User.objects.filter(pk=alice.pk).update(preferred_option=push.APP_NOTIFICATION)
    enter_password(any_page, live_server.url)
    expect(any_page.get_by_test_id("push-number")).to_be_visible()
    screenshot(any_page, "1-number-shown")

    challenge = Challenge.objects.get(user=alice, state=ChallengeState.PENDING)
    shown = push.number_for(challenge)
    app.decide(Client(), challenge.pk, "approve", "10" if shown != "10" else "11")

    message = any_page.locator("[data-state-message]")
    expect(message).to_contain_text("didn't match the one on this screen", timeout=POLLED)
    expect(any_page.get_by_test_id("push-number")).to_be_hidden()
    expect(any_page.get_by_text("The request expires in 90 seconds.")).to_be_hidden()
    retry = any_page.get_by_test_id(f"retry-{push.APP_NOTIFICATION}")
    expect(retry).to_be_visible()
    screenshot(any_page, "2-wrong-number")

    retry.click()
    expect(any_page.get_by_test_id("push-number")).to_be_visible()
    screenshot(any_page, "3-new-notification")


def test_a_call_reported_as_fraud_leaves_no_press_hash_on_screen(
    live_server, page: Page, alice, screenshot
):
    with_office_phone(alice, preferred="call:office")
    enter_password(page, live_server.url)
    expect(page.get_by_test_id("challenge-prompt")).to_be_visible()

    answer_call(open_phone(page, live_server.url), "outbox-call-report-fraud")

    expect(page.locator("[data-state-message]")).to_contain_text("fraud", timeout=POLLED)
    expect(page.get_by_test_id("challenge-prompt")).to_be_hidden()
    expect(page.get_by_test_id("retry-call:office")).to_be_hidden()
    screenshot(page, "fraud-no-prompt")


def test_back_after_signing_in_never_says_the_sign_in_took_too_long(
    live_server, page: Page, alice, screenshot
):
    key = add_app(alice)
    User.objects.filter(pk=alice.pk).update(preferred_option="app_code")
    enter_password(page, live_server.url)
    page.get_by_label("Verification code").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Verify").click()
    expect_my_account(page)

    page.go_back()
    expect_my_account(page)
    expect(page.get_by_text("took too long")).to_have_count(0)
    screenshot(page, "back-after-sign-in")


def test_a_newcomer_lands_on_the_page_they_asked_for_after_registering(
    live_server, page: Page, newcomer, screenshot
):
    page.goto(f"{live_server.url}/account/security-verification")
    page.get_by_label("User name").fill(newcomer.username)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("register-app").click()
    key = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Save").click()

    pass_the_recovery_codes_offer(page)
    expect(page.get_by_role("heading", name="Security verification", exact=True)).to_be_visible()
    screenshot(page, "landed-where-asked")


def test_a_one_time_bypass_is_said_where_the_person_lands(
    live_server, any_page: Page, alice, screenshot
):
    User.objects.filter(pk=alice.pk).update(mfa_bypass_until=timezone.now() + timedelta(hours=1))
    enter_password(any_page, live_server.url)
    expect_my_account(any_page)
    expect(any_page.get_by_text(re.compile("one-time bypass"))).to_be_visible()
    screenshot(any_page, "bypass-said")


def test_a_wait_whose_sign_in_ended_elsewhere_stops_saying_we_are_calling(
    live_server, any_page: Page, alice, screenshot
):
    """The sign-in the page waits for ended without its challenge (signed out everywhere):
    the poll is answered "not found", and the page says so instead of "press #" forever."""
    from twofold.accounts.services import sign_out_everywhere

    with_office_phone(alice, preferred="call:office")
    enter_password(any_page, live_server.url)
    expect(any_page.get_by_test_id("challenge-prompt")).to_be_visible()
    expect(any_page.get_by_test_id("sign-in-again")).to_be_hidden()  # only once it is gone

    sign_out_everywhere(alice)

    expect(any_page.locator("[data-state-message]")).to_contain_text(
        "no longer waiting", timeout=POLLED
    )
    expect(any_page.get_by_test_id("challenge-prompt")).to_be_hidden()
    expect(any_page.get_by_test_id("sign-in-again")).to_be_visible()
    screenshot(any_page, "wait-gone")


def test_a_call_replaced_by_a_newer_one_in_another_tab_says_it_was_stopped(
    live_server, any_page: Page, alice, settings, screenshot
):
    settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 0}
    with_office_phone(alice, preferred="call:office")
    enter_password(any_page, live_server.url)
    expect(any_page.get_by_test_id("challenge-prompt")).to_be_visible()

    other = any_page.context.new_page()
    other.goto(f"{live_server.url}/signin/verify")
    other.evaluate("document.querySelector('[data-retry]').hidden = false")
    other.get_by_test_id("retry-call:office").click()
    expect(other.get_by_test_id("challenge-prompt")).to_be_visible()

    expect(any_page.locator("[data-state-message]")).to_contain_text(
        "newer request replaced it", timeout=POLLED
    )
    expect(any_page.get_by_text("Nobody answered in time")).to_have_count(0)
    expect(any_page.get_by_test_id("challenge-prompt")).to_be_hidden()
    expect(any_page.get_by_test_id("sign-in-again")).to_be_hidden()  # the sign-in goes on
    screenshot(any_page, "replaced-by-a-newer-call")
