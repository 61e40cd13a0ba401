"""A directory user's password is the directory's (docs/directory.md, "Passwords"): every
page where a password could be set or reset says so for them, and sets nothing; a local
user's pages are as before. Against the real slapd of conftest.py."""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from conftest import STRONG_PASSWORD
from twofold.accounts import services as accounts
from twofold.accounts.models import User
from twofold.administration import importing
from twofold.adminportal.tests.conftest import signed_in_admin
from twofold.audit.models import AuditAction, AuditEvent
from twofold.directory.sync import synchronise
from twofold.directory.tests.test_directory import PASSWORD, configure

pytestmark = [pytest.mark.xdist_group("slapd"), pytest.mark.django_db]

KEPT = "password-kept-elsewhere"
NEW_PASSWORD = "a brand new phrase of words"


@pytest.fixture
def adele(organisation, tree) -> User:
    synchronise(configure(organisation, tree))
    return User.objects.get(username="adele@contoso.example")


@pytest.fixture
def admin_client(make_user, adele) -> Client:
    make_user("admin@contoso.example", is_admin=True, display_name="Admin")
    return signed_in_admin("admin@contoso.example")


def _link_path(user: User) -> str:
    """A set-password link as one made before the rule (or by hand) would be."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/set-password/{uid}/{default_token_generator.make_token(user)}"


def test_the_services_refuse_to_set_a_directory_users_password(adele) -> None:
    with pytest.raises(accounts.PasswordKeptElsewhere):
        accounts.password_link(adele)
    with pytest.raises(accounts.PasswordKeptElsewhere):
        accounts.set_password(adele, NEW_PASSWORD)
    adele.refresh_from_db()
    assert not adele.has_usable_password()
    assert not AuditEvent.objects.filter(
        action__in=[AuditAction.PASSWORD_SET, AuditAction.PASSWORD_LINK_ISSUED]
    ).exists()


def test_the_admin_user_page_says_the_directory_keeps_the_password(admin_client, adele) -> None:
    page = admin_client.get(f"/admin-portal/users/{adele.pk}").content.decode()
    assert KEPT in page
    assert "change or reset it there" in page
    assert "action-password-link" not in page


def test_a_local_users_page_still_offers_a_set_password_link(admin_client, make_user) -> None:
    local = make_user("local@contoso.example")
    page = admin_client.get(f"/admin-portal/users/{local.pk}").content.decode()
    assert "action-password-link" in page
    assert KEPT not in page


def test_asking_for_a_directory_users_link_is_refused_with_the_reason(admin_client, adele) -> None:
    answer = admin_client.post(
        f"/admin-portal/users/{adele.pk}/password-link", {"confirmed": "on"}, follow=True
    )
    page = answer.content.decode()
    assert answer.status_code == 200
    assert "kept in your organisation&#x27;s directory" in page
    assert "/set-password/" not in page
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_LINK_ISSUED).exists()


def test_a_set_password_link_of_a_directory_user_says_so_and_sets_nothing(adele) -> None:
    client = Client()
    page = client.get(_link_path(adele), follow=True)
    assert KEPT in page.content.decode()
    assert "new_password1" not in page.content.decode()
    answer = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert KEPT in answer.content.decode()
    adele.refresh_from_db()
    assert not adele.has_usable_password()
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_SET).exists()


def test_the_settings_page_tells_a_directory_user_where_to_change_it(adele) -> None:
    # Two-step verification off for her: her password alone opens the settings page.
    accounts.set_mfa_state(User.objects.filter(pk=adele.pk), "disabled", actor_label="test")
    client = Client()
    client.post("/signin", {"username": adele.username})
    client.post("/signin/password", {"password": PASSWORD})
    page = client.get("/account/security-verification").content.decode()
    assert KEPT in page


def test_the_settings_page_of_a_local_user_says_nothing_of_it(make_user, adele) -> None:
    local = make_user("local@contoso.example")
    client = Client()
    client.post("/signin", {"username": local.username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    page = client.get("/account/security-verification")
    assert page.status_code == 200
    assert KEPT not in page.content.decode()


def test_an_import_naming_a_directory_user_gives_no_link_and_says_why(organisation, adele) -> None:
    header = ",".join(importing.COLUMNS)
    report = importing.import_users(organisation, f"{header}\nadele@contoso.example,,,,,\n")
    assert not report.created
    assert not report.relinked
    [refused] = report.refused
    assert "kept in your organisation's directory" in refused.problems[0].message
