"""``verification.lock_answered`` (a challenge's code answered through the API) locks the
user's row before the challenge's, in one statement: the lock order (docs/design.md).
While another transaction holds the challenge, the statement waits holding the user's
row, never the other way round. PostgreSQL only: SQLite has no row locks (its writers
queue on the whole database)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import DatabaseError, connection, transaction

from conftest import someone_waits_for_a_lock
from twofold.accounts.models import User
from twofold.methods import verification
from twofold.methods.models import Challenge, ChallengePurpose

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's"),
]


def _free(user: User) -> bool:
    """Whether the user's row can be locked right now (NOWAIT)."""
    try:
        with transaction.atomic():
            list(User.objects.select_for_update(nowait=True).filter(pk=user.pk))
    except DatabaseError:  # could not obtain the lock
        return False
    return True


def test_the_users_row_is_locked_first_and_held_while_the_challenge_is_waited_for(
    texted, outbox
) -> None:
    challenge = verification.start_challenge(texted, "text:authentication", ChallengePurpose.API)
    held, release, found = threading.Event(), threading.Event(), []

    def hold_the_challenge() -> None:
        try:
            with transaction.atomic():
                Challenge.objects.select_for_update().get(pk=challenge.pk)
                held.set()
                release.wait(30)
        finally:
            connection.close()

    def answer() -> None:
        try:
            with transaction.atomic():
                found.append(
                    verification.lock_answered(
                        texted.organisation, texted.username, challenge.pk, ChallengePurpose.API
                    )
                )
        finally:
            connection.close()

    holder, answerer = threading.Thread(target=hold_the_challenge), threading.Thread(target=answer)
    holder.start()
    try:
        assert held.wait(30)
        assert _free(texted)  # the challenge alone is held
        answerer.start()
        deadline = time.monotonic() + 30
        while not someone_waits_for_a_lock() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _free(texted)  # the answer holds the user's row while it waits
    finally:
        release.set()
        holder.join(30)
        if answerer.ident is not None:  # started
            answerer.join(30)
    assert [each.pk for each in found] == [challenge.pk]
    assert found[0].user.pk == texted.pk
    assert _free(texted)
