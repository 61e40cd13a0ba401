"""Administrators and passkeys: removing a user's passkey, and the organisation's rules on
the policy page; only for their own organisation."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore

from twofold.audit.models import AuditEvent
from twofold.methods.passkeys import services
from twofold.methods.passkeys.models import Passkey, PasskeyPolicy
from twofold.methods.passkeys.tests.softkey import AttestationCA, SoftKey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.TWOFOLD_BASE_URL = "http://localhost:8000"


@pytest.fixture
def admin_client(make_user):
    from twofold.adminportal.tests.conftest import signed_in_admin

    make_user("admin@contoso.example", is_admin=True)
    return signed_in_admin("admin@contoso.example")


@pytest.fixture
def passkey(user) -> Passkey:
    session = SessionStore()
    options = services.begin_registration(session, user)
    return services.finish_registration(session, user, SoftKey().create(options), "Laptop")


def test_an_administrator_removes_a_users_passkey(admin_client, user, passkey) -> None:
    response = admin_client.post(f"/passkeys/admin/users/{user.pk}/{passkey.pk}/remove")
    assert response.status_code == 302
    assert response["Location"] == f"/admin-portal/users/{user.pk}"
    assert not Passkey.objects.exists()
    event = AuditEvent.objects.get(action=services.DELETED)
    assert event.actor.username == "admin@contoso.example"


def test_a_user_of_another_organisation_is_not_found(
    admin_client, other_organisation, make_user
) -> None:
    stranger = make_user("eve@fabrikam.example", organisation=other_organisation)
    session = SessionStore()
    options = services.begin_registration(session, stranger)
    theirs = services.finish_registration(session, stranger, SoftKey().create(options), "Key")
    response = admin_client.post(f"/passkeys/admin/users/{stranger.pk}/{theirs.pk}/remove")
    assert response.status_code == 404
    assert Passkey.objects.filter(pk=theirs.pk).exists()


def test_a_user_who_is_not_an_administrator_is_refused(client, user, passkey) -> None:
    client.force_login(user)
    response = client.post(f"/passkeys/admin/users/{user.pk}/{passkey.pk}/remove")
    assert response.status_code == 403
    assert Passkey.objects.exists()


def test_the_policy_page_shows_and_saves_the_passkey_rules(admin_client, organisation) -> None:
    page = admin_client.get("/admin-portal/policy")
    assert b'data-testid="passkey-policy-form"' in page.content
    maker = AttestationCA()
    response = admin_client.post(
        "/passkeys/admin/policy",
        {
            "user_verification": "required",
            "attestation": "direct",
            "allowed_aaguids": "CB69481E-8FF7-4039-93EC-0A2729A154A8\n",
            "attestation_roots": maker.root_pem,
        },
    )
    assert response.status_code == 302
    policy = PasskeyPolicy.objects.get(organisation=organisation)
    assert policy.allowed_aaguids == ["cb69481e-8ff7-4039-93ec-0a2729a154a8"]
    assert policy.attestation == "direct"
    assert policy.attestation_roots == maker.root_pem


@pytest.mark.parametrize("aaguids", ["", "not-an-aaguid", "cb69481e8ff7403993ec0a2729a154a8"])
def test_direct_attestation_needs_well_formed_aaguids(admin_client, organisation, aaguids) -> None:
    response = admin_client.post(
        "/passkeys/admin/policy",
        {"user_verification": "required", "attestation": "direct", "allowed_aaguids": aaguids},
        follow=True,
    )
    assert response.status_code == 200
    assert not PasskeyPolicy.objects.filter(organisation=organisation).exists()


def test_the_admins_user_page_summary_lists_each_passkey_removable(user, passkey) -> None:
    from twofold.methods import base

    items = base.get("passkey").admin_summary(user)
    assert [item.label for item in items] == ["Passkey: Laptop"]
    assert "not used yet" in items[0].detail
    assert items[0].remove_url == f"/passkeys/admin/users/{user.pk}/{passkey.pk}/remove"


def test_the_users_list_filters_those_with_a_passkey(admin_client, user, passkey, make_user):
    make_user("bob@contoso.example")  # no passkey
    page = admin_client.get("/admin-portal/users", {"methods": "has:passkey"}).content.decode()
    assert user.username in page
    assert "bob@contoso.example" not in page
    everyone = admin_client.get("/admin-portal/users").content.decode()
    assert "bob@contoso.example" in everyone
    assert 'value="has:passkey"' in everyone  # offered in the filter's choices
