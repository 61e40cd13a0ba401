"""The second step of signing in, as a person goes through it in a browser.

The person's phone is the dev outbox, open in a second page of the same browser: texted
codes are read there and calls are answered there. Authenticator codes come from pyotp,
as an app on their phone would compute them.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from functools import partial

import pyotp
import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.conftest import pass_the_recovery_codes_offer
from twofold.accounts.models import MfaState, User
from twofold.delivery.models import OutboxKind, OutboxMessage
from twofold.methods.authenticator import services as authenticator
from twofold.methods.models import Challenge, ChallengeState
from twofold.methods.phone import services as phones
from twofold.methods.testing import prove_with_previous_step
from twofold.organisations.models import Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
ALICE = "alice@contoso.example"
AUTH_NUMBER = "+14255550134"
OFFICE_NUMBER = "+14255550199"
VERIFY = "Verify your identity"
TEXTED = "We texted a 6-digit code to +1 XXX XXX XX34. Enter it below."
CALLING_OFFICE = "We're calling +1 XXX XXX XX99. Answer and press the # key to finish."
# The waiting page polls every 2 s: an answer shows within two polls.
POLLED = 6_000


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
def screenshot(screenshot):
    """The shared screenshot, taken once the page's style sheets have loaded.

    A page reached by a click can pass an ``expect`` before a second style sheet (the
    authenticator page's methods.css) arrives; a full-page shot then measures the page
    unstyled (the QR code 800 px tall) and leaves a blank band below the footer.
    """

    def take(page: Page, name: str):
        page.wait_for_load_state()
        return screenshot(page, name)

    return take


@pytest.fixture
def contoso(db) -> Organisation:
    from twofold.organisations.services import create_organisation

    return create_organisation(
        "Contoso", ["contoso.example"], slug="contoso", allow_app_passwords=True
    )


@pytest.fixture
def alice(contoso) -> User:
    """Two-step verification on; her authentication phone gets texts."""
    from twofold.accounts.services import create_user

    user = create_user(
        contoso, ALICE, PASSWORD, display_name="Alice Example", mfa_state=MfaState.ENABLED
    )
    phones.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


@pytest.fixture
def newcomer(contoso) -> User:
    """Two-step verification on, but no method registered yet."""
    from twofold.accounts.services import create_user

    return create_user(
        contoso,
        "nina@contoso.example",
        PASSWORD,
        display_name="Nina New",
        mfa_state=MfaState.ENABLED,
    )


def with_office_phone(user: User, *, preferred: str = "") -> User:
    phones.set_number(user, "office", OFFICE_NUMBER, "55")
    if preferred:
        User.objects.filter(pk=user.pk).update(preferred_option=preferred)
    return user


def add_app(user: User) -> str:
    """Enrol an authenticator app; return its Base32 key, as the person's app holds it.

    It is proven with the previous time step's code (accepted: ±1 step), which leaves the
    current step's code unused for signing in (a step used once is refused).
    """
    secret = authenticator.new_secret()
    prove_with_previous_step(
        secret, partial(authenticator.add_device, user, "Alice's phone", secret)
    )
    return authenticator.base32(secret)


# --- What the person does --------------------------------------------------------------


def enter_password(page: Page, base_url: str, username: str = ALICE) -> None:
    page.goto(f"{base_url}/signin")
    page.get_by_label("User name").fill(username)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def open_phone(page: Page, base_url: str) -> Page:
    """The outbox in a second page of the same browser: the person's phone."""
    phone = page.context.new_page()
    phone.goto(f"{base_url}/dev/outbox")
    return phone


def texted_code(phone: Page) -> str:
    """The code in the newest text on the phone (the outbox lists newest first)."""
    phone.reload()
    body = phone.get_by_test_id("outbox-text-body").first.inner_text()
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    return found.group(1)


def answer_call(phone: Page, button: str) -> None:
    phone.reload()
    phone.get_by_test_id(button).first.click()
    expect(phone.get_by_test_id("outbox-call-state").first).not_to_have_text("Ringing")


def expect_my_account(page: Page, username: str = ALICE, timeout: float = 10_000) -> None:
    expect(page.get_by_role("heading", name="My account")).to_be_visible(timeout=timeout)
    expect(page.get_by_test_id("account-username")).to_have_text(username)


def fits_the_width(page: Page, width: int = 390) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


# --- Codes ---------------------------------------------------------------------------------


def test_a_code_from_the_authenticator_app_signs_in(live_server, page: Page, alice, screenshot):
    key = add_app(alice)
    User.objects.filter(pk=alice.pk).update(preferred_option="app_code")
    enter_password(page, live_server.url)

    expect(page.get_by_role("heading", name=VERIFY)).to_be_visible()
    expect(page.get_by_test_id("challenge-prompt")).to_contain_text("authenticator app")
    screenshot(page, "1-app-code-asked")
    page.get_by_label("Verification code").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Verify").click()

    expect_my_account(page)
    screenshot(page, "2-my-account")


def test_a_texted_code_read_on_the_phone_signs_in(live_server, page: Page, alice, screenshot):
    enter_password(page, live_server.url)
    expect(page.get_by_role("heading", name=VERIFY)).to_be_visible()
    expect(page.get_by_test_id("challenge-prompt")).to_have_text(TEXTED)
    screenshot(page, "1-code-sent")

    phone = open_phone(page, live_server.url)
    code = texted_code(phone)
    expect(phone.get_by_test_id("outbox-text-to").first).to_contain_text("34")
    screenshot(phone, "2-outbox-text")

    page.bring_to_front()
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Verify").click()
    expect_my_account(page)
    screenshot(page, "3-my-account")


def test_a_wrong_code_is_refused_with_a_message_next_to_the_field(
    live_server, page: Page, alice, screenshot
):
    enter_password(page, live_server.url)
    right = texted_code(open_phone(page, live_server.url))
    page.get_by_label("Verification code").fill("000000" if right != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_text("That code didn't work. Check it and try again.")).to_be_visible()
    expect(page.get_by_role("heading", name=VERIFY)).to_be_visible()
    screenshot(page, "wrong-code")


# --- Calls ---------------------------------------------------------------------------------


def test_a_call_answered_with_hash_moves_the_waiting_page_on_by_itself(
    live_server, page: Page, alice, screenshot
):
    with_office_phone(alice, preferred="call:office")
    enter_password(page, live_server.url)

    waiting = page.get_by_test_id("waiting")
    expect(waiting).to_be_visible()
    expect(page.get_by_test_id("challenge-prompt")).to_have_text(CALLING_OFFICE)
    screenshot(page, "1-waiting")

    phone = open_phone(page, live_server.url)
    expect(phone.get_by_test_id("outbox-call-to").first).to_contain_text("ext. 55")
    screenshot(phone, "2-outbox-ringing")
    answer_call(phone, "outbox-call-approve")
    screenshot(phone, "3-outbox-answered")

    # Nobody touches the sign-in page: its polling notices the answer and finishes.
    expect_my_account(page, timeout=POLLED)
    screenshot(page, "4-my-account")


def test_reporting_fraud_on_the_call_stops_the_sign_in_and_blocks_the_user(
    live_server, page: Page, browser, alice, screenshot
):
    with_office_phone(alice, preferred="call:office")
    enter_password(page, live_server.url)
    expect(page.get_by_test_id("waiting")).to_be_visible()

    answer_call(open_phone(page, live_server.url), "outbox-call-report-fraud")

    message = page.locator("[data-state-message]")
    expect(message).to_contain_text("You reported this call as fraud", timeout=POLLED)
    expect(page.get_by_role("button", name="I've answered the call")).to_be_hidden()
    screenshot(page, "1-fraud-reported")

    again = browser.new_context(locale="en-GB").new_page()
    try:
        enter_password(again, live_server.url)
        # The right password: told of the block, with what the help desk asks for.
        expect(again.get_by_text(re.compile("Your account is blocked"))).to_be_visible()
        expect(again.get_by_test_id("correlation-id")).to_be_visible()
        screenshot(again, "2-sign-in-refused")
    finally:
        again.context.close()


def test_a_declined_call_says_so_on_the_waiting_page(live_server, page: Page, alice, screenshot):
    with_office_phone(alice, preferred="call:office")
    enter_password(page, live_server.url)
    expect(page.get_by_test_id("waiting")).to_be_visible()

    answer_call(open_phone(page, live_server.url), "outbox-call-decline")

    message = page.locator("[data-state-message]")
    expect(message).to_have_text(
        "The call was declined. Try again, or use another way.", timeout=POLLED
    )
    expect(page.get_by_role("button", name="I've answered the call")).to_be_hidden()
    declined = Challenge.objects.get(user=alice, option="call:office")
    expect(page.get_by_test_id("correlation-id")).to_have_text(declined.correlation_id)
    expect(page.get_by_test_id("utc-time")).to_have_text(
        declined.completed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    )
    screenshot(page, "1-declined")

    page.reload()
    expect(page.get_by_test_id("challenge-ended")).to_contain_text("declined")
    screenshot(page, "2-after-reload")


def test_a_call_nobody_answers_in_time_says_so_on_the_waiting_page(
    live_server, page: Page, alice, screenshot
):
    with_office_phone(alice, preferred="call:office")
    enter_password(page, live_server.url)
    expect(page.get_by_test_id("waiting")).to_be_visible()

    Challenge.objects.filter(user=alice, state=ChallengeState.PENDING).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    message = page.locator("[data-state-message]")
    expect(message).to_have_text(
        "Nobody answered in time. Try again, or use another way.", timeout=POLLED
    )
    expect(page.get_by_test_id("option-text:authentication")).to_be_visible()
    screenshot(page, "1-timed-out")

    page.reload()
    expect(page.get_by_test_id("challenge-ended")).to_contain_text("expired")
    expect(page.get_by_test_id("start-call:office")).to_have_text("Call +1 XXX XXX XX99")
    screenshot(page, "2-after-reload")


# --- Sign in another way ------------------------------------------------------------------


def test_another_way_lists_the_other_methods_masked_and_switching_starts_one(
    live_server, page: Page, alice, screenshot
):
    add_app(alice)
    with_office_phone(alice, preferred="app_code")
    enter_password(page, live_server.url)
    expect(page.get_by_test_id("challenge-prompt")).to_contain_text("authenticator app")

    page.get_by_text("Use another way to verify").click()
    options = page.locator(".another-way .option-button")
    expect(options).to_have_text(
        ["Text +1 XXX XXX XX34", "Call +1 XXX XXX XX34", "Call +1 XXX XXX XX99"]
    )
    screenshot(page, "1-another-way")

    texts_before = OutboxMessage.objects.filter(kind=OutboxKind.TEXT).count()
    page.get_by_role("button", name="Text +1 XXX XXX XX34").click()
    expect(page.get_by_test_id("challenge-prompt")).to_have_text(TEXTED)
    assert OutboxMessage.objects.filter(kind=OutboxKind.TEXT).count() == texts_before + 1
    screenshot(page, "2-text-sent")

    page.get_by_label("Verification code").fill(texted_code(open_phone(page, live_server.url)))
    page.get_by_role("button", name="Verify").click()
    expect_my_account(page)


def test_switching_to_a_call_from_a_text_shows_the_waiting_page(
    live_server, page: Page, alice, screenshot
):
    with_office_phone(alice)
    enter_password(page, live_server.url)
    expect(page.get_by_label("Verification code")).to_be_visible()

    page.get_by_text("Use another way to verify").click()
    page.get_by_role("button", name="Call +1 XXX XXX XX99").click()
    expect(page.get_by_test_id("waiting")).to_be_visible()
    screenshot(page, "switched-to-call")

    answer_call(open_phone(page, live_server.url), "outbox-call-approve")
    expect_my_account(page, timeout=POLLED)


# --- Trusted device ------------------------------------------------------------------------


def test_dont_ask_again_skips_the_second_step_next_time_in_this_browser(
    live_server, page: Page, alice, screenshot
):
    enter_password(page, live_server.url)
    phone = open_phone(page, live_server.url)
    page.get_by_label("Verification code").fill(texted_code(phone))
    page.get_by_label("Don't ask again for 14 days").check()
    screenshot(page, "1-remember-ticked")
    page.get_by_role("button", name="Verify").click()
    expect_my_account(page)

    [cookie] = [c for c in page.context.cookies() if c["name"] == "twofold-trusted"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
    texts_before = OutboxMessage.objects.filter(kind=OutboxKind.TEXT).count()
    enter_password(page, live_server.url)
    expect_my_account(page)
    screenshot(page, "2-straight-in")
    assert OutboxMessage.objects.filter(kind=OutboxKind.TEXT).count() == texts_before


# --- Lockout -------------------------------------------------------------------------------


def test_too_many_wrong_codes_lock_verification_and_then_the_right_code_is_refused(
    live_server, page: Page, alice, screenshot
):
    Organisation.objects.filter(pk=alice.organisation_id).update(lockout_threshold=3)
    enter_password(page, live_server.url)
    right = texted_code(open_phone(page, live_server.url))
    wrong = "000000" if right != "000000" else "111111"

    for _attempt in range(2):
        page.get_by_label("Verification code").fill(wrong)
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_text("That code didn't work.")).to_be_visible()
    page.get_by_label("Verification code").fill(wrong)
    with page.expect_response(re.compile(r"/signin/verify$")) as locking:
        page.get_by_role("button", name="Verify").click()

    assert locking.value.status == 429
    # Said on the verify page itself, once, with until when; no way that would be refused.
    expect(page.get_by_test_id("refusal")).to_have_text(
        re.compile(r"^Verification is locked after too many failed attempts")
    )
    expect(page.get_by_text(re.compile("Verification is locked"))).to_have_count(1)
    correlation_id = locking.value.headers["x-correlation-id"]
    expect(page.get_by_test_id("correlation-id")).to_have_text(correlation_id)
    expect(page.get_by_test_id("utc-time")).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
    )
    expect(page.get_by_label("Verification code")).to_have_count(0)
    screenshot(page, "1-locked")

    # The right code, posted as the page would have, is refused all the same.
    token = page.context.cookies()
    csrf = next(c["value"] for c in token if c["name"] == "csrftoken")
    refused = page.request.post(
        f"{live_server.url}/signin/verify",
        form={"code": right, "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{live_server.url}/signin/verify"},
    )
    assert refused.status == 429
    page.goto(f"{live_server.url}/signin/verify")
    expect(page.get_by_test_id("refusal")).to_be_visible()
    screenshot(page, "2-right-code-refused")
    page.goto(f"{live_server.url}/account")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


