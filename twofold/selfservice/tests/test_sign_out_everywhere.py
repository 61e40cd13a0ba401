"""Sign out everywhere (docs/security.md 20): every other session of the user ends at its next
request, on every server; the one that asked stays signed in."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.accounts import services as accounts
from twofold.adminportal.tests.conftest import signed_in_admin
from twofold.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db
URL = "/account/security-verification/sign-out-everywhere"


def signed_in_client(user) -> Client:
    client = Client()
    client.post("/signin", {"username": user.username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    assert client.get("/account").status_code == 200
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/account").status_code == 200


def test_the_page_asks_before_signing_out_everywhere(user) -> None:
    here = signed_in_client(user)
    elsewhere = signed_in_client(user)
    assert "confirm-sign-out" in here.get(URL).content.decode()
    assert is_signed_in(elsewhere)


def test_every_other_session_ends_and_this_one_stays(user) -> None:
    here = signed_in_client(user)
    elsewhere = signed_in_client(user)
    response = here.post(URL)
    assert response.status_code == 302
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)


def test_it_is_audited_with_the_user_as_actor(user) -> None:
    signed_in_client(user).post(URL)
    event = AuditEvent.objects.get(action=AuditAction.SESSIONS_ENDED)
    assert (event.actor_id, event.subject_id) == (user.pk, user.pk)


def test_it_needs_a_signed_in_user_and_a_post_to_change_anything(client, user) -> None:
    assert client.post(URL).status_code == 302  # to the sign-in page
    assert not AuditEvent.objects.filter(action=AuditAction.SESSIONS_ENDED).exists()
    here = signed_in_client(user)
    assert here.put(URL).status_code == 405


def test_sessions_from_before_any_sign_out_stay_valid(user) -> None:
    """Epoch 0 keeps Django's own session hash: upgrading signs nobody out."""
    from django.contrib.auth.base_user import AbstractBaseUser

    djangos_own = AbstractBaseUser._get_session_auth_hash
    assert user.get_session_auth_hash() == djangos_own(user)
    accounts.sign_out_everywhere(user)
    user.refresh_from_db()
    assert user.get_session_auth_hash() != djangos_own(user)


def test_an_administrator_signs_a_user_out_everywhere(make_user, user) -> None:
    admin = make_user("admin@contoso.example", is_admin=True)
    elsewhere = signed_in_client(user)
    client = signed_in_admin(admin.username)
    response = client.post(f"/admin-portal/users/{user.pk}/sign-out", {"confirmed": "on"})
    assert response.status_code == 302
    assert not is_signed_in(elsewhere)
    event = AuditEvent.objects.get(action=AuditAction.SESSIONS_ENDED)
    assert (event.actor_id, event.subject_id) == (admin.pk, user.pk)
