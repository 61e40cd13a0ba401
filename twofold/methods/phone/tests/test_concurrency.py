"""Ten submissions of one texted code at the same moment: exactly one succeeds (docs/security.md 7);
a gateway's answer and a change of the same user's phones at once: neither deadlocks."""

import pytest

from conftest import OFFICE_NUMBER, Rendezvous, at_once, side_by_side
from twofold.core.errors import InvalidInput
from twofold.delivery.base import call_answered
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.methods.phone import services as phone_services
from twofold.methods.phone.models import Phone
from twofold.methods.verification import start_challenge, verify_code

SUBMISSIONS = 10


@pytest.mark.django_db(transaction=True)
def test_one_texted_code_submitted_ten_times_at_once_succeeds_once(with_phone, outbox) -> None:
    challenge = start_challenge(with_phone, "text:authentication", ChallengePurpose.SIGNIN)
    code = outbox.last_code()

    def submit() -> bool:
        try:
            verify_code(with_phone, challenge.pk, code)
        except InvalidInput:  # already finished by the one that won
            return False
        return True

    assert sorted(at_once(submit, SUBMISSIONS)) == [False] * (SUBMISSIONS - 1) + [True]
    assert Challenge.objects.get(pk=challenge.pk).state == ChallengeState.APPROVED


@pytest.mark.django_db(transaction=True)
def test_a_proof_calls_fraud_report_as_the_change_is_cancelled_deadlocks_neither(
    with_phone, outbox, monkeypatch
) -> None:
    # Before the one lock order (verification.py), the report held the proof's challenge
    # and waited for the phone, which the cancel held while it waited to expire the proof.
    proof = phone_services.request_change(with_phone, "office", OFFICE_NUMBER)
    meeting = Rendezvous()
    meeting.before(monkeypatch, phone_services, "disown_pending")  # the report: locks taken
    meeting.after(monkeypatch, phone_services, "_discard_pending")  # the cancel: phone held

    def report() -> None:
        call_answered.send(sender=None, reference=str(proof.pk), digits="0#")

    side_by_side(report, lambda: phone_services.cancel_change(with_phone, "office"))
    proof.refresh_from_db()
    assert proof.state in {ChallengeState.FRAUD, ChallengeState.EXPIRED}
    assert not Phone.objects.filter(user=with_phone, role="office").exists()
