"""Administrators are never single-factor (docs/security.md 29): created "enforced",
effectively "enforced" whatever their stored state says, and every admin-portal page and
action needs a recent second factor; one with no method registers one first."""

from __future__ import annotations

import re

import pytest
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import URLResolver, get_resolver

from conftest import STRONG_PASSWORD
from twofold.accounts import services as accounts
from twofold.accounts.models import MfaState, User
from twofold.administration import services as admin_services
from twofold.adminportal.views import ACTION_TITLES
from twofold.api import clients
from twofold.api.models import ApiClient, ApiScope
from twofold.audit import forwarding
from twofold.audit.models import AuditEvent, ForwardDestination
from twofold.methods.oath import importing
from twofold.methods.oath.models import HardwareToken
from twofold.methods.oath.tests.conftest import csv_bytes, row
from twofold.methods.phone.models import Phone
from twofold.methods.stepup import VERIFIED_AT
from twofold.oidc import services as oidc
from twofold.oidc.models import Application
from twofold.organisations.models import Organisation
from twofold.selfservice.tests.conftest import page_data

from .conftest import ADMIN_NUMBER, give_a_phone, password_only, read_code, signed_in_admin

pytestmark = pytest.mark.django_db

REGISTER = "/account/security-verification"
STEP_UP = "/account/verify?"


def portal_routes() -> list[str]:
    """Every route of the admin portal, from the URL map itself (none listed by hand)."""

    def walk(patterns, prefix: str):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, route)
            else:
                yield route

    return sorted(r for r in walk(get_resolver().url_patterns, "") if r.startswith("admin-portal/"))


def portal_urls(ids: dict[str, int]) -> list[str]:
    """Each route with its parameters filled in (each user action by name)."""
    urls = []
    for route in portal_routes():
        fillings = [{}]
        if "<slug:action>" in route:
            fillings = [{"action": action} for action in ACTION_TITLES]
        for filling in fillings:
            values = {**ids, **filling}
            # A parameter the test does not know fails here: give it a value above.
            url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m, v=values: str(v[m.group(1)]), route)
            urls.append(f"/{url}")
    return urls


@pytest.fixture
def world(organisation, admin, make_user) -> dict[str, int]:
    """One of each thing the portal's URLs name, made through the services."""
    subject = make_user("user00@contoso.example")
    report = importing.import_tokens(organisation, csv_bytes(row("", "T-1", bytes(20))), admin)
    assert not report.refused
    client, _token = clients.create(organisation, "VPN", [ApiScope.VALIDATE], actor=admin)
    application, _secret = oidc.register_application(
        organisation,
        admin,
        name="Web",
        client_type=oidc.CONFIDENTIAL,
        redirect_uris=["https://app.contoso.example/callback"],
    )
    webhook, _secret = forwarding.add_webhook(organisation, "https://8.8.8.8/siem", actor=admin)
    return {
        "webhook_id": webhook.pk,
        "user_id": subject.pk,
        "token_id": HardwareToken.objects.get().pk,
        "client_id": client.pk,
        "application_id": application.pk,
        "method": "authenticator",  # a method's registration removed from a user's page
        "item_id": 1,
    }


def everything() -> dict[str, list[dict]]:
    """What any admin page or action could change, to compare before and after."""
    models = (
        User,
        Organisation,
        ApiClient,
        Application,
        HardwareToken,
        Phone,
        ForwardDestination,
        AuditEvent,
    )
    return {
        model.__name__: [model_to_dict(item) for item in model.objects.order_by("pk")]
        for model in models
    }


def in_on_the_password(admin: User) -> Client:
    """Signed in on the password alone: a one-time bypass skipped the second factor."""
    admin_services.grant_bypass(admin, minutes=10, reason="lost phone", actor=None)
    client = password_only(admin.username)
    assert client.get("/account").status_code == 200
    assert VERIFIED_AT not in client.session
    return client


EVERY_ACTION = {
    "confirmed": "on",
    "state": MfaState.DISABLED,
    "minutes": "5",
    "reason": "walk",
    "action": "disable",
    "all_matching": "on",
    "username": "user00@contoso.example",
    "name": "Walker",
    "scopes": [ApiScope.ADMIN],
    "client_type": oidc.CONFIDENTIAL,
    "redirect_uris": "https://evil.example/callback",
    "url": "https://8.8.4.4/walk",
}