# --- First-time registration ---------------------------------------------------------------


def test_a_newcomer_registers_an_authentication_phone_and_is_signed_in(
    live_server, page: Page, newcomer, screenshot
):
    enter_password(page, live_server.url, newcomer.username)
    expect(page.get_by_role("heading", name="More information required")).to_be_visible()
    app, phone = page.get_by_test_id("register-app"), page.get_by_test_id("register-phone")
    expect(app).to_contain_text("Authenticator app")
    # The two choices are full-width tiles, one under the other.
    app_box, phone_box = app.bounding_box(), phone.bounding_box()
    assert app_box["y"] + app_box["height"] <= phone_box["y"]
    assert (
        app_box["width"]
        == phone_box["width"]
        == page.locator(".option-list").bounding_box()["width"]
    )
    screenshot(page, "1-more-information-required")

    page.get_by_test_id("register-phone").click()
    expect(page.get_by_role("heading", name="Add your authentication phone")).to_be_visible()
    page.get_by_label("Phone number").fill("425 555 0134")
    page.get_by_label("Text message").check()
    screenshot(page, "2-phone-number")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="Verify your phone")).to_be_visible()
    expect(page.get_by_test_id("challenge-prompt")).to_contain_text("+1 XXX XXX XX34")
    screenshot(page, "3-enter-texted-code")
    page.get_by_label("Verification code").fill(texted_code(open_phone(page, live_server.url)))
    page.get_by_role("button", name="Verify").click()

    pass_the_recovery_codes_offer(page)
    expect_my_account(page, newcomer.username)
    screenshot(page, "4-my-account")


