"""How many SQL statements each /validate/check path costs (issue 20; BENCHMARKS.md).

Counted with Django's CaptureQueriesContext around one in-process call, on whichever
database the suite runs on (SQLite by default, PostgreSQL with DATABASE_URL): a count, not
a timing. The statements are printed when a count changes, so that a new one is seen
and either removed or the count raised with a reason. BEGIN and COMMIT are left
out: SQLite's driver issues BEGIN through Django's cursor, psycopg does not, and neither
shows COMMIT; what is counted (savepoints included) is the same on both, but for the
audit chain head's UPDATE, which PostgreSQL takes in the INSERT's statement.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import STRONG_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")

#: Statements per path on SQLite. Lower them as statements are cut; never raise one
#: without a reason.
CODE_FOR_A_TEXT_CHALLENGE = 6
CODE_FOR_AN_APP_CHALLENGE = 8
PASSWORD_AND_APP_CODE = 21
#: PostgreSQL moves the audit chain's head in the statement that inserts a call's events
#: (core.bulk ``along``): one statement fewer on each of these paths.
ON_POSTGRESQL = 1 if connection.vendor == "postgresql" else 0


def _post(token: str, path: str, body: dict) -> dict:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    answer = client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json")
    assert answer.status_code == 200, answer.content
    return answer.json()


def _counted(token: str, body: dict) -> tuple[dict, list[str]]:
    """The answer of one check, and the statements it ran (control statements left out)."""
    with CaptureQueriesContext(connection) as captured:
        answer = _post(token, "/validate/check", body)
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].strip().upper().startswith(_CONTROL)
    ]
    return answer, statements


def _shown(statements: list[str]) -> str:
    return f"{len(statements)} statements:\n" + "\n".join(
        f"{number:3}. {sql}" for number, sql in enumerate(statements, 1)
    )


def _app_challenge_answered(token: str, with_app, clock) -> dict:
    """The body of a check answering a challenge for the app's code, just started."""
    user = with_app.user.username
    started = _post(
        token,
        "/validate/challenges",
        {"user": user, "password": STRONG_PASSWORD, "method": "app_code"},
    )
    return {
        "user": user,
        "challenge_id": started["challenge_id"],
        "code": clock.code(with_app.secret),
    }


def test_a_code_for_a_text_challenge(make_token, texted, outbox) -> None:
    token = make_token("validate")
    started = _post(
        token, "/validate/challenges", {"user": texted.username, "password": STRONG_PASSWORD}
    )
    body = {
        "user": texted.username,
        "challenge_id": started["challenge_id"],
        "code": outbox.last_code(),
    }
    answer, statements = _counted(token, body)
    assert answer["result"] == "accept", answer
    assert len(statements) == CODE_FOR_A_TEXT_CHALLENGE - ON_POSTGRESQL, _shown(statements)


def test_a_code_for_an_app_challenge(make_token, with_app, clock) -> None:
    token = make_token("validate")
    body = _app_challenge_answered(token, with_app, clock)
    answer, statements = _counted(token, body)
    assert answer["result"] == "accept", answer
    assert len(statements) == CODE_FOR_AN_APP_CHALLENGE - ON_POSTGRESQL, _shown(statements)


def test_a_password_and_an_app_code(make_token, with_app, clock) -> None:
    token = make_token("validate")
    body = {
        "user": with_app.user.username,
        "password": STRONG_PASSWORD,
        "code": clock.code(with_app.secret),
    }
    answer, statements = _counted(token, body)
    assert answer["result"] == "accept", answer
    assert len(statements) == PASSWORD_AND_APP_CODE - ON_POSTGRESQL, _shown(statements)
    # One transaction: the password's, the decision's, the challenge's and the call's
    # events in one INSERT (docs/design.md, a check as one transaction).
    assert _audit_inserts(statements) == 1, _shown(statements)


def _audit_inserts(statements: list[str]) -> int:
    # On PostgreSQL the chain head's UPDATE comes first, in the same statement (core.bulk).
    return sum('INSERT INTO "audit_auditevent"' in sql for sql in statements)


def _events(correlation_id: str) -> list[tuple[str, str]]:
    from twofold.audit.models import AuditEvent

    found = AuditEvent.objects.filter(correlation_id=correlation_id).order_by("id")
    return list(found.values_list("action", "result"))


def _last_correlation_id() -> str:
    from twofold.audit.models import AuditEvent

    return str(AuditEvent.objects.latest("id").correlation_id)


def test_a_challenges_code_and_the_calls_event_are_one_insert_on_an_intact_chain(
    make_token, texted, outbox, organisation
) -> None:
    from twofold.audit import chain

    token = make_token("validate")
    started = _post(
        token, "/validate/challenges", {"user": texted.username, "password": STRONG_PASSWORD}
    )
    body = {"user": texted.username, "challenge_id": started["challenge_id"], "code": "000000"}
    if outbox.last_code() == "000000":
        body["code"] = "111111"
    answer, statements = _counted(token, body)
    assert answer["result"] == "reject", answer  # a wrong code: counted, audited, answered
    assert _audit_inserts(statements) == 1, _shown(statements)
    assert _events(_last_correlation_id()) == [
        ("challenge.verified", "failure"),
        ("api.call", "failure"),
    ]
    assert chain.verify(organisation.pk).ok


def test_an_unknown_challenge_is_refused_and_the_call_still_audited(make_token, texted) -> None:
    token = make_token("validate")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {"user": texted.username, "challenge_id": str(uuid.uuid4()), "code": "123456"}
    answer = client.post(
        "/api/v1/validate/check", json.dumps(body), content_type="application/json"
    )
    assert answer.status_code == 404, answer.content
    assert _events(_last_correlation_id()) == [("api.call", "denied")]


def _accepted_at_once(token: str, body: str) -> list[bool]:
    """Ten checks of ``body`` at once: which were accepted, sorted."""
    from conftest import at_once

    def answer() -> bool:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        reply = client.post("/api/v1/validate/check", body, content_type="application/json")
        assert reply.status_code == 200, reply.content
        return reply.json()["result"] == "accept"

    return sorted(at_once(answer))


def test_ten_answers_of_one_code_at_once_accept_once_on_an_intact_chain(
    make_token, with_app, clock, organisation
) -> None:
    """The one-transaction answer keeps the row lock (docs/security.md 7)."""
    from twofold.audit import chain

    token = make_token("validate")
    body = json.dumps(_app_challenge_answered(token, with_app, clock))

    assert _accepted_at_once(token, body) == [False] * 9 + [True]
    assert chain.verify(organisation.pk).ok


def test_ten_password_and_code_checks_at_once_accept_once_on_an_intact_chain(
    make_token, with_app, clock, organisation
) -> None:
    """The password's path as one transaction: the user's row is locked after the password
    is hashed and before any challenge is opened (the lock order, docs/design.md), so ten
    at once queue on it (no deadlock, no 500) and the code is accepted once."""
    from twofold.audit import chain

    token = make_token("validate")
    body = json.dumps(
        {
            "user": with_app.user.username,
            "password": STRONG_PASSWORD,
            "code": clock.code(with_app.secret),
        }
    )

    assert _accepted_at_once(token, body) == [False] * 9 + [True]
    assert chain.verify(organisation.pk).ok
