"""A settings save and a gateway's callback for the same user at the same moment: both
take the user's row first (the lock order in methods/verification.py), so neither is
aborted as a deadlock (PostgreSQL; SQLite runs the two transactions one after the other)."""

import pytest

from conftest import Rendezvous, side_by_side
from twofold.core.errors import TwofoldError
from twofold.delivery.base import call_answered
from twofold.methods.models import Challenge, ChallengeState
from twofold.methods.phone import services as phone_services
from twofold.methods.phone.models import Phone
from twofold.methods.phone.settings import PhoneEntry

from .conftest import AUTH_NUMBER, NEW_NUMBER, OFFICE_NUMBER, Settings, save_page

MISTYPED = "+14255550177"


def _save(user) -> str:
    page = Settings(
        preferred_option="text:authentication",
        authentication=PhoneEntry(NEW_NUMBER),  # a new authentication number: a proof
        authentication_mode="text",
        office=PhoneEntry(OFFICE_NUMBER),
        alternate=PhoneEntry(),
    )
    try:
        save_page(user, page)
    except TwofoldError as refused:
        return refused.code
    return "ok"


@pytest.mark.django_db(transaction=True)
def test_a_proof_calls_fraud_report_during_a_settings_save_deadlocks_neither(
    with_phone, outbox, monkeypatch
) -> None:
    # Before: the report held the proof's challenge and waited for the office phone,
    # which the save held while it waited to expire that challenge for its own proof.
    phone_services.set_number(with_phone, "office", OFFICE_NUMBER)
    proof = phone_services.request_change(with_phone, "office", MISTYPED)
    meeting = Rendezvous()
    meeting.before(monkeypatch, phone_services, "disown_pending")  # the report: locks taken
    meeting.before(monkeypatch, phone_services, "request_change")  # the save: phones held

    def report() -> str:
        call_answered.send(sender=None, reference=str(proof.pk), digits="0#")
        return "ok"

    assert side_by_side(report, lambda: _save(with_phone)) == ["ok", "ok"]
    proof.refresh_from_db()
    assert proof.state in {ChallengeState.FRAUD, ChallengeState.EXPIRED}
    new_proof = Challenge.objects.filter(user=with_phone, state=ChallengeState.PENDING).get()
    assert new_proof.subject.startswith("authentication:")
    assert Phone.objects.get(user=with_phone, role="authentication").number == AUTH_NUMBER
