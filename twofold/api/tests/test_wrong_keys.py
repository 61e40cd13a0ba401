"""Encryption keys that open no stored secret (another installation's, or one taken out
before ``twofold rotate-keys`` finished with it) are the installation's fault: an outage,
503 and ``/readyz`` down, with nothing counted against anyone; never "wrong code", which
would lock every user out one by one (docs/security.md 35)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.methods import verification
from twofold.methods.authenticator.models import AuthenticatorDevice

pytestmark = pytest.mark.django_db(transaction=True)

BOB = "bob@contoso.example"


@pytest.fixture
def other_keys(settings):
    """Switches to keys of another installation; returns how to switch back."""
    ours = settings.TWOFOLD["encryption_keys"]

    def use(keys) -> None:
        settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": tuple(keys)}

    use([Fernet.generate_key().decode()])
    return lambda: use(ours)


def failures_counted(user) -> int:
    return verification._failures(user).count(str(user.pk))


def test_an_app_code_is_answered_503_and_counts_nothing(
    validator, with_app, clock, organisation, other_keys
) -> None:
    organisation.lockout_threshold = 2
    organisation.save()
    body = {"user": BOB, "password": STRONG_PASSWORD, "code": clock.code(with_app.secret)}
    for _attempt in range(3):  # more than the lockout threshold
        answer = validator.post("/validate/check", body)
        assert (answer.status_code, answer.json()["error"]) == (503, "temporarily_unavailable")
        assert int(answer.headers["Retry-After"]) > 0
    assert failures_counted(with_app.user) == 0
    refused = AuditEvent.objects.filter(
        action=AuditAction.CHALLENGE_VERIFIED, result=AuditResult.FAILURE
    )
    assert not refused.exists()
    other_keys()  # the operator puts the right keys back: the same code signs in
    answer = validator.post("/validate/check", body).json()
    assert (answer["result"], answer["reason"]) == ("accept", "second_factor")


def test_the_verification_page_answers_503_and_counts_nothing(with_app, clock, other_keys) -> None:
    browser = Client(raise_request_exception=False)  # answered as in production
    browser.post("/signin", {"username": BOB})
    browser.post("/signin/password", {"password": STRONG_PASSWORD})
    assert browser.get("/signin/verify").status_code == 200
    response = browser.post("/signin/verify", {"code": clock.code(with_app.secret)})
    assert response.status_code == 503
    assert "temporarily unavailable" in response.content.decode()
    assert failures_counted(with_app.user) == 0
    assert "_auth_user_id" not in browser.session


def test_readyz_says_the_keys_are_down(client, with_app, other_keys) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (
        503,
        {"status": "unavailable", "database": "ok", "cache": "ok", "encryption_keys": "down"},
    )
    other_keys()
    assert client.get("/readyz").json()["encryption_keys"] == "ok"


def test_readyz_finds_a_key_taken_out_too_soon_in_the_oldest_secret(
    client, with_app, make_user, clock, settings
) -> None:
    """The newest secret is under the new key, the oldest still under the one taken out."""
    from twofold.methods.authenticator import services as authenticator

    old = settings.TWOFOLD["encryption_keys"]
    new = Fernet.generate_key().decode()
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (new, *old)}
    carol = make_user("carol@contoso.example")
    secret = authenticator.new_secret()
    authenticator.add_device(carol, "Phone", secret, clock.code(secret, steps=-1))
    assert AuthenticatorDevice.objects.count() == 2
    assert client.get("/readyz").json()["encryption_keys"] == "ok"
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (new,)}  # taken out too soon
    assert client.get("/readyz").json()["encryption_keys"] == "down"
