"""The admin portal's applications (OpenID Connect sign-in): register, secrets, scoping."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.hashers import check_password
from oauth2_provider.models import AccessToken

from conftest import AUTH_NUMBER
from twofold.audit.models import AuditAction, AuditEvent
from twofold.methods.phone import services as phone_services
from twofold.oidc import services
from twofold.oidc.models import Application

from .conftest import password_only, signed_in_admin

pytestmark = pytest.mark.django_db

NEW = "/admin-portal/applications/new"
CALLBACK = "https://expenses.contoso.example/callback"


def register(client, **fields):
    data = {
        "name": "Contoso Expenses",
        "client_type": "confidential",
        "redirect_uris": CALLBACK,
        "post_logout_redirect_uris": "",
        "scopes": ["profile", "email"],
    } | fields
    return client.post(NEW, data)


def shown_secret(response) -> str:
    found = re.search(r'data-testid="client-secret">([^<]+)<', response.content.decode())
    assert found, "no secret on the page"
    return found.group(1)


@pytest.fixture
def fabrikam_app(other_organisation, make_user) -> Application:
    boss = make_user("owner@fabrikam.example", organisation=other_organisation, is_admin=True)
    application, _secret = services.register_application(
        other_organisation,
        boss,
        name="Fabrikam Payroll",
        client_type=services.CONFIDENTIAL,
        redirect_uris=["https://payroll.fabrikam.example/callback"],
    )
    return application


class TestRegistering:
    def test_a_confidential_application_shows_its_secret_once_and_keeps_a_hash(
        self, admin_client, organisation
    ) -> None:
        response = register(admin_client)
        secret = shown_secret(response)
        application = Application.objects.get()
        assert application.organisation == organisation
        assert application.client_secret != secret
        assert check_password(secret, application.client_secret)
        assert (
            secret
            not in admin_client.get(f"/admin-portal/applications/{application.pk}").content.decode()
        )

    def test_it_is_registered_for_the_code_flow_signed_with_rs256_without_consent(
        self, admin_client
    ) -> None:
        register(admin_client)
        application = Application.objects.get()
        assert application.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
        assert application.algorithm == Application.RS256_ALGORITHM
        assert application.skip_authorization
        assert application.allowed_scopes == ["openid", "profile", "email"]

    def test_a_public_application_has_no_secret(self, admin_client) -> None:
        response = register(admin_client, client_type="public")
        assert 'data-testid="client-secret"' not in response.content.decode()
        assert Application.objects.get().client_secret == ""

    def test_the_scopes_chosen_are_the_only_ones_it_may_ask_for(self, admin_client) -> None:
        register(admin_client, scopes=["email"])
        assert Application.objects.get().allowed_scopes == ["openid", "email"]

    @pytest.mark.parametrize(
        "uri",
        [
            "http://expenses.contoso.example/callback",
            "https://expenses.contoso.example/cb#x",
            "nope",
        ],
    )
    def test_a_redirect_uri_that_is_not_https_is_refused_next_to_its_field(
        self, admin_client, uri
    ) -> None:
        response = register(admin_client, redirect_uris=uri)
        page = response.content.decode()
        assert response.status_code == 200
        assert 'class="field has-error"' in page
        assert not Application.objects.exists()

    def test_http_to_this_machine_is_allowed_for_development(self, admin_client) -> None:
        register(admin_client, redirect_uris="http://127.0.0.1:5000/callback")
        assert Application.objects.get().redirect_uris == "http://127.0.0.1:5000/callback"

    def test_a_public_application_may_not_sign_users_out_to_plain_http(self, admin_client) -> None:
        # The provider's strict logout would refuse it for a public client: say so now.
        response = register(
            admin_client,
            client_type="public",
            redirect_uris="http://127.0.0.1:5000/callback",
            post_logout_redirect_uris="http://127.0.0.1:5000/",
        )
        assert "a public application signs users out to https" in response.content.decode()
        assert not Application.objects.exists()

    def test_a_confidential_application_may_sign_users_out_to_this_machine(
        self, admin_client
    ) -> None:
        register(admin_client, post_logout_redirect_uris="http://127.0.0.1:5000/")
        assert Application.objects.get().post_logout_redirect_uris == "http://127.0.0.1:5000/"

    def test_registering_is_audited_with_the_administrator(self, admin_client, admin) -> None:
        register(admin_client)
        event = AuditEvent.objects.filter(actor=admin, details__kind="application").get()
        assert event.details["changes"] == "registered"

    def test_registering_needs_a_second_factor_in_the_last_few_minutes(self, admin) -> None:
        client = signed_in_admin(admin.username, recent=False)
        phone_services.set_number(admin, "authentication", AUTH_NUMBER)
        response = register(client)
        assert response["Location"].startswith("/account/verify")
        assert not Application.objects.exists()


class TestManaging:
    @pytest.fixture
    def application(self, admin_client) -> Application:
        register(admin_client)
        return Application.objects.get()

    def test_the_list_shows_only_the_organisations_applications(
        self, admin_client, application, fabrikam_app
    ) -> None:
        page = admin_client.get("/admin-portal/applications/").content.decode()
        assert "Contoso Expenses" in page
        assert "Fabrikam Payroll" not in page

    def test_editing_changes_the_addresses_and_keeps_the_client_id(
        self, admin_client, application
    ) -> None:
        url = f"/admin-portal/applications/{application.pk}/edit"
        data = {"name": "Expenses", "redirect_uris": "https://new.contoso.example/cb",
                "post_logout_redirect_uris": "", "scopes": ["profile"]}  # fmt: skip
        admin_client.post(url, data)
        changed = Application.objects.get()
        assert changed.client_id == application.client_id
        assert changed.redirect_uris == "https://new.contoso.example/cb"
        assert changed.allowed_scopes == ["openid", "profile"]

    def test_a_new_secret_is_shown_once_and_the_old_one_stops_working(
        self, admin_client, application
    ) -> None:
        old_hash = application.client_secret
        secret = shown_secret(
            admin_client.post(f"/admin-portal/applications/{application.pk}/secret")
        )
        stored = Application.objects.get().client_secret
        assert stored != old_hash
        assert check_password(secret, stored)

    def test_deleting_it_deletes_its_tokens(self, admin_client, application, admin) -> None:
        AccessToken.objects.create(
            user=admin, application=application, token="t", expires="2999-01-01T00:00Z"
        )
        admin_client.post(f"/admin-portal/applications/{application.pk}/delete")
        assert not Application.objects.exists()
        assert not AccessToken.objects.exists()


class TestOtherOrganisations:
    @pytest.mark.parametrize(
        ("method", "suffix"),
        [("get", ""), ("get", "/edit"), ("post", "/edit"), ("post", "/secret"), ("get", "/delete"),
         ("post", "/delete")],
    )  # fmt: skip
    def test_another_organisations_application_is_not_found(
        self, admin_client, fabrikam_app, method, suffix
    ) -> None:
        url = f"/admin-portal/applications/{fabrikam_app.pk}{suffix}"
        response = getattr(admin_client, method)(url, {"name": "Taken", "redirect_uris": CALLBACK})
        assert response.status_code == 404
        fabrikam_app.refresh_from_db()
        assert fabrikam_app.name == "Fabrikam Payroll"

    def test_the_attempt_is_audited(self, admin_client, admin, fabrikam_app) -> None:
        admin_client.get(f"/admin-portal/applications/{fabrikam_app.pk}")
        assert AuditEvent.objects.filter(
            actor=admin, action=AuditAction.ADMIN_ACCESS_DENIED
        ).exists()

    def test_a_user_who_is_not_an_administrator_is_refused(self, make_user, client) -> None:
        make_user("user@contoso.example")
        client = password_only("user@contoso.example")
        assert client.get("/admin-portal/applications/").status_code == 403
        assert register(client).status_code == 403
