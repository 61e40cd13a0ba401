import time

import pytest

from conftest import STRONG_PASSWORD
from twofold.accounts.middleware import LIFETIME, SEEN
from twofold.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


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
