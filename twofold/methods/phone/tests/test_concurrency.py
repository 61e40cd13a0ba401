"""Ten submissions of one texted code at the same moment: exactly one succeeds (SECURITY.md 7)."""

import pytest

from conftest import at_once
from twofold.core.errors import InvalidInput
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
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
