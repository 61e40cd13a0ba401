"""The help desk's "why" for applications' checks (/validate/check): the same one
``signin.decided`` event as the pages, marked as the API's, for each reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import STRONG_PASSWORD
from twofold.accounts.models import MfaState, User
from twofold.audit.models import AuditAction, AuditEvent
from twofold.methods.resets import require_reregistration

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = "alice@contoso.example"


def check(http, user: str = ALICE, **fields) -> dict:
    return http.post(
        "/validate/check", {"user": user, "password": STRONG_PASSWORD, **fields}
    ).json()


def decided(username: str = ALICE) -> dict:
    event = AuditEvent.objects.filter(
        subject_label=username, action=AuditAction.SIGNIN_DECIDED
    ).latest("id")
    return event.details


@pytest.fixture
def reporter(http, make_token):
    """A client an administrator trusts to report end users' addresses."""
    http.token = make_token("validate", name="Trusted VPN", reports_person_address=True)
    return http


def test_two_step_verification_off_is_the_reason(validator, user) -> None:
    check(validator)
    assert (decided()["rule"], decided()["channel"]) == ("mfa_off", "api")


def test_the_reported_address_s_trusted_range_is_named(reporter, texted, organisation) -> None:
    organisation.trusted_ip_ranges = ["127.0.0.2/32"]
    organisation.save()
    check(reporter, user_address="127.0.0.2")
    details = decided()
    assert (details["rule"], details["range"]) == ("trusted_range", "127.0.0.2/32")


def test_a_one_time_bypass_is_the_reason(validator, texted) -> None:
    User.objects.filter(pk=texted.pk).update(mfa_bypass_until=timezone.now() + timedelta(minutes=5))
    check(validator)
    assert decided()["rule"] == "bypass"


def test_no_method_yet_is_the_reason(validator, make_user) -> None:
    make_user(ALICE, mfa_state=MfaState.ENABLED)
    check(validator)
    assert decided()["rule"] == "no_method"


def test_a_request_to_register_again_is_the_reason(validator, texted) -> None:
    require_reregistration(User.objects.filter(pk=texted.pk))
    check(validator)
    assert decided()["rule"] == "reregister"


def test_a_challenge_says_the_application_chooses_the_method(validator, texted) -> None:
    check(validator)
    details = decided()
    assert (details["rule"], details["first_why"]) == ("challenge", "application")


def test_a_check_records_exactly_one_decision(validator, texted) -> None:
    check(validator)
    assert AuditEvent.objects.filter(action=AuditAction.SIGNIN_DECIDED).count() == 1


def test_answering_a_challenge_records_no_second_decision(validator, texted, outbox) -> None:
    started = check(validator)
    validator.post(
        "/validate/check",
        {"user": ALICE, "challenge_id": started["challenge_id"], "code": outbox.last_code()},
    )
    assert AuditEvent.objects.filter(action=AuditAction.SIGNIN_DECIDED).count() == 1
