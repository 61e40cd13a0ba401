"""The setup and delete pages, and the panel on the settings page."""

import base64
import re

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string

from twofold.core import crypto
from twofold.methods import base, stepup
from twofold.methods.authenticator import services
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.phone import kinds

pytestmark = pytest.mark.django_db

SETUP = "/account/security-verification/authenticator/setup"
RESTART = "/account/security-verification/authenticator/setup/restart"
SETTINGS_PAGE = "/account/security-verification"


def delete_url(device_id: int) -> str:
    return f"/account/security-verification/authenticator/{device_id}/delete"


def shown_secret(response) -> bytes:
    """The key the page shows for typing by hand, read back into bytes."""
    match = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', response.content.decode())
    text = match.group(1).replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))


# --- Setting up ----------------------------------------------------------------------------


def test_the_setup_page_shows_a_qr_code_and_the_key_in_groups_of_four(verified) -> None:
    response = verified.get(SETUP)
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'data-testid="qr-code"[^>]*><svg', page)
    assert re.search(r'data-testid="totp-secret">([A-Z2-7]{4} ){7}[A-Z2-7]{4}<', page)


def test_the_setup_page_has_no_inline_style_or_script(verified) -> None:
    page = verified.get(SETUP).content.decode()
    assert " style=" not in page
    assert "<style" not in page
    assert "<script>" not in page


def test_the_seed_never_reaches_the_form_or_the_session_in_clear(verified) -> None:
    response = verified.get(SETUP)
    secret = services.base32(shown_secret(response))
    assert f'value="{secret}' not in response.content.decode()
    assert secret not in str(dict(verified.session.items()))


def test_the_key_stays_the_same_across_reloads(verified) -> None:
    assert shown_secret(verified.get(SETUP)) == shown_secret(verified.get(SETUP))


def test_a_wrong_code_keeps_the_name_shows_an_error_and_keeps_the_key(verified, clock) -> None:
    secret = shown_secret(verified.get(SETUP))
    right = clock.code(secret)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = verified.post(SETUP, {"name": "My phone", "code": wrong})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="My phone"' in page
    assert re.search(r'id="id_code".*?class="field-error"', page, re.DOTALL)
    assert shown_secret(response) == secret
    assert not AuthenticatorDevice.objects.exists()


def test_the_right_code_saves_the_app_and_returns_to_the_settings_page(
    verified, user, clock
) -> None:
    secret = shown_secret(verified.get(SETUP))
    response = verified.post(SETUP, {"name": "My phone", "code": clock.code(secret)})
    assert response.status_code == 302
    assert response["Location"] == SETTINGS_PAGE
    device = user.authenticator_devices.get()
    assert device.name == "My phone"
    assert crypto.decrypt(device.secret) == secret
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Your authenticator app is set up."
    ]


def test_a_new_enrolment_after_a_success_gets_a_new_key(verified, clock) -> None:
    secret = shown_secret(verified.get(SETUP))
    verified.post(SETUP, {"name": "My phone", "code": clock.code(secret)})
    assert shown_secret(verified.get(SETUP)) != secret


def test_starting_over_gives_a_new_key(verified) -> None:
    secret = shown_secret(verified.get(SETUP))
    response = verified.post(RESTART)
    assert response["Location"] == f"{SETUP}?next=%2Faccount%2Fsecurity-verification"
    assert shown_secret(verified.get(SETUP)) != secret


def test_a_user_without_a_method_may_set_up_the_first_app_without_step_up(signed_in) -> None:
    assert signed_in.get(SETUP).status_code == 200


def test_setting_up_the_first_app_counts_as_a_recent_second_factor(signed_in, clock) -> None:
    secret = shown_secret(signed_in.get(SETUP))
    signed_in.post(SETUP, {"name": "My phone", "code": clock.code(secret)})
    assert stepup.VERIFIED_AT in signed_in.session


def test_setup_needs_a_recent_second_factor_once_the_user_has_a_method(signed_in, enrolled) -> None:
    response = signed_in.get(SETUP)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/verify")


def test_an_old_second_factor_does_not_let_a_setup_through(signed_in, enrolled, clock) -> None:
    session = signed_in.session
    session[stepup.VERIFIED_AT] = int(clock.now) - 3600
    session.save()
    response = signed_in.post(SETUP, {"name": "Second", "code": "123456"})
    assert response["Location"].startswith("/account/verify")
    assert enrolled.user.authenticator_devices.count() == 1


def test_the_setup_page_needs_a_signed_in_user(client) -> None:
    response = client.get(SETUP)
    assert response.status_code == 302
    assert response["Location"].startswith("/signin")


# --- Deleting ------------------------------------------------------------------------------


def test_deleting_asks_first_then_deletes(verified, enrolled) -> None:
    url = delete_url(enrolled.device.pk)
    confirm = verified.get(url)
    assert confirm.status_code == 200
    assert "Work phone" in confirm.content.decode()
    assert AuthenticatorDevice.objects.filter(pk=enrolled.device.pk).exists()
    response = verified.post(url)
    assert response["Location"] == SETTINGS_PAGE
    assert not AuthenticatorDevice.objects.filter(pk=enrolled.device.pk).exists()
    assert base.find_option(enrolled.user, "app_code") is None


@pytest.mark.parametrize("verb", ["get", "post"])
def test_another_users_app_answers_not_found(verified, make_user, enrol, verb) -> None:
    bobs = enrol(make_user("bob@contoso.example"))
    response = getattr(verified, verb)(delete_url(bobs.device.pk))
    assert response.status_code == 404
    assert AuthenticatorDevice.objects.filter(pk=bobs.device.pk).exists()


def test_deleting_needs_a_recent_second_factor(signed_in, enrolled) -> None:
    response = signed_in.post(delete_url(enrolled.device.pk))
    assert response["Location"].startswith("/account/verify")
    assert AuthenticatorDevice.objects.filter(pk=enrolled.device.pk).exists()


# --- The panel -----------------------------------------------------------------------------


def panel_for(user) -> str:
    method = base.get("authenticator")
    return render_to_string(
        method.settings_template, {"panel": method.settings_context(user), "user": user}
    )


def test_the_panel_lists_each_app_with_a_delete_link(user, enrol) -> None:
    first = enrol(user, "Work phone")
    enrol(user, "Hardware token")
    html = panel_for(user)
    assert html.count('data-testid="authenticator-device"') == 2
    assert "Work phone" in html
    assert "Hardware token" in html
    assert delete_url(first.device.pk) in html


def test_the_panel_offers_setup_when_the_user_has_no_app(user) -> None:
    html = panel_for(user)
    assert 'data-testid="authenticator-device"' not in html
    assert SETUP in html


def test_the_panel_offers_no_setup_where_the_organisation_allows_no_app(user) -> None:
    user.organisation.allowed_methods = [kinds.TEXT, kinds.CALL]
    user.organisation.save()
    html = panel_for(user)
    assert SETUP not in html
    assert "does not allow authenticator apps" in html


def test_the_setup_page_sends_back_where_the_organisation_allows_no_app(user, verified) -> None:
    user.organisation.allowed_methods = [kinds.TEXT, kinds.CALL]
    user.organisation.save()
    assert verified.get(SETUP)["Location"] == SETTINGS_PAGE


def test_the_panel_offers_no_setup_once_the_user_has_five_apps(user, enrol) -> None:
    for number in range(services.MAX_DEVICES):
        enrol(user, f"Phone {number}")
    assert SETUP not in panel_for(user)
