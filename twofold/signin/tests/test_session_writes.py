"""How often one whole browser sign-in writes its session, and reads what it already has
(issue 20; BENCHMARKS.md): counted as statements, as bench/signin_load.py signs in.

Six requests: the user-name page and its POST, the password page and its POST, the
verification page (which opens the app's challenge) and the POST of its code. A session
row is written with the first page (created, holding the passkey autofill's challenge,
which a request of the page's own once fetched: docs/design.md, "Sessions"), when the
user name is noted, when the password was right (the key cycled: the old row deleted, the
new one inserted) and at sign-in (cycled again).
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import STRONG_PASSWORD
from twofold.accounts.models import MfaState, User
from twofold.core import crypto
from twofold.methods import totp
from twofold.methods.authenticator import services as authenticator
from twofold.methods.testing import prove_with_previous_step

pytestmark = pytest.mark.django_db

_SESSION_WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM) "django_session"', re.I)
#: Session rows written by each of the six requests. Lower them; never raise one without
#: a reason. (The first page's write was the options request's, which a browser sends
#: as the page loads; the page holds the options now, and that request is gone.)
WRITES = {
    "GET /signin": 1,
    "POST /signin": 1,
    "GET /signin/password": 0,
    "POST /signin/password": 2,
    "GET /signin/verify": 0,
    "POST /signin/verify": 2,
}


@pytest.fixture
def with_app(make_user) -> tuple[User, bytes]:
    """Two-step verification enforced, the app preferred (as the benchmark's users)."""
    user = make_user("alice@contoso.example", mfa_state=MfaState.ENFORCED)
    secret = authenticator.new_secret()
    prove_with_previous_step(
        secret, lambda code: authenticator.add_device(user, "Phone", secret, code)
    )
    User.objects.filter(pk=user.pk).update(preferred_option="app_code")
    return user, secret


def _sign_in(client: Client, with_app: tuple[User, bytes]) -> dict[str, list[str]]:
    """The six requests of one sign-in, each with the statements it ran."""
    user, secret = with_app
    password = {"password": STRONG_PASSWORD}

    def code() -> str:
        return crypto.totp(secret, totp.clock())

    steps = (
        ("GET /signin", lambda: client.get("/signin")),
        ("POST /signin", lambda: client.post("/signin", {"username": user.username})),
        ("GET /signin/password", lambda: client.get("/signin/password")),
        ("POST /signin/password", lambda: client.post("/signin/password", password)),
        ("GET /signin/verify", lambda: client.get("/signin/verify")),
        ("POST /signin/verify", lambda: client.post("/signin/verify", {"code": code()})),
    )
    ran = {}
    for label, request in steps:
        with CaptureQueriesContext(connection) as captured:
            response = request()
        assert response.status_code in (200, 302), (label, response.status_code)
        ran[label] = [query["sql"] for query in captured.captured_queries]
    assert response["Location"] == "/account"
    return ran


def test_one_sign_in_writes_its_session_six_times(client, with_app) -> None:
    ran = _sign_in(client, with_app)
    writes = {label: [s for s in sql if _SESSION_WRITE.match(s)] for label, sql in ran.items()}
    assert {label: len(sql) for label, sql in writes.items()} == WRITES, writes


def test_the_verification_page_reads_the_pending_user_once(client, with_app) -> None:
    """The language middleware and the page both want the pending user: one read."""
    ran = _sign_in(client, with_app)
    reads = [s for s in ran["GET /signin/verify"] if re.match(r'SELECT .* FROM "accounts_user"', s)]
    assert len(reads) == 1, reads


def test_the_password_post_looks_the_organisation_up_once(client, with_app) -> None:
    ran = _sign_in(client, with_app)
    reads = [s for s in ran["POST /signin/password"] if '"organisations_organisationdomain"' in s]
    assert len(reads) == 1, reads


def test_the_code_page_reads_nothing_for_a_wait(client, with_app) -> None:
    """A push's number is read only for a page that waits for a push."""
    ran = _sign_in(client, with_app)
    reads = [s for s in ran["GET /signin/verify"] if '"authenticator_pushnotice"' in s]
    assert reads == []


def test_the_user_name_post_notes_the_organisation_reading_only_its_id(client, with_app) -> None:
    user, _secret = with_app
    with CaptureQueriesContext(connection) as captured:
        client.post("/signin", {"username": user.username})
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert len(reads) == 1, reads
    assert '"organisations_organisation"' not in reads[0]
    assert client.session.get("twofold.organisation") == user.organisation_id


def test_a_user_name_of_no_organisation_notes_none(client, with_app) -> None:
    client.post("/signin", {"username": "someone@elsewhere.example"})
    assert "twofold.organisation" not in client.session
