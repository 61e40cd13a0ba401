"""Ten submissions of one valid code at the same moment: exactly one succeeds (SECURITY.md 7)."""

import pytest
from django.db import transaction

from conftest import at_once
from twofold.core.errors import InvalidInput
from twofold.methods import base
from twofold.methods.models import ChallengePurpose
from twofold.methods.verification import start_challenge, verify_code

SUBMISSIONS = 10


@pytest.mark.django_db(transaction=True)
def test_one_code_submitted_ten_times_at_once_for_one_challenge_succeeds_once(
    enrolled, clock
) -> None:
    user = enrolled.user
    clock.advance()
    code = clock.code(enrolled.secret)
    challenge = start_challenge(user, "app_code", ChallengePurpose.SIGNIN)

    def submit() -> bool:
        try:
            verify_code(user, challenge.pk, code)
        except InvalidInput:
            return False
        return True

    assert sorted(at_once(submit)) == [False] * (SUBMISSIONS - 1) + [True]


@pytest.mark.django_db(transaction=True)
def test_one_code_checked_ten_times_at_once_matches_once_whatever_the_challenge(
    enrolled, clock
) -> None:
    # Two challenges (two browsers, or a browser and the API) must not both take one code:
    # the device's row lock and its last used step decide.
    clock.advance()
    code = clock.code(enrolled.secret)
    challenge = start_challenge(enrolled.user, "app_code", ChallengePurpose.SIGNIN)
    method = base.get("authenticator")

    def check() -> bool:
        with transaction.atomic():
            return method.check(challenge, code)

    assert sorted(at_once(check)) == [False] * (SUBMISSIONS - 1) + [True]
