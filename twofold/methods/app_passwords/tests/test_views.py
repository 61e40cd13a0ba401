"""Creating, showing once and deleting app passwords in the browser; never a sign-in."""

import re

import pytest
from django.template.loader import render_to_string

from conftest import STRONG_PASSWORD
from twofold.core import crypto
from twofold.methods import base, totp
from twofold.methods.app_passwords import services
from twofold.methods.app_passwords.models import AppPassword
from twofold.methods.authenticator import services as authenticator

pytestmark = pytest.mark.django_db

CREATE = "/account/security-verification/app-passwords/new"
CREATED = "/account/security-verification/app-passwords/created"
SETTINGS_PAGE = "/account/security-verification"


def delete_url(app_password_id: int) -> str:
    return f"/account/security-verification/app-passwords/{app_password_id}/delete"


def shown_password(response) -> str:
    match = re.search(r'data-testid="app-password-value">([a-z ]+)<', response.content.decode())
    return match.group(1)


@pytest.fixture
def with_a_method(user):
    """The user already has a second factor, so changes need a recent verification."""
    secret = authenticator.new_secret()
    code = crypto.totp(secret, totp.clock())
    authenticator.add_device(user, "Work phone", secret, code)
    return user


# --- Creating and showing once -----------------------------------------------------------


def test_creating_shows_the_password_once_in_groups_of_four(allowed, user, verified) -> None:
    response = verified.post(CREATE, {"name": "Mail"})
    assert response["Location"] == CREATED
    page = verified.get(CREATED)
    password = shown_password(page)
    assert re.fullmatch(r"([a-z]{4} ){3}[a-z]{4}", password)
    assert services.check(user, password)
    again = verified.get(CREATED)
    assert again["Location"] == SETTINGS_PAGE
    assert 'data-testid="app-password-value"' not in again.content.decode()


def test_the_password_waits_in_the_session_only_encrypted_and_leaves_it_when_shown(
    allowed, verified
) -> None:
    before = set(verified.session.keys())
    verified.post(CREATE, {"name": "Mail"})
    waiting = dict(verified.session.items())
    password = shown_password(verified.get(CREATED)).replace(" ", "")
    assert password not in str(waiting)
    assert set(waiting) - before  # it did wait there, encrypted
    assert set(verified.session.keys()) == before


def test_a_nameless_app_password_gets_a_form_error(allowed, verified) -> None:
    response = verified.post(CREATE, {"name": "  "})
    assert response.status_code == 200
    assert 'class="field-error"' in response.content.decode()
    assert not AppPassword.objects.exists()


def test_creating_needs_a_recent_second_factor(allowed, with_a_method, signed_in) -> None:
    for response in (signed_in.get(CREATE), signed_in.post(CREATE, {"name": "Mail"})):
        assert response.status_code == 302
        assert response["Location"].startswith("/account/verify")
    assert not AppPassword.objects.exists()


def test_a_recent_second_factor_lets_a_user_with_a_method_create_one(
    allowed, with_a_method, verified
) -> None:
    assert verified.post(CREATE, {"name": "Mail"})["Location"] == CREATED


@pytest.mark.parametrize(("verb", "url"), [("get", CREATE), ("post", CREATE), ("get", CREATED)])
def test_the_pages_refuse_where_the_organisation_does_not_allow_them(verified, verb, url) -> None:
    response = getattr(verified, verb)(url, {"name": "Mail"} if verb == "post" else None)
    assert response.status_code == 403
    assert not AppPassword.objects.exists()


# --- Deleting ------------------------------------------------------------------------------


def test_deleting_asks_first_then_revokes(allowed, user, verified) -> None:
    app_password, password = services.create(user, "Mail")
    confirm = verified.get(delete_url(app_password.pk))
    assert confirm.status_code == 200
    assert "Mail" in confirm.content.decode()
    assert services.check(user, password)
    response = verified.post(delete_url(app_password.pk))
    assert response["Location"] == SETTINGS_PAGE
    assert not services.check(user, password)


@pytest.mark.parametrize("verb", ["get", "post"])
def test_another_users_app_password_answers_not_found(allowed, make_user, verified, verb):
    bobs, _password = services.create(make_user("bob@contoso.example"), "Mail")
    response = getattr(verified, verb)(delete_url(bobs.pk))
    assert response.status_code == 404
    assert AppPassword.objects.filter(pk=bobs.pk).exists()


def test_deleting_needs_a_recent_second_factor(allowed, with_a_method, signed_in) -> None:
    app_password, _password = services.create(with_a_method, "Mail")
    response = signed_in.post(delete_url(app_password.pk))
    assert response["Location"].startswith("/account/verify")
    assert AppPassword.objects.filter(pk=app_password.pk).exists()


# --- Never at the browser sign-in ------------------------------------------------------------


def test_an_app_password_never_signs_in_on_the_browser_sign_in_page(allowed, user, client):
    _app_password, password = services.create(user, "Mail")
    client.post("/signin", {"username": user.username})
    response = client.post("/signin/password", {"password": password})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_the_users_own_password_still_signs_in_alongside_app_passwords(allowed, user, client):
    # The refusal above is about app passwords, not a broken sign-in.
    services.create(user, "Mail")
    client.post("/signin", {"username": user.username})
    response = client.post("/signin/password", {"password": STRONG_PASSWORD})
    assert response.status_code == 302


# --- The panel -----------------------------------------------------------------------------


def panel_for(user) -> str:
    method = base.get("app_passwords")
    return render_to_string(
        method.settings_template, {"panel": method.settings_context(user), "user": user}
    )


def test_the_panel_lists_app_passwords_by_name_without_the_password(allowed, user) -> None:
    first, first_password = services.create(user, "Mail")
    services.create(user, "Calendar")
    html = panel_for(user)
    assert html.count('data-testid="app-password"') == 2
    assert "Mail" in html
    assert "Calendar" in html
    assert delete_url(first.pk) in html
    assert first_password not in html
    assert CREATE in html


def test_the_panel_is_empty_where_the_organisation_does_not_allow_them(user) -> None:
    assert panel_for(user).strip() == ""
