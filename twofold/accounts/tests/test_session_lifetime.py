import re
import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import STRONG_PASSWORD
from twofold.accounts.middleware import LIFETIME, SEEN
from twofold.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db

_SESSION_WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM) "django_session"', re.I)


@pytest.fixture
def session_of(client, user):
    client.post("/signin", {"username": user.username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    return client


def _age(client, *, started_ago: int = 0, seen_ago: int = 0) -> None:
    session = client.session
    _started, idle, absolute = session[LIFETIME]
    now = int(time.time())
    session[LIFETIME] = (now - started_ago, idle, absolute)
    session[SEEN] = now - seen_ago
    session.save()


def test_the_limits_come_from_the_organisation(session_of, organisation) -> None:
    _started, idle, absolute = session_of.session[LIFETIME]
    assert (idle, absolute) == (30 * 60, 12 * 3600)


def test_an_active_session_stays_signed_in(session_of) -> None:
    _age(session_of, started_ago=3600, seen_ago=120)
    assert session_of.get("/account").status_code == 200


def test_thirty_idle_minutes_sign_the_user_out(session_of) -> None:
    _age(session_of, started_ago=3600, seen_ago=30 * 60 + 1)
    assert session_of.get("/account")["Location"].startswith("/signin")
    event = AuditEvent.objects.get(action=AuditAction.SESSION_EXPIRED)
    assert event.details["reason"] == "inactivity"


def test_twelve_hours_sign_the_user_out_however_active(session_of) -> None:
    _age(session_of, started_ago=12 * 3600 + 1, seen_ago=5)
    assert session_of.get("/account")["Location"].startswith("/signin")
    event = AuditEvent.objects.get(action=AuditAction.SESSION_EXPIRED)
    assert event.details["reason"] == "absolute lifetime"


def test_activity_is_noted_at_most_once_a_minute(session_of) -> None:
    _age(session_of, seen_ago=10)
    before = session_of.session[SEEN]
    session_of.get("/account")
    assert session_of.session[SEEN] == before
    _age(session_of, seen_ago=61)
    session_of.get("/account")
    assert session_of.session[SEEN] >= int(time.time()) - 2


#: What a page polls by itself: a waiting page, the app's activation page.
POLLS = (
    "/challenges/00000000-0000-4000-8000-000000000000/status",
    "/account/security-verification/authenticator/activate/status",
)


@pytest.mark.parametrize("poll", POLLS)
def test_a_poll_is_not_activity_and_writes_no_session(session_of, poll) -> None:
    """Saved once a minute by a poll, the session could undo what the person's own request,
    answered in between, had kept there (docs/design.md, "Sessions")."""
    _age(session_of, seen_ago=61)
    before = session_of.session[SEEN]
    with CaptureQueriesContext(connection) as ran:
        assert session_of.get(poll).status_code in (200, 404)
    written = [q["sql"] for q in ran.captured_queries if _SESSION_WRITE.match(q["sql"])]
    assert written == []
    assert session_of.session[SEEN] == before
    session_of.get("/account")  # the person's own request: noted
    assert session_of.session[SEEN] > before


@pytest.mark.parametrize("poll", POLLS)
def test_a_poll_still_ends_an_idle_session(session_of, poll) -> None:
    _age(session_of, started_ago=3600, seen_ago=30 * 60 + 1)
    session_of.get(poll)
    event = AuditEvent.objects.get(action=AuditAction.SESSION_EXPIRED)  # by the poll
    assert event.details["reason"] == "inactivity"
    assert SESSION_KEY not in session_of.session
