"""Trusted address ranges and per-address limits see the person, not the integration
(docs/security.md 32): a VPN's own address counts only as itself, and the end user's
address it reports is believed only from a client an administrator trusts to report it.

The live server sees every call from 127.0.0.1, the integration's own address.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = "alice@contoso.example"
TRUSTED_RANGE = "198.51.100.0/24"
INSIDE, OUTSIDE = "198.51.100.7", "203.0.113.9"


def check(http, user: str = ALICE, password: str | None = STRONG_PASSWORD, **fields):
    body = {"user": user, **fields}
    if password is not None:
        body["password"] = password
    return http.post("/validate/check", body)


def limit(settings, **options: int) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, **options}


@pytest.fixture
def reporter(http, make_token):
    """The live API as a client an administrator trusts to report end users' addresses."""
    http.token = make_token("validate", name="Trusted VPN", reports_person_address=True)
    return http


@pytest.fixture
def ranges(organisation):
    """The organisation trusts the documentation range and the loopback (the VPN's own)."""
    organisation.trusted_ip_ranges = [TRUSTED_RANGE, "127.0.0.0/8", "::1/128"]
    organisation.save()
    return organisation


class TestTrustedRanges:
    def test_a_client_inside_a_trusted_range_never_skips_the_second_factor(
        self, validator, texted, ranges
    ) -> None:
        answer = check(validator).json()
        assert answer["result"] == "challenge"

    def test_a_trusted_client_reporting_an_address_in_a_trusted_range_skips_it(
        self, reporter, texted, ranges, outbox
    ) -> None:
        answer = check(reporter, user_address=INSIDE).json()
        assert (answer["result"], answer["reason"]) == ("accept", "trusted_address")
        assert outbox.texts() == []

    def test_a_trusted_client_reporting_an_address_outside_is_asked_for_a_second_factor(
        self, reporter, texted, ranges
    ) -> None:
        assert check(reporter, user_address=OUTSIDE).json()["result"] == "challenge"

    def test_a_trusted_client_reporting_no_address_is_asked_for_a_second_factor(
        self, reporter, texted, ranges
    ) -> None:
        assert check(reporter).json()["result"] == "challenge"

    def test_a_trusted_client_reporting_its_own_address_does_not_skip_it(
        self, reporter, texted, ranges
    ) -> None:
        # The loopback, in a trusted range, is where the live server sees the client call from.
        assert check(reporter, user_address="127.0.0.1").json()["result"] == "challenge"

    def test_a_trusted_clients_own_address_reported_is_noted_as_ignored(
        self, reporter, texted, ranges
    ) -> None:
        check(reporter, user_address="::ffff:127.0.0.1")
        event = AuditEvent.objects.filter(action=AuditAction.API_CALL).latest("id")
        assert event.details["person_address_ignored"] == "the client's own address"

    def test_an_untrusted_client_reporting_an_address_in_the_range_does_not_skip_it(
        self, validator, texted, ranges
    ) -> None:
        assert check(validator, user_address=INSIDE).json()["result"] == "challenge"

    def test_an_untrusted_clients_report_is_noted_as_ignored_in_its_audit_event(
        self, validator, texted, ranges
    ) -> None:
        check(validator, user_address=INSIDE)
        event = AuditEvent.objects.filter(action=AuditAction.API_CALL).latest("id")
        assert "person_address" not in event.details
        assert event.details["person_address_ignored"]

    def test_an_ipv4_mapped_ipv6_report_matches_the_ipv4_range(
        self, reporter, texted, ranges
    ) -> None:
        answer = check(reporter, user_address=f"::ffff:{INSIDE}").json()
        assert answer["reason"] == "trusted_address"

    def test_starting_a_challenge_follows_the_same_rule(self, reporter, texted, ranges) -> None:
        body = {"user": ALICE, "password": STRONG_PASSWORD, "user_address": INSIDE}
        answer = reporter.post("/validate/challenges", body).json()
        assert (answer["result"], answer["reason"]) == ("accept", "trusted_address")


class TestBadAddresses:
    @pytest.mark.parametrize(
        "address", ["not an address", "198.51.100.300", "198.51.100.0/24", "fe80::1%eth0", ""]
    )
    def test_a_reported_value_that_is_not_an_address_is_refused_clearly(
        self, reporter, texted, address
    ) -> None:
        answer = check(reporter, user_address=address)
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_input"
        assert "user_address must be an IPv4 or IPv6 address" in answer.json()["message"]

    def test_a_refused_address_changes_nothing(self, reporter, texted, settings) -> None:
        limit(settings, signin_attempts_per_user=1)
        check(reporter, password="wrong", user_address="not an address")
        assert not AuditEvent.objects.filter(action=AuditAction.SIGNIN_PASSWORD).exists()
        assert check(reporter).json()["result"] == "challenge"  # no attempt was counted

    def test_an_untrusted_client_sending_a_bad_address_is_refused_too(
        self, validator, texted
    ) -> None:
        assert check(validator, user_address="nope").status_code == 400


