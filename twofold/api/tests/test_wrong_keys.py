"""Encryption keys that open no stored secret (another installation's, or one taken out
before ``twofold rotate-keys`` finished with it) are the installation's fault: an outage,
503 and ``/readyz`` down, with nothing counted against anyone; never "wrong code", which
would lock every user out one by one (docs/security.md 35)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test import Client
from prometheus_client import REGISTRY

from conftest import STRONG_PASSWORD
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.methods import verification
from twofold.methods.authenticator.models import AuthenticatorDevice
from twofold.methods.authenticator.services import base32 as authenticator_base32

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


def outages_counted() -> float:
    labels = {"dependency": "encryption_keys"}
    return REGISTRY.get_sample_value("twofold_dependency_errors_total", labels) or 0.0


def test_an_app_code_is_answered_503_and_counts_nothing(
    validator, with_app, clock, organisation, other_keys
) -> None:
    organisation.lockout_threshold = 2
    organisation.save()
    body = {"user": BOB, "password": STRONG_PASSWORD, "code": clock.code(with_app.secret)}
    before = outages_counted()
    for _attempt in range(3):  # more than the lockout threshold
        answer = validator.post("/validate/check", body)
        assert (answer.status_code, answer.json()["error"]) == (503, "temporarily_unavailable")
        assert int(answer.headers["Retry-After"]) > 0
    assert failures_counted(with_app.user) == 0
    assert outages_counted() == before + 3  # the operator's metric names the keys
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


def test_readyz_asks_the_newest_secret_of_each_column(
    client, with_app, make_user, clock, settings
) -> None:
    """An old secret only a retired key opens fails its own user's checks (503), but does
    not take the server out; keys that cannot open the newest one do."""
    from twofold.methods.authenticator import services as authenticator

    old = settings.TWOFOLD["encryption_keys"]
    new = Fernet.generate_key().decode()
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (new, *old)}
    carol = make_user("carol@contoso.example")
    secret = authenticator.new_secret()
    authenticator.add_device(carol, "Phone", secret, clock.code(secret, steps=-1))
    assert AuthenticatorDevice.objects.count() == 2
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (new,)}  # the old one retired
    assert client.get("/readyz").json()["encryption_keys"] == "ok"
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": old}  # the new one lost
    assert client.get("/readyz").json()["encryption_keys"] == "down"


def test_one_device_no_key_opens_leaves_the_others_working(
    validator, with_app, clock, make_user, settings
) -> None:
    """Bob's old phone was set up under a key since taken out, his new one under the new
    key: the new phone's codes still sign him in; the old phone's get a 503, not "wrong"."""
    from twofold.methods.authenticator import services as authenticator

    old = settings.TWOFOLD["encryption_keys"]
    new = Fernet.generate_key().decode()
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (new, *old)}
    secret = authenticator.new_secret()
    authenticator.add_device(with_app.user, "New phone", secret, clock.code(secret, steps=-1))
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (new,)}  # taken out too soon

    def check(code: str):
        return validator.post(
            "/validate/check", {"user": BOB, "password": STRONG_PASSWORD, "code": code}
        )

    assert check(clock.code(with_app.secret)).status_code == 503
    answer = check(clock.code(secret)).json()
    assert (answer["result"], answer["reason"]) == ("accept", "second_factor")
    assert failures_counted(with_app.user) == 0


def test_the_log_names_the_unreadable_secrets_row_never_the_secret(
    with_app, clock, other_keys, caplog
) -> None:
    device = AuthenticatorDevice.objects.get(user=with_app.user)
    browser = Client(raise_request_exception=False)
    browser.post("/signin", {"username": BOB})
    browser.post("/signin/password", {"password": STRONG_PASSWORD})
    with caplog.at_level("ERROR", logger="twofold.core.crypto"):
        browser.post("/signin/verify", {"code": clock.code(with_app.secret)})
    (line,) = [r for r in caplog.records if r.name == "twofold.core.crypto"]
    assert line.secret == f"authenticator.AuthenticatorDevice {device.pk}"
    logged = caplog.text + repr(vars(line))
    for secret in (device.secret, with_app.secret.hex(), authenticator_base32(with_app.secret)):
        assert secret not in logged
