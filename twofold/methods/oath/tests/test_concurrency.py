"""One code submitted ten times at once: exactly one success (docs/security.md 7)."""

import pytest
from django.db import transaction

from conftest import at_once
from twofold.core.errors import InvalidInput, NotFound
from twofold.methods import base
from twofold.methods.models import ChallengePurpose
from twofold.methods.oath import services
from twofold.methods.verification import start_challenge

SUBMISSIONS = 10


@pytest.mark.django_db(transaction=True)
def test_one_code_checked_ten_times_at_once_matches_once(activated, clock) -> None:
    clock.advance()
    code = clock.code(activated.secret)
    challenge = start_challenge(activated.token.user, "hardware_token", ChallengePurpose.SIGNIN)
    method = base.get("hardware_token")

    def check() -> bool:
        with transaction.atomic():
            return method.check(challenge, code)

    assert sorted(at_once(check)) == [False] * (SUBMISSIONS - 1) + [True]


@pytest.mark.django_db(transaction=True)
def test_one_activation_code_submitted_ten_times_at_once_activates_once(assigned, clock) -> None:
    code = clock.code(assigned.secret)

    def submit() -> bool:
        try:
            services.activate(assigned.token.user, assigned.token.pk, code)
        except (InvalidInput, NotFound):
            return False
        return True

    assert sorted(at_once(submit)) == [False] * (SUBMISSIONS - 1) + [True]
