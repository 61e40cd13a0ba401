"""The admin portal's API clients: make one (token shown once), list, revoke, scoping."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings
from django.test import Client

from conftest import AUTH_NUMBER
from twofold.api import clients
from twofold.api.models import ApiClient
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.core import crypto
from twofold.methods.phone import services as phone_services
from twofold.methods.stepup import VERIFIED_AT

from .conftest import password_only, signed_in_admin

pytestmark = pytest.mark.django_db

LIST = "/admin-portal/api-clients/"
NEW = "/admin-portal/api-clients/new"
CHECK = "/api/v1/validate/check"


def make(client: Client, **fields):
    data = {"name": "VPN gateway", "scopes": ["validate"]} | fields
    return client.post(NEW, data)


def shown_token(response) -> str:
    found = re.search(r'data-testid="api-token">([^<]+)<', response.content.decode())
    assert found, "no token on the page"
    return found.group(1).strip()


def call_api(token: str) -> int:
    """A validate call with ``token``, as an application makes it; its HTTP status."""
    response = Client().post(
        CHECK,
        {"user": "nobody@contoso.example", "password": "not it at all"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    return response.status_code


@pytest.fixture
def fabrikam_client(other_organisation, make_user) -> ApiClient:
    boss = make_user("owner@fabrikam.example", organisation=other_organisation, is_admin=True)
    client, _token = clients.create(other_organisation, "Fabrikam VPN", ["validate"], actor=boss)
    return client


class TestMaking:
    def test_the_token_is_shown_once_and_only_its_digest_is_stored(
        self, admin_client, organisation
    ) -> None:
        token = shown_token(make(admin_client))
        client = ApiClient.objects.get()
        assert client.organisation == organisation
        prefix, secret = token.split("_", 2)[1:]  # the secret may hold "_" too
        assert client.prefix == prefix
        assert client.secret_digest == crypto.digest(secret)
        assert secret not in client.secret_digest
        assert token not in admin_client.get(LIST).content.decode()

    def test_the_shown_token_works_on_the_api_with_the_scopes_chosen(self, admin_client) -> None:
        token = shown_token(make(admin_client, scopes=["validate", "users:read"]))
        assert ApiClient.objects.get().scopes == ["validate", "users:read"]
        assert call_api(token) == 200

    def test_a_scope_not_chosen_is_refused_by_the_api(self, admin_client) -> None:
        token = shown_token(make(admin_client, scopes=["users:read"]))
        assert call_api(token) == 403

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"name": ""}, "This field is required."),
            ({"name": "   "}, "This field is required."),
            ({"name": "x" * 81}, "Ensure this value has at most 80 characters"),
            ({"scopes": []}, "This field is required."),
            ({"scopes": ["root"]}, "Select a valid choice."),
        ],
    )
    def test_bad_input_is_refused_next_to_its_field_and_nothing_is_made(
        self, admin_client, fields, message
    ) -> None:
        response = make(admin_client, **fields)
        page = response.content.decode()
        assert response.status_code == 200
        assert message in page
        assert 'role="alert"' in page
        assert 'data-testid="api-token"' not in page
        assert not ApiClient.objects.exists()

    def test_a_second_active_client_with_the_same_name_is_refused(self, admin_client) -> None:
        make(admin_client)
        page = make(admin_client, name="vpn  GATEWAY").content.decode()
        assert "Another active client has this name." in page
        assert ApiClient.objects.count() == 1

    def test_making_is_audited_with_the_administrator_and_without_the_token(
        self, admin_client, admin
    ) -> None:
        token = shown_token(make(admin_client))
        event = AuditEvent.objects.get(actor=admin, action=AuditAction.API_CLIENT_CREATED)
        assert event.result == AuditResult.SUCCESS
        assert "VPN gateway" in event.details["reason"]
        assert token.split("_", 2)[2] not in str(event.details)

    def test_making_needs_a_second_factor_in_the_last_few_minutes(self, admin) -> None:
        client = signed_in_admin(admin.username, recent=False)
        phone_services.set_number(admin, "authentication", AUTH_NUMBER)
        response = make(client)
        assert response["Location"].startswith("/account/verify")
        assert not ApiClient.objects.exists()


class TestListing:
    def test_the_list_shows_when_a_client_was_last_used(self, admin_client) -> None:
        token = shown_token(make(admin_client))
        before = admin_client.get(LIST).content.decode()
        assert re.search(r"<td>—</td>", before)
        call_api(token)
        used = ApiClient.objects.get().last_used_at
        assert used is not None
        page = admin_client.get(LIST).content.decode()
        assert f"<td>{used:%Y-%m-%d %H:%M} UTC</td>" in page  # the viewer's zone: none set

    def test_the_list_shows_only_the_organisations_clients(
        self, admin_client, fabrikam_client
    ) -> None:
        make(admin_client)
        page = admin_client.get(LIST).content.decode()
        assert "VPN gateway" in page
        assert "Fabrikam VPN" not in page


class TestRevoking:
    @pytest.fixture
    def made(self, admin_client) -> tuple[ApiClient, str]:
        token = shown_token(make(admin_client))
        return ApiClient.objects.get(), token

    def test_revoking_asks_first_and_changes_nothing_until_confirmed(
        self, admin_client, made
    ) -> None:
        client, token = made
        page = admin_client.get(f"{LIST}{client.pk}/revoke").content.decode()
        assert "Revoke VPN gateway?" in page
        assert 'data-testid="api-client-revoke-submit"' in page
        client.refresh_from_db()
        assert client.is_active
        assert call_api(token) == 200

    def test_a_revoked_token_is_refused_by_the_api_at_once(self, admin_client, made) -> None:
        client, token = made
        assert call_api(token) == 200
        response = admin_client.post(f"{LIST}{client.pk}/revoke")
        assert response["Location"] == LIST
        assert call_api(token) == 401
        page = admin_client.get(LIST).content.decode()
        assert "Revoked" in page
        assert 'data-testid="revoke-link"' not in page

    def test_revoking_is_audited_with_the_administrator(self, admin_client, admin, made) -> None:
        client, _token = made
        admin_client.post(f"{LIST}{client.pk}/revoke")
        revoked = AuditEvent.objects.filter(actor=admin, action=AuditAction.API_CLIENT_REVOKED)
        assert revoked.exists()

    def test_the_refused_call_is_audited_with_the_client_as_actor(self, admin_client, made) -> None:
        client, token = made
        admin_client.post(f"{LIST}{client.pk}/revoke")
        call_api(token)
        event = AuditEvent.objects.filter(actor_label="api:VPN gateway").first()
        assert event.result == AuditResult.DENIED
        assert event.details["reason"] == "revoked client"

    def test_a_name_is_free_again_once_its_client_is_revoked(self, admin_client, made) -> None:
        client, _token = made
        admin_client.post(f"{LIST}{client.pk}/revoke")
        shown_token(make(admin_client))
        assert ApiClient.objects.filter(revoked_at__isnull=True).count() == 1


class TestOtherOrganisationsAndUsers:
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_another_organisations_client_is_not_found_and_stays_active(
        self, admin_client, fabrikam_client, method
    ) -> None:
        response = getattr(admin_client, method)(f"{LIST}{fabrikam_client.pk}/revoke")
        assert response.status_code == 404
        fabrikam_client.refresh_from_db()
        assert fabrikam_client.is_active

    def test_the_attempt_is_audited(self, admin_client, admin, fabrikam_client) -> None:
        admin_client.post(f"{LIST}{fabrikam_client.pk}/revoke")
        event = AuditEvent.objects.get(actor=admin, action=AuditAction.ADMIN_ACCESS_DENIED)
        assert event.details["reason"] == "API client of another organisation"

    def test_a_client_that_does_not_exist_is_not_found(self, admin_client) -> None:
        assert admin_client.get(f"{LIST}999999/revoke").status_code == 404

    def test_a_user_who_is_not_an_administrator_is_refused(self, make_user) -> None:
        make_user("user@contoso.example")
        client = password_only("user@contoso.example")
        assert client.get(LIST).status_code == 403
        assert make(client).status_code == 403
        assert not ApiClient.objects.exists()

    def test_someone_not_signed_in_is_sent_to_sign_in(self, client) -> None:
        response = client.get(LIST)
        assert response.status_code == 302
        assert response["Location"].startswith("/signin")


class TestReportingTheEndUsersAddress:
    """docs/security.md 32: the end user's address a client reports is believed only from
    clients an administrator marked as trusted to report it."""

    def reporting(self, client: Client, api_client: ApiClient, *, allowed: bool):
        data = {"reports_person_address": "on"} if allowed else {}
        return client.post(f"{LIST}{api_client.pk}/reporting", data)

    def test_a_new_client_is_not_trusted_to_report_unless_ticked(self, admin_client) -> None:
        make(admin_client)
        assert ApiClient.objects.get().reports_person_address is False

    def test_ticking_the_box_makes_a_client_trusted_to_report(self, admin_client) -> None:
        make(admin_client, reports_person_address="on")
        assert ApiClient.objects.get().reports_person_address is True

    def test_the_form_says_a_clients_own_address_never_counts_as_trusted(
        self, admin_client
    ) -> None:
        page = admin_client.get(LIST).content.decode()
        assert "This client may report the end user&#x27;s address." in page
        assert "The client&#x27;s own address never counts as trusted." in page

    def test_an_existing_client_can_be_trusted_and_then_no_longer(self, admin_client) -> None:
        make(admin_client)
        api_client = ApiClient.objects.get()
        assert self.reporting(admin_client, api_client, allowed=True)["Location"] == LIST
        api_client.refresh_from_db()
        assert api_client.reports_person_address is True
        self.reporting(admin_client, api_client, allowed=False)
        api_client.refresh_from_db()
        assert api_client.reports_person_address is False

    def test_each_change_is_audited_with_the_administrator(self, admin_client, admin) -> None:
        make(admin_client)
        api_client = ApiClient.objects.get()
        self.reporting(admin_client, api_client, allowed=True)
        event = AuditEvent.objects.get(actor=admin, action=AuditAction.API_CLIENT_CHANGED)
        assert event.details["changes"]["reports_person_address"] == {
            "before": False,
            "after": True,
        }

    def test_asking_for_what_is_already_so_changes_and_audits_nothing(self, admin_client) -> None:
        make(admin_client)
        self.reporting(admin_client, ApiClient.objects.get(), allowed=False)
        assert not AuditEvent.objects.filter(action=AuditAction.API_CLIENT_CHANGED).exists()

    def test_another_organisations_client_is_not_found_and_unchanged(
        self, admin_client, fabrikam_client
    ) -> None:
        response = self.reporting(admin_client, fabrikam_client, allowed=True)
        assert response.status_code == 404
        fabrikam_client.refresh_from_db()
        assert fabrikam_client.reports_person_address is False

    def test_a_revoked_client_cannot_be_trusted(self, admin_client) -> None:
        make(admin_client)
        api_client = ApiClient.objects.get()
        admin_client.post(f"{LIST}{api_client.pk}/revoke")
        self.reporting(admin_client, api_client, allowed=True)
        api_client.refresh_from_db()
        assert api_client.reports_person_address is False

    def test_changing_it_needs_a_second_factor_in_the_last_few_minutes(self, admin) -> None:
        owner = signed_in_admin(admin.username)
        make(owner)
        api_client = ApiClient.objects.get()
        session = owner.session  # the same sign-in, its second factor now too old
        session[VERIFIED_AT] = int(time.time()) - settings.TWOFOLD["step_up_seconds"] - 1
        session.save()
        response = self.reporting(owner, api_client, allowed=True)
        assert response["Location"].startswith("/account/verify")
        api_client.refresh_from_db()
        assert api_client.reports_person_address is False
