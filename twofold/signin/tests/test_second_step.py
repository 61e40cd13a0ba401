"""The second step of signing in, through the pages."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from twofold.accounts import pending
from twofold.audit.models import AuditAction, AuditEvent
from twofold.delivery import outbox as outbox_gateway
from twofold.delivery.base import call_answered
from twofold.methods.models import Challenge, ChallengeState
from twofold.methods.phone import services as phone_services
from twofold.signin import services

from .conftest import OFFICE_NUMBER, password_step

pytestmark = pytest.mark.django_db


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


class TestChallenge:
    def test_a_right_password_leads_to_the_preferred_method(self, client, alice, outbox) -> None:
        response = password_step(client)
        assert response["Location"] == "/signin/verify"
        assert not signed_in(client)
        page = client.get("/signin/verify").content.decode()
        assert "+1 XXX XXX XX34" in page
        assert outbox.texts()[0].to == alice.phones.get().number

    def test_the_texted_code_signs_in(self, client, alice, outbox) -> None:
        password_step(client)
        response = client.post("/signin/verify", {"code": outbox.last_code()})
        assert response["Location"] == "/account"
        assert signed_in(client)
        assert client.session[services.AMR] == ["pwd", "sms"]

    def test_a_challenge_whose_way_went_meanwhile_offers_the_ways_left(
        self, client, alice, outbox
    ) -> None:
        """The text was started, then the organisation stopped allowing texts (or the last
        passkey was deleted in another tab): the answer is not checked against a box of
        the wrong kind; the page says so and offers what is left."""
        phone_services.set_number(alice, "office", OFFICE_NUMBER)
        password_step(client)
        organisation = alice.organisation
        organisation.allowed_methods = [k for k in organisation.allowed_methods if k != "text"]
        organisation.save()
        response = client.post("/signin/verify", {"code": "x" * 500})
        assert response["Location"] == "/signin/verify"
        page = client.get("/signin/verify").content.decode()
        assert "no longer available" in page
        assert "too long" not in page
        assert "+1 XXX XXX XX99" in page  # the office phone's call, still open
        assert not signed_in(client)

    def test_the_sign_in_event_names_the_option_used(self, client, alice, outbox) -> None:
        password_step(client)
        client.post("/signin/verify", {"code": outbox.last_code()})
        event = AuditEvent.objects.get(action=AuditAction.SIGNIN_COMPLETED)
        assert event.details == {"via": "second factor", "method": "text:authentication"}

    def test_the_session_id_changes_after_the_password_and_after_the_second_factor(
        self, client, alice, outbox
    ) -> None:
        client.post("/signin", {"username": "alice@contoso.example"})
        first = client.session.session_key
        client.post("/signin/password", {"password": "correct horse battery staple"})
        second = client.session.session_key
        client.post("/signin/verify", {"code": outbox.last_code()})
        third = client.session.session_key
        assert len({first, second, third}) == 3

    def test_a_session_waiting_for_its_second_factor_reaches_nothing_else(self, client, alice):
        password_step(client)
        for url in ("/account", "/account/security-verification", "/account/verify"):
            assert client.get(url)["Location"].startswith("/signin?next=")

    def test_the_wait_for_a_second_factor_ends_after_ten_minutes(self, client, alice, outbox):
        password_step(client)
        session = client.session
        session[pending.PENDING]["at"] = int(time.time()) - pending.PENDING_SECONDS - 1
        session.save()
        response = client.post("/signin/verify", {"code": outbox.last_code()})
        assert response["Location"] == "/signin"
        assert not signed_in(client)

    def test_a_wrong_code_keeps_the_user_out_with_a_message(self, client, alice, outbox) -> None:
        password_step(client)
        response = client.post("/signin/verify", {"code": outbox.wrong_code()})
        assert response.status_code == 200
        assert "Check it and try again" in response.content.decode()
        assert not signed_in(client)

    def test_a_newer_code_makes_the_older_one_useless(self, client, alice, outbox) -> None:
        password_step(client)
        old = outbox.last_code()
        client.post("/signin/verify/start", {"option": "text:authentication"})
        if outbox.last_code() != old:
            client.post("/signin/verify", {"code": old})
            assert not signed_in(client)
        client.post("/signin/verify", {"code": outbox.last_code()})
        assert signed_in(client)

    def test_lockout_says_so_plainly_with_the_correlation_id(self, client, alice, outbox) -> None:
        organisation = alice.organisation
        organisation.lockout_threshold = 2
        organisation.save()
        password_step(client)
        client.post("/signin/verify", {"code": outbox.wrong_code()})
        response = client.post("/signin/verify", {"code": outbox.wrong_code()})
        assert response.status_code == 429
        body = response.content.decode()
        assert "locked" in body
        assert response["X-Correlation-ID"] in body
        right = client.post("/signin/verify", {"code": outbox.last_code()})
        assert right.status_code == 429
        assert not signed_in(client)


class TestAnotherWay:
    @pytest.fixture
    def with_office(self, alice):
        phone_services.set_number(alice, "office", OFFICE_NUMBER, "55")
        return alice

    def test_other_methods_are_listed_masked(self, client, with_office, outbox) -> None:
        password_step(client)
        page = client.get("/signin/verify").content.decode()
        assert "Call +1 XXX XXX XX34" in page
        assert "Call +1 XXX XXX XX99" in page

    def test_a_call_answered_with_hash_signs_in_from_the_waiting_page(
        self, client, with_office, outbox
    ) -> None:
        password_step(client)
        client.post("/signin/verify/start", {"option": "call:office"})
        page = client.get("/signin/verify").content.decode()
        assert 'data-testid="waiting"' in page
        call = outbox.calls()[0]
        assert (call.to, call.extension) == (OFFICE_NUMBER, "55")
        status_url = f"/challenges/{call.reference}/status"
        assert client.get(status_url).json() == {"state": "pending"}
        call_answered.send(sender=None, reference=call.reference, digits="#")
        assert client.get(status_url).json() == {"state": "approved"}
        response = client.post("/signin/verify/complete")
        assert response["Location"] == "/account"
        assert client.session[services.AMR] == ["pwd", "tel"]

    def test_completing_before_the_call_is_answered_does_nothing(self, client, with_office):
        password_step(client)
        client.post("/signin/verify/start", {"option": "call:office"})
        assert client.post("/signin/verify/complete")["Location"] == "/signin/verify"
        assert not signed_in(client)

    def test_fraud_reported_on_the_call_blocks_the_user(self, client, with_office, outbox) -> None:
        password_step(client)
        client.post("/signin/verify/start", {"option": "call:office"})
        reference = outbox.calls()[0].reference
        call_answered.send(sender=None, reference=reference, digits="0#")
        assert client.get(f"/challenges/{reference}/status").json()["state"] == "fraud"
        with_office.refresh_from_db()
        assert with_office.is_blocked
        assert client.post("/signin/verify/complete")["Location"] == "/signin"
        again = password_step(Client())  # the right password: told of the block
        assert "Your account is blocked" in again.content.decode()

    def test_a_declined_call_says_so_on_the_waiting_page(self, client, with_office, outbox):
        password_step(client)
        client.post("/signin/verify/start", {"option": "call:office"})
        waiting = client.get("/signin/verify").content.decode()
        assert 'data-state="denied">The call was declined.' in waiting  # shown when polled
        call = outbox.calls()[0]
        outbox_gateway.answer_call(call.pk, outbox_gateway.Answer.DECLINE)
        assert client.get(f"/challenges/{call.reference}/status").json()["state"] == "denied"
        page = client.get("/signin/verify").content.decode()
        assert "The verification was declined. Try again, or use another way." in page
        assert client.post("/signin/verify/complete")["Location"] == "/signin/verify"
        assert not signed_in(client)

    def test_an_unanswered_call_times_out_with_a_message(self, client, with_office, outbox):
        password_step(client)
        client.post("/signin/verify/start", {"option": "call:office"})
        reference = outbox.calls()[0].reference
        Challenge.objects.filter(pk=reference).update(expires_at=timezone.now())
        assert client.get(f"/challenges/{reference}/status").json()["state"] == "expired"
        page = client.get("/signin/verify").content.decode()
        assert "expired before it was finished" in page

    def test_another_users_challenge_status_is_not_found(self, client, with_office, make_user):
        password_step(client)
        client.post("/signin/verify/start", {"option": "call:office"})
        reference = Challenge.objects.get(state=ChallengeState.PENDING).pk
        assert Client().get(f"/challenges/{reference}/status").status_code == 404


class TestSkippingTheSecondStep:
    def test_an_address_in_a_trusted_range_skips_it_and_says_why(self, client, alice) -> None:
        organisation = alice.organisation
        organisation.trusted_ip_ranges = ["127.0.0.0/8"]
        organisation.save()
        assert password_step(client)["Location"] == "/account"
        event = AuditEvent.objects.get(action=AuditAction.SIGNIN_COMPLETED)
        assert event.details["via"] == "trusted address"

    def test_an_ipv4_mapped_address_in_a_trusted_ipv4_range_skips_it(self, alice) -> None:
        # A dual-stack listener, or a proxy's X-Forwarded-For, gives IPv4 people this form.
        organisation = alice.organisation
        organisation.trusted_ip_ranges = ["192.0.2.0/24"]
        organisation.save()
        assert password_step(Client(REMOTE_ADDR="::ffff:192.0.2.8"))["Location"] == "/account"

    def test_a_one_time_bypass_works_once(self, client, alice) -> None:
        alice.mfa_bypass_until = timezone.now() + timedelta(minutes=5)
        alice.save()
        assert password_step(client)["Location"] == "/account"
        assert password_step(Client())["Location"] == "/signin/verify"

    def test_an_expired_bypass_does_nothing(self, client, alice) -> None:
        alice.mfa_bypass_until = timezone.now() - timedelta(seconds=1)
        alice.save()
        assert password_step(client)["Location"] == "/signin/verify"


def test_failed_second_steps_are_reported_at_the_next_sign_in(client, alice, outbox) -> None:
    password_step(client)
    client.post("/signin/verify", {"code": outbox.wrong_code()})
    other = Client()
    password_step(other)
    response = other.post("/signin/verify", {"code": outbox.last_code()}, follow=True)
    assert "failed the second step 1 time" in response.content.decode()


def test_after_a_fraud_report_the_session_is_told_its_account_is_blocked(
    client, alice, outbox
) -> None:
    phone_services.set_number(alice, "office", OFFICE_NUMBER)
    password_step(client)
    client.post("/signin/verify/start", {"option": "call:office"})
    call_answered.send(sender=None, reference=outbox.calls()[0].reference, digits="0#")
    texts_before = len(outbox.texts())
    response = client.post("/signin/verify/start", {"option": "text:authentication"}, follow=True)
    assert "your account is blocked" in response.content.decode()
    assert len(outbox.texts()) == texts_before
