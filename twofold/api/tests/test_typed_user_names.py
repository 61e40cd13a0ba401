"""A password typed into a user-name field is never stored (docs/security.md 31).

Each entry path that takes a user name gets a password instead; neither the audit events,
nor the audit page, nor its CSV export, nor any log line may then hold it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.accounts.names import NOT_A_USER_NAME, typed_user_name
from twofold.adminportal.tests.conftest import signed_in_admin
from twofold.audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

TYPED = "Horse-Battery-Staple-42"
# The same password, shaped like a user name of the organisation's domain.
TYPED_IN_DOMAIN = "Horse-Battery-Staple-42@contoso.example"


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_nowhere(secret: str, logs, admin_name: str = "admin@contoso.example") -> None:
    """Not in any audit event, the audit page, its CSV export, a session or a log line."""
    for event in AuditEvent.objects.all():
        stored = f"{event.actor_label} {event.subject_label} {event.details}"
        assert secret.lower() not in stored.lower(), event.action
    admin = signed_in_admin(admin_name)
    page = admin.get("/admin-portal/audit").content.decode()
    export = b"".join(admin.get("/admin-portal/audit.csv").streaming_content).decode()
    assert secret.lower() not in page.lower()
    assert secret.lower() not in export.lower()
    for session in Session.objects.all():
        assert secret.lower() not in f"{session.session_data} {session.get_decoded()}".lower()
    for record in logs.records:
        if record.name.startswith("urllib3"):
            continue  # the test's own HTTP client, not twofold
        assert secret.lower() not in f"{record.getMessage()} {record.__dict__}".lower()


@pytest.mark.parametrize("typed", [TYPED, TYPED_IN_DOMAIN])
def test_a_password_typed_as_user_in_validate_check_is_not_stored(
    validator, user, admin, logs, typed
) -> None:
    answer = validator.post("/validate/check", {"user": typed, "password": STRONG_PASSWORD})
    assert answer.json()["reason"] == "invalid_credentials"
    assert_nowhere(typed, logs)


@pytest.mark.parametrize("typed", [TYPED, TYPED_IN_DOMAIN])
def test_a_password_typed_as_user_in_start_challenge_is_not_stored(
    validator, user, admin, logs, typed
) -> None:
    answer = validator.post("/validate/challenges", {"user": typed, "password": STRONG_PASSWORD})
    assert answer.json()["reason"] == "invalid_credentials"
    assert_nowhere(typed, logs)


def test_the_validate_event_still_names_a_real_user(validator, user, admin) -> None:
    validator.post("/validate/check", {"user": " Alice@Contoso.Example", "password": "wrong"})
    event = AuditEvent.objects.filter(actor_label__startswith="api:").latest("id")
    assert event.subject_label == "alice@contoso.example"


@pytest.mark.parametrize("typed", [TYPED, TYPED_IN_DOMAIN])
def test_a_password_typed_as_the_user_of_a_users_call_is_not_stored(
    http, make_token, admin, logs, typed
) -> None:
    http.token = make_token("users:read", "users:write")
    path = f"/users/{quote(typed)}"
    assert http.get(path).status_code == 404
    assert http.patch(path, {"display_name": "x"}).status_code == 404
    assert http.delete(path).status_code == 404
    assert_nowhere(typed, logs)


@pytest.mark.parametrize("typed", [TYPED, "Horse-Battery-Staple-42@elsewhere.example"])
def test_a_password_sent_as_a_new_users_name_is_not_stored(
    http, make_token, admin, logs, typed
) -> None:
    http.token = make_token("users:read", "users:write")
    assert http.post("/users", {"username": typed}).status_code == 400
    assert_nowhere(typed, logs)


def test_a_created_user_is_still_named_in_the_call_event(http, make_token, admin) -> None:
    http.token = make_token("users:read", "users:write")
    assert http.post("/users", {"username": "dave@contoso.example"}).status_code == 201
    event = AuditEvent.objects.filter(actor_label__startswith="api:").latest("id")
    assert event.subject_label == "dave@contoso.example"


@pytest.mark.parametrize("action", ["unlock", "unblock", "restore-devices"])
def test_a_password_typed_as_the_user_of_an_admin_call_is_not_stored(
    http, make_token, admin, logs, action
) -> None:
    http.token = make_token("admin")
    assert http.post(f"/users/{quote(TYPED_IN_DOMAIN)}/{action}").status_code == 404
    assert_nowhere(TYPED_IN_DOMAIN, logs)


@pytest.mark.parametrize("typed", [TYPED, TYPED_IN_DOMAIN])
def test_a_password_typed_as_the_user_name_at_sign_in_is_not_stored(
    user, admin, logs, typed
) -> None:
    browser = Client()
    browser.post("/signin", {"username": typed})
    answer = browser.post("/signin/password", {"password": STRONG_PASSWORD})
    assert "Your user name or password is incorrect." in answer.content.decode()
    assert_nowhere(typed, logs)


def test_a_user_of_another_organisation_is_not_named_for_this_one(
    make_user, organisation, other_organisation
) -> None:
    make_user("fred@fabrikam.example", organisation=other_organisation)
    assert typed_user_name("fred@fabrikam.example", organisation) == NOT_A_USER_NAME


def test_a_user_name_is_kept_as_stored_whatever_its_case(user, organisation) -> None:
    assert typed_user_name(" ALICE@contoso.example ", organisation) == "alice@contoso.example"


@pytest.mark.parametrize("typed", [TYPED, TYPED_IN_DOMAIN])
def test_a_password_in_an_imported_user_name_column_is_not_stored(
    admin, organisation, logs, typed
) -> None:
    from twofold.administration.importing import import_users

    header = "user name,display name,e-mail,authentication phone,office phone,mfa state"
    rows = f"{header}\nbob@contoso.example,Bob,,,,disabled\n{typed}!,Someone,,,,disabled\n"
    report = import_users(organisation, rows.encode(), actor=admin)
    assert (len(report.created), len(report.refused)) == (1, 1)
    assert_nowhere(typed, logs)
