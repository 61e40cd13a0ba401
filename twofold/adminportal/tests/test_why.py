"""The help desk's "why": each sign-in through the pages records why a second step was
asked or not (one ``signin.decided`` event), and an administrator reads it, in a sentence,
on the user's page and in the audit search by correlation ID."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import AUTH_NUMBER, OFFICE_NUMBER, STRONG_PASSWORD
from twofold.accounts.models import MfaState, User
from twofold.administration import services as admin_services
from twofold.audit.models import AuditAction, AuditEvent
from twofold.methods.phone import services as phone_services
from twofold.methods.resets import require_reregistration
from twofold.signin.models import TrustedDevice

pytestmark = pytest.mark.django_db
ALICE = "alice@contoso.example"


@pytest.fixture
def alice(make_user):
    """Two-step verification on, one authentication phone that gets texts."""
    user = make_user(ALICE, mfa_state=MfaState.ENABLED)
    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


def sign_in(client: Client | None = None, username: str = ALICE) -> Client:
    """The password step of the sign-in pages (what decides the second step)."""
    client = client or Client()
    client.post("/signin", {"username": username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    return client


def decided(user: User) -> AuditEvent:
    return AuditEvent.objects.filter(subject_id=user.pk, action=AuditAction.SIGNIN_DECIDED).latest(
        "id"
    )


def why_on_user_page(admin_client: Client, user: User) -> str:
    """The newest row of the user's "why asked, or not asked" table."""
    body = admin_client.get(f"/admin-portal/users/{user.pk}").content.decode()
    marker = '<tr data-testid="subject-decision">'
    assert marker in body, "no sign-in's why on the user's page"
    return body.split(marker, 1)[1].split("</tr>", 1)[0]


class TestNotAsked:
    def test_two_step_verification_off_is_the_reason(self, admin_client, make_user) -> None:
        bob = make_user("bob@contoso.example")
        sign_in(username=bob.username)
        assert decided(bob).details["rule"] == "mfa_off"
        row = why_on_user_page(admin_client, bob)
        assert "Not asked: two-step verification is off for this user." in row

    def test_the_trusted_range_that_matched_is_named(self, admin_client, alice) -> None:
        alice.organisation.trusted_ip_ranges = ["10.0.0.0/8", "127.0.0.0/8"]
        alice.organisation.save()
        sign_in()
        details = decided(alice).details
        assert (details["rule"], details["range"]) == ("trusted_range", "127.0.0.0/8")
        assert "Not asked: 127.0.0.0/8 is a trusted range." in why_on_user_page(admin_client, alice)

    def test_a_one_time_bypass_names_the_event_that_granted_it(
        self, admin_client, admin, alice
    ) -> None:
        admin_services.grant_bypass(alice, minutes=5, reason="lost phone", actor=admin)
        granted = AuditEvent.objects.filter(
            subject_id=alice.pk, action=AuditAction.BYPASS_GRANTED
        ).latest("id")
        sign_in()
        details = decided(alice).details
        assert (details["rule"], details["granted_by_event"]) == ("bypass", granted.pk)
        assert "one-time bypass (valid until" in why_on_user_page(admin_client, alice)

    def test_a_remembered_device_is_named_with_since_when(self, admin_client, alice, outbox):
        browser = sign_in()
        browser.post("/signin/verify", {"code": outbox.last_code(), "remember": "on"})
        browser.post("/signout")
        device = TrustedDevice.objects.get(user=alice)
        sign_in(browser)
        details = decided(alice).details
        assert (details["rule"], details["device"]) == ("trusted_device", device.pk)
        assert details["since"] == device.created_at.isoformat(timespec="seconds")
        assert f"Not asked: remembered device {device.pk}, remembered since" in (
            why_on_user_page(admin_client, alice)
        )


class TestRegistration:
    def test_no_method_yet_is_the_reason(self, admin_client, make_user) -> None:
        carol = make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)
        sign_in(username=carol.username)
        assert decided(carol).details["rule"] == "no_method"
        assert "Asked to register: two-step verification is on and the user has no method" in (
            why_on_user_page(admin_client, carol)
        )

    def test_an_administrators_request_to_register_again_is_the_reason(
        self, admin_client, alice
    ) -> None:
        require_reregistration(User.objects.filter(pk=alice.pk))
        sign_in()
        assert decided(alice).details["rule"] == "reregister"
        assert "an administrator asked this user to provide contact methods again" in (
            why_on_user_page(admin_client, alice)
        )

    def test_the_organisations_requirement_is_said(self, admin_client, make_user) -> None:
        dave = make_user("dave@contoso.example")
        dave.organisation.require_mfa = True
        dave.organisation.save()
        sign_in(username=dave.username)
        assert "two-step verification is required by the organisation" in (
            why_on_user_page(admin_client, dave)
        )