class TestLimits:
    def test_150_right_checks_from_one_client_are_all_accepted(self, validator, user) -> None:
        answers = [check(validator).status_code for _call in range(150)]
        assert answers == [200] * 150

    def test_right_checks_reporting_one_address_never_fill_its_limit(
        self, reporter, user, settings
    ) -> None:
        limit(settings, signin_attempts_per_address=3)
        answers = [check(reporter, user_address=OUTSIDE).status_code for _call in range(5)]
        assert answers == [200] * 5

    def test_right_browser_sign_ins_never_fill_the_addresss_limit(self, user, settings) -> None:
        limit(settings, signin_attempts_per_address=2)
        for _sign_in in range(3):
            browser = Client()
            browser.post("/signin", {"username": ALICE})
            answer = browser.post("/signin/password", {"password": STRONG_PASSWORD})
            assert answer.status_code == 302

    def test_the_per_address_limit_counts_the_reported_address_of_a_trusted_client(
        self, reporter, make_user, settings
    ) -> None:
        limit(settings, signin_attempts_per_address=3)
        for index in range(3):  # three people, so that no user's own limit is reached
            check(reporter, user=f"user{index}@contoso.example", user_address=INSIDE)
        assert check(reporter, user_address=INSIDE).status_code == 429
        assert (
            check(reporter, user="other@contoso.example", user_address=OUTSIDE).status_code == 200
        )

    def test_a_clients_failures_never_fill_the_limit_of_its_own_address(
        self, validator, user, settings
    ) -> None:
        limit(settings, signin_attempts_per_address=3)
        for _attempt in range(3):
            check(validator, user="nobody@contoso.example", password="wrong")
        browser = Client()
        browser.post("/signin", {"username": ALICE})
        answer = browser.post("/signin/password", {"password": STRONG_PASSWORD})
        assert answer.status_code == 302  # the person at 127.0.0.1 is not the VPN

    def test_a_clients_failures_fill_its_own_ceiling_then_429(self, validator, settings) -> None:
        limit(settings, failures_per_api_client=3)
        started = time.monotonic()
        for index in range(3):
            check(validator, user=f"user{index}@contoso.example", password="wrong")
        refused = check(validator, user="user9@contoso.example", password="wrong")
        assert refused.status_code == 429
        # The window from the first failure: less the seconds a slow machine took since.
        window, waited = settings.TWOFOLD["signin_window_seconds"], time.monotonic() - started
        assert window - waited - 1 <= int(refused.headers["Retry-After"]) <= window

    def test_one_clients_ceiling_leaves_another_client_alone(
        self, validator, make_token, user, settings
    ) -> None:
        limit(settings, failures_per_api_client=2)
        for index in range(2):
            check(validator, user=f"user{index}@contoso.example", password="wrong")
        validator.token = make_token("validate", name="Mail server")
        assert check(validator).status_code == 200

    def test_the_ceiling_counts_failures_whatever_address_a_client_reports(
        self, reporter, settings
    ) -> None:
        limit(settings, failures_per_api_client=2)
        check(reporter, user="a@contoso.example", password="wrong", user_address="192.0.2.1")
        check(reporter, user="b@contoso.example", password="wrong", user_address="192.0.2.2")
        refused = check(reporter, user="c@contoso.example", user_address="192.0.2.3")
        assert refused.status_code == 429

    def test_wrong_codes_count_against_the_reported_address(
        self, reporter, with_app, settings
    ) -> None:
        limit(settings, mfa_failures_per_address=2)
        user = with_app.user.username
        for _attempt in range(2):
            check(reporter, user=user, code="000000", user_address=INSIDE)
        assert check(reporter, user=user, code="000000", user_address=INSIDE).status_code == 429
        other = check(reporter, user=user, code="000000", user_address=OUTSIDE)
        assert other.json()["reason"] == "wrong_code"


class TestAudit:
    def test_events_of_the_call_record_the_persons_address_and_the_clients(
        self, reporter, user
    ) -> None:
        check(reporter, user_address=INSIDE)
        event = AuditEvent.objects.filter(action=AuditAction.SIGNIN_PASSWORD).latest("id")
        assert event.details["person_address"] == INSIDE
        assert event.client_address == "127.0.0.1"

    def test_the_calls_own_event_records_the_persons_address(self, reporter, user) -> None:
        check(reporter, user_address=INSIDE)
        event = AuditEvent.objects.filter(action=AuditAction.API_CALL).latest("id")
        assert event.details["person_address"] == INSIDE


def test_the_openapi_document_describes_the_field(http) -> None:
    document = http.get("/openapi.json", token=None).json()
    field = document["components"]["schemas"]["CheckIn"]["properties"]["user_address"]
    assert "Calling-Station-Id" in field["description"]