class TestEveryPortalUrl:
    def test_the_walk_finds_the_portals_pages(self) -> None:
        routes = portal_routes()
        assert "admin-portal/users" in routes
        assert "admin-portal/api-clients/new" in routes
        assert len(routes) > 15

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_an_admin_with_no_method_is_sent_to_register_one_and_nothing_changes(
        self, admin, world, method
    ) -> None:
        client = in_on_the_password(admin)
        before = everything()
        answers = {
            url: getattr(client, method)(url, EVERY_ACTION if method == "post" else None)
            for url in portal_urls(world)
        }
        wrong = {url: r.status_code for url, r in answers.items() if r.get("Location") != REGISTER}
        assert wrong == {}
        assert everything() == before

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_an_admin_without_a_recent_second_factor_is_sent_to_step_up_and_nothing_changes(
        self, admin, world, method
    ) -> None:
        give_a_phone(admin.username)
        client = in_on_the_password(admin)
        before = everything()
        answers = {
            url: getattr(client, method)(url, EVERY_ACTION if method == "post" else None)
            for url in portal_urls(world)
        }
        wrong = {
            url: r.status_code
            for url, r in answers.items()
            if not r.get("Location", "").startswith(STEP_UP)
        }
        assert wrong == {}
        assert everything() == before


class TestComingBack:
    def test_after_registering_a_first_method_the_admin_lands_where_they_were_going(
        self, admin
    ) -> None:
        client = in_on_the_password(admin)
        assert client.get("/admin-portal/policy?tab=branding")["Location"] == REGISTER
        number = ADMIN_NUMBER.removeprefix("+1")
        client.post(REGISTER, page_data(authentication_number=number))
        client.post(f"{REGISTER}/verify-phone", {"code": read_code(ADMIN_NUMBER)})
        assert client.get(REGISTER)["Location"] == "/admin-portal/policy?tab=branding"

    def test_after_confirming_its_them_the_admin_lands_where_they_were_going(self, admin):
        give_a_phone(admin.username)
        client = in_on_the_password(admin)
        step_up = client.get("/admin-portal/audit")["Location"]
        client.get(step_up)
        client.post("/account/verify/start", {"option": "text:authentication"})
        response = client.post("/account/verify", {"code": read_code(ADMIN_NUMBER)})
        assert response["Location"] == "/admin-portal/audit"
        assert client.get("/admin-portal/audit").status_code == 200

    def test_the_step_up_page_with_nothing_to_verify_with_counts_as_no_second_factor(
        self, admin
    ) -> None:
        client = in_on_the_password(admin)
        assert client.get("/account/verify?next=/admin-portal/users")["Location"] == REGISTER
        assert VERIFIED_AT not in client.session
        assert client.get("/admin-portal/users")["Location"] == REGISTER


class TestAlwaysEnforced:
    @pytest.mark.parametrize("asked", MfaState.values)
    def test_an_administrator_is_created_enforced_whatever_state_is_asked(
        self, make_user, asked
    ) -> None:
        admin = make_user("boss@contoso.example", is_admin=True, mfa_state=asked)
        admin.refresh_from_db()
        assert admin.mfa_state == MfaState.ENFORCED

    def test_an_ordinary_user_keeps_the_state_asked_for(self, make_user) -> None:
        user = make_user("bob@contoso.example", mfa_state=MfaState.DISABLED)
        assert accounts.effective_mfa_state(user) == MfaState.DISABLED

    @pytest.mark.parametrize("lowered", [MfaState.DISABLED, MfaState.ENABLED])
    def test_a_lowered_stored_state_leaves_the_administrator_effectively_enforced(
        self, admin, lowered
    ) -> None:
        accounts.set_mfa_state(User.objects.filter(pk=admin.pk), lowered, actor=None)
        admin.refresh_from_db()
        assert admin.mfa_state == lowered
        assert accounts.effective_mfa_state(admin) == MfaState.ENFORCED

    def test_a_lowered_administrator_is_still_asked_for_a_second_factor_at_sign_in(
        self, admin, make_user
    ) -> None:
        give_a_phone(admin.username)
        other = signed_in_admin(make_user("boss@contoso.example", is_admin=True).username)
        url = f"/admin-portal/users/{admin.pk}/mfa-state"
        other.post(url, {"state": MfaState.DISABLED, "confirmed": "on"})
        admin.refresh_from_db()
        assert admin.mfa_state == MfaState.DISABLED
        client = Client()
        client.post("/signin", {"username": admin.username})
        response = client.post("/signin/password", {"password": STRONG_PASSWORD})
        assert response["Location"].startswith("/signin/verify")

    def test_a_lowered_administrators_page_says_they_are_still_enforced(
        self, admin, admin_client
    ) -> None:
        accounts.set_mfa_state(User.objects.filter(pk=admin.pk), MfaState.DISABLED, actor=None)
        page = admin_client.get(f"/admin-portal/users/{admin.pk}").content.decode()
        assert 'data-testid="subject-admin-enforced"' in page

    def test_a_lowered_administrator_with_no_method_registers_one_at_sign_in(self, admin) -> None:
        accounts.set_mfa_state(User.objects.filter(pk=admin.pk), MfaState.DISABLED, actor=None)
        client = Client()
        client.post("/signin", {"username": admin.username})
        response = client.post("/signin/password", {"password": STRONG_PASSWORD})
        assert response["Location"].startswith("/signin/register")