class TestAsked:
    def test_the_only_method_is_offered_first_because_it_is_the_only_one(
        self, admin_client, make_user
    ) -> None:
        erin = make_user("erin@contoso.example", mfa_state=MfaState.ENFORCED)
        phone_services.set_number(erin, "office", OFFICE_NUMBER)  # calls only: one option
        sign_in(username=erin.username)
        details = decided(erin).details
        assert (details["rule"], details["first"], details["first_why"]) == (
            "challenge",
            "call:office",
            "only",
        )
        assert (
            "Asked: two-step verification is enforced; Call was offered first "
            "(the user&#x27;s only method)." in why_on_user_page(admin_client, erin)
        )

    def test_the_preferred_method_is_offered_first_because_the_user_prefers_it(
        self, admin_client, alice
    ) -> None:
        phone_services.set_number(alice, "office", OFFICE_NUMBER)
        User.objects.filter(pk=alice.pk).update(preferred_option="call:office")
        sign_in()
        details = decided(alice).details
        assert (details["first"], details["first_why"]) == ("call:office", "preferred")
        assert "Call was offered first (the user&#x27;s preferred method)" in (
            why_on_user_page(admin_client, alice)
        )

    def test_without_a_usable_preference_the_first_allowed_is_offered(
        self, admin_client, alice
    ) -> None:
        sign_in()
        details = decided(alice).details
        assert (details["first"], details["first_why"]) == ("text:authentication", "policy")
        assert "Text message was offered first (no preferred method: the first allowed)" in (
            why_on_user_page(admin_client, alice)
        )

    def test_an_administrator_is_always_enforced(self, admin_client, admin) -> None:
        # admin_client signed in through the pages: password, then a texted code.
        details = decided(admin).details
        assert (details["state"], details["administrator"]) == ("enforced", True)
        assert "two-step verification is enforced (always, for an administrator)" in (
            why_on_user_page(admin_client, admin)
        )

    def test_the_details_carry_no_phone_number(self, alice) -> None:
        sign_in()
        assert AUTH_NUMBER[-4:] not in json.dumps(decided(alice).details)


class TestOneEventPerSignIn:
    def test_a_sign_in_records_exactly_one_decision(self, alice) -> None:
        sign_in()
        assert AuditEvent.objects.filter(action=AuditAction.SIGNIN_DECIDED).count() == 1

    def test_a_wrong_password_records_no_decision(self, alice) -> None:
        client = Client()
        client.post("/signin", {"username": ALICE})
        client.post("/signin/password", {"password": "not the password"})
        assert not AuditEvent.objects.filter(action=AuditAction.SIGNIN_DECIDED).exists()

    def test_the_event_carries_the_sign_ins_correlation_id(self, alice) -> None:
        sign_in()
        password = AuditEvent.objects.filter(action=AuditAction.SIGNIN_PASSWORD).latest("id")
        assert decided(alice).correlation_id == password.correlation_id


class TestAuditSearch:
    def test_the_search_by_correlation_id_shows_the_why(self, admin_client, alice) -> None:
        alice.organisation.trusted_ip_ranges = ["127.0.0.0/8"]
        alice.organisation.save()
        sign_in()
        found = admin_client.get(
            "/admin-portal/audit", {"correlation_id": decided(alice).correlation_id}
        ).content.decode()
        assert 'data-testid="audit-why">Not asked: 127.0.0.0/8 is a trusted range.' in found

    def test_the_user_page_links_each_why_to_its_correlation_id(self, admin_client, alice):
        sign_in()
        row = why_on_user_page(admin_client, alice)
        assert f"/admin-portal/audit?correlation_id={decided(alice).correlation_id}" in row

    def test_the_why_is_translated(self, admin_client, alice) -> None:
        alice.organisation.trusted_ip_ranges = ["127.0.0.0/8"]
        alice.organisation.save()
        sign_in()
        body = admin_client.get(
            f"/admin-portal/users/{alice.pk}", HTTP_ACCEPT_LANGUAGE="zh-CN"
        ).content.decode()
        assert "127.0.0.0/8" in body
        assert "Not asked" not in body


def test_an_expired_bypass_is_not_the_reason(admin_client, alice) -> None:
    User.objects.filter(pk=alice.pk).update(mfa_bypass_until=timezone.now() - timedelta(seconds=1))
    sign_in()
    assert decided(alice).details["rule"] == "challenge"
