"""0# on a call that proves a new number: the number goes, nobody is blocked."""

import logging

import pytest

from twofold.audit.models import AuditAction, AuditEvent
from twofold.core.logging import JsonFormatter
from twofold.delivery.base import call_answered
from twofold.methods import verification
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.methods.phone import services as phone_services
from twofold.methods.phone.models import Phone

from .conftest import AUTH_NUMBER, OFFICE_NUMBER

pytestmark = pytest.mark.django_db
MISTYPED = "+14255550177"


def answer(challenge: Challenge, digits: str) -> Challenge:
    call_answered.send(sender=None, reference=str(challenge.pk), digits=digits)
    challenge.refresh_from_db()
    return challenge


@pytest.fixture
def office_proof(with_phone, outbox):
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER, "1234")
    return phone_services.request_change(with_phone, "office", MISTYPED, "99")


def test_a_fraud_report_on_a_proof_call_fails_it_and_blocks_nobody(office_proof) -> None:
    assert answer(office_proof, "0#").state == ChallengeState.FRAUD
    office_proof.user.refresh_from_db()
    assert not office_proof.user.is_blocked
    assert office_proof.user.trusted_device_epoch == 0


def test_a_fraud_report_on_a_proof_call_discards_the_new_number(office_proof) -> None:
    answer(office_proof, "0#")
    phone = Phone.objects.get(user=office_proof.user, role="office")
    assert (phone.number, phone.extension) == (OFFICE_NUMBER, "1234")
    assert (phone.pending_number, phone.pending_extension) == ("", "")


def test_the_disowned_number_is_audited_masked(office_proof) -> None:
    answer(office_proof, "0#")
    event = AuditEvent.objects.get(action=AuditAction.FRAUD_REPORTED)
    assert event.details["masked_number"] == "+1 XXX XXX XX77"
    assert event.details["kind"] == "office"
    assert MISTYPED not in str(list(AuditEvent.objects.values()))


def test_a_first_number_disowned_at_registration_leaves_no_phone(user, outbox) -> None:
    proof = phone_services.request_change(user, "authentication", MISTYPED, mode="call")
    assert proof.purpose == ChallengePurpose.VERIFY_NUMBER
    answer(proof, "0#")
    assert not Phone.objects.filter(user=user).exists()
    user.refresh_from_db()
    assert not user.is_blocked


def test_a_proof_call_is_disowned_even_where_fraud_reports_are_off(office_proof) -> None:
    organisation = office_proof.user.organisation
    organisation.fraud_report_enabled = False
    organisation.save()
    assert answer(office_proof, "0#").state == ChallengeState.FRAUD
    assert Phone.objects.get(user=office_proof.user, role="office").pending_number == ""


def test_a_sign_in_call_keeps_the_fraud_policy(with_phone, outbox) -> None:
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER)
    call = verification.start_challenge(with_phone, "call:office", ChallengePurpose.SIGNIN)
    answer(call, "0#")
    with_phone.refresh_from_db()
    assert with_phone.is_blocked
    assert Phone.objects.get(user=with_phone, role="authentication").number == AUTH_NUMBER


def test_the_disowned_number_is_audited_with_a_high_severity(office_proof) -> None:
    answer(office_proof, "0#")
    event = AuditEvent.objects.get(action=AuditAction.FRAUD_REPORTED)
    assert (event.details["reason"], event.details["severity"]) == (
        "new number disowned and discarded",
        "high",
    )


def test_a_report_after_the_number_changed_says_nothing_was_discarded(office_proof) -> None:
    # The office number was saved directly while the proof call rang: no number waits.
    phone_services.set_number(office_proof.user, "office", OFFICE_NUMBER, "5678")
    answer(office_proof, "0#")
    event = AuditEvent.objects.get(action=AuditAction.FRAUD_REPORTED)
    assert event.details["reason"] == "number changed since; nothing discarded"
    assert "masked_number" not in event.details
    assert Phone.objects.get(user=office_proof.user, role="office").extension == "5678"


def test_a_fraud_report_on_a_proof_call_raises_the_fraud_alert(office_proof, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="twofold.alerts"):
        answer(office_proof, "0#")
    (alert,) = [r for r in caplog.records if r.name == "twofold.alerts"]
    assert (alert.levelno, alert.getMessage(), alert.severity) == (
        logging.WARNING,
        "fraud_reported",
        "high",
    )
    assert (alert.method, alert.purpose, alert.blocked) == ("call:office", "verify_number", False)
    assert MISTYPED[-4:] not in JsonFormatter().format(alert)
