"""Bearer tokens of API clients: unknown, malformed and revoked tokens get 401, a missing
scope 403, and every call names its client in the audit log (docs/security.md 22, 23, 26)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from twofold.api import clients
from twofold.api.models import ApiClient
from twofold.audit.models import AuditAction, AuditEvent, AuditResult

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"user": "nobody@contoso.example", "password": "wrong password"}


def test_a_call_without_a_token_is_refused_with_401_json(http) -> None:
    response = http.post("/validate/check", BODY, token=None)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "token",
    ["tf_abcdefghjk_" + "x" * 43, "not-a-token", "tf__", "tf_" + "a" * 300],
    ids=["unknown", "malformed", "empty parts", "too long"],
)
def test_an_unknown_or_malformed_token_is_refused_with_401(http, token) -> None:
    response = http.post("/validate/check", BODY, token=token)
    assert response.status_code == 401
    assert set(response.json()) == {"error", "message", "correlation_id"}


def test_another_clients_prefix_with_a_right_secret_is_refused(http, make_token) -> None:
    _tf, _prefix, secret = make_token("validate").split("_", 2)
    other_prefix = make_token("validate", name="Other").split("_")[1]
    response = http.post("/validate/check", BODY, token=f"tf_{other_prefix}_{secret}")
    assert response.status_code == 401


def test_a_revoked_token_is_refused_from_the_next_call_on(http, make_token, admin) -> None:
    token = make_token("validate")
    assert http.post("/validate/check", BODY, token=token).status_code == 200
    clients.revoke(ApiClient.objects.get(), actor=admin)
    response = http.post("/validate/check", BODY, token=token)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


def test_a_refused_revoked_token_is_audited_with_its_client(http, make_token, admin) -> None:
    token = make_token("validate", name="Old VPN")
    clients.revoke(ApiClient.objects.get(), actor=admin)
    http.post("/validate/check", BODY, token=token)
    event = AuditEvent.objects.filter(actor_label="api:Old VPN").get()
    assert (event.action, event.result) == (AuditAction.API_CALL, AuditResult.DENIED)
    assert event.details["reason"] == "revoked client"
    assert event.organisation_id == admin.organisation_id


def test_a_token_without_the_operations_scope_gets_403(http, make_token) -> None:
    token = make_token("users:read")
    response = http.post("/validate/check", BODY, token=token)
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    ("scope", "method", "path"),
    [
        ("validate", "GET", "/users"),
        ("users:read", "POST", "/users"),
        ("users:read", "DELETE", "/users/alice@contoso.example"),
        ("users:write", "POST", "/users/alice@contoso.example/unlock"),
        ("admin", "GET", "/users/alice@contoso.example"),
        ("admin", "POST", "/validate/challenges"),
    ],
)
def test_every_operation_needs_its_own_scope(http, make_token, user, scope, method, path) -> None:
    response = http.call(method, path, token=make_token(scope), json={})
    assert response.status_code == 403


def test_a_refused_scope_is_audited_with_the_client_as_actor(http, make_token) -> None:
    http.get("/users", token=make_token("validate", name="Mail relay"))
    event = AuditEvent.objects.get(actor_label="api:Mail relay")
    assert event.result == AuditResult.DENIED
    assert "users:read" in event.details["reason"]


def test_a_token_is_stored_only_as_the_digest_of_its_secret(make_token) -> None:
    token = make_token("validate")
    _tf, prefix, secret = token.split("_", 2)
    client = ApiClient.objects.get()
    assert client.prefix == prefix
    assert client.secret_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiClient.objects.values().get())


def test_the_secret_has_256_bits(make_token) -> None:
    secret = make_token("validate").split("_", 2)[2]
    assert len(secret) >= 43  # 32 bytes, URL-safe Base64


def test_a_call_notes_when_the_client_was_last_used(validator) -> None:
    assert ApiClient.objects.get().last_used_at is None
    validator.post("/validate/check", BODY)
    assert ApiClient.objects.get().last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(validator) -> None:
    validator.post("/validate/check", BODY)
    first = ApiClient.objects.get().last_used_at
    validator.post("/validate/check", BODY)
    assert ApiClient.objects.get().last_used_at == first
    ApiClient.objects.update(last_used_at=first - timedelta(minutes=2))
    validator.post("/validate/check", BODY)
    assert ApiClient.objects.get().last_used_at > first - timedelta(seconds=1)
    assert ApiClient.objects.get().last_used_at <= timezone.now()


def test_a_read_is_audited_with_its_client_too(http, make_token) -> None:
    token = make_token("users:read", name="Directory sync")
    assert http.get("/users", token=token).status_code == 200
    event = AuditEvent.objects.filter(actor_label="api:Directory sync").get()
    assert (event.action, event.result) == (AuditAction.API_CALL, AuditResult.SUCCESS)
    assert event.details["kind"] == "GET api/v1/users"
    assert "did" not in event.details