def test_a_newcomer_sets_up_the_authenticator_app_and_is_signed_in(
    live_server, page: Page, newcomer, screenshot
):
    enter_password(page, live_server.url, newcomer.username)
    page.get_by_test_id("register-app").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_test_id("qr-code").locator("svg")).to_be_visible()
    screenshot(page, "1-scan-or-type-the-key")

    key = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Save").click()

    pass_the_recovery_codes_offer(page)
    expect_my_account(page, newcomer.username)
    screenshot(page, "2-my-account")


# --- On a phone ----------------------------------------------------------------------------


def test_a_texted_code_sign_in_fits_a_phone_screen(
    live_server, phone_page: Page, alice, screenshot
):
    enter_password(phone_page, live_server.url)
    expect(phone_page.get_by_role("heading", name=VERIFY)).to_be_visible()
    assert fits_the_width(phone_page)
    screenshot(phone_page, "1-verify")

    phone_page.get_by_text("Use another way to verify").click()
    assert fits_the_width(phone_page)
    screenshot(phone_page, "2-another-way-open")

    outbox = open_phone(phone_page, live_server.url)
    code = texted_code(outbox)
    assert fits_the_width(outbox)
    screenshot(outbox, "3-outbox")

    phone_page.bring_to_front()
    phone_page.get_by_label("Verification code").fill(code)
    phone_page.get_by_role("button", name="Verify").click()
    expect_my_account(phone_page)
    assert fits_the_width(phone_page)
    screenshot(phone_page, "4-my-account")
