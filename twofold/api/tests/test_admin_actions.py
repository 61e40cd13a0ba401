"""/users/{username}/…: administrators' actions through the API (scope admin), the same
functions as the admin portal's, on the client's own organisation's users only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import STRONG_PASSWORD
from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditEvent
from twofold.methods import base, resets
from twofold.methods.app_passwords import services as app_passwords
from twofold.methods.app_passwords.models import AppPassword

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = "/users/alice@contoso.example"


@pytest.fixture
def operator(http, make_token):
    http.token = make_token("admin")
    return http


def test_reregistering_hands_back_the_one_time_access_code(operator, texted) -> None:
    response = operator.post(f"{ALICE}/reregister")
    assert response.status_code == 200
    body = response.json()
    texted.refresh_from_db()
    assert texted.must_reregister
    assert body["access_code"] == resets.access_code(texted.pk, texted.reregister_nonce)
    assert base.options_for(texted) == []


def test_reregistering_within_the_organisations_grace_needs_no_code(
    operator, texted, organisation
) -> None:
    organisation.reregistration_grace_days = 3
    organisation.save()
    body = operator.post(f"{ALICE}/reregister").json()
    assert body["access_code"] is None
    assert body["valid_until"] is not None


def test_reregistering_is_audited_with_the_client(operator, texted) -> None:
    operator.post(f"{ALICE}/reregister")
    assert AuditEvent.objects.filter(
        action=AuditAction.REREGISTRATION_REQUIRED, subject=texted
    ).exists()
    assert AuditEvent.objects.filter(actor_label__startswith="api:", subject=texted).exists()


@pytest.mark.parametrize(
    ("action", "body", "event"),
    [
        ("reregister", None, AuditAction.REREGISTRATION_REQUIRED),
        ("delete-app-passwords", None, AuditAction.APP_PASSWORDS_DELETED_BY_ADMIN),
        ("restore-devices", None, AuditAction.TRUSTED_DEVICES_FORGOTTEN),
        ("bypass", {"minutes": 5, "reason": "lost phone"}, AuditAction.BYPASS_GRANTED),
        ("unblock", None, AuditAction.USER_UNBLOCKED),
        ("unlock", None, AuditAction.USER_UNLOCKED),
    ],
)
def test_the_actions_own_event_names_the_client_as_its_actor(
    http, make_token, texted, organisation, action, body, event
) -> None:
    organisation.allow_app_passwords = True
    organisation.save()
    app_passwords.create(texted, "Mail")
    http.token = make_token("admin", name="Help desk")
    assert http.post(f"{ALICE}/{action}", body).status_code == 200
    written = AuditEvent.objects.get(action=event, subject=texted)
    assert (written.actor_id, written.actor_label) == (None, "api:Help desk")


def test_app_passwords_are_deleted(operator, texted, organisation) -> None:
    organisation.allow_app_passwords = True
    organisation.save()
    app_passwords.create(texted, "Mail")
    assert operator.post(f"{ALICE}/delete-app-passwords").status_code == 200
    assert not AppPassword.objects.exists()


def test_remembered_devices_are_forgotten(operator, texted) -> None:
    epoch = texted.trusted_device_epoch
    assert operator.post(f"{ALICE}/restore-devices").status_code == 200
    texted.refresh_from_db()
    assert texted.trusted_device_epoch == epoch + 1


def test_a_bypass_lets_the_next_check_skip_the_second_factor(
    operator, texted, http, make_token
) -> None:
    body = operator.post(f"{ALICE}/bypass", {"minutes": 5, "reason": "lost phone"}).json()
    assert body["bypass_until"] is not None
    answer = http.post(
        "/validate/check",
        {"user": "alice@contoso.example", "password": STRONG_PASSWORD},
        token=make_token("validate"),
    ).json()
    assert answer["reason"] == "one_time_bypass"


@pytest.mark.parametrize(
    "body",
    [
        {"minutes": 0, "reason": "x"},
        {"minutes": 61, "reason": "x"},
        {"minutes": "ten", "reason": "x"},
        {"minutes": 5},
        {"minutes": 5, "reason": ""},
    ],
    ids=["zero", "too long", "not a number", "no reason", "empty reason"],
)
def test_a_bypass_needs_1_to_60_minutes_and_a_reason(operator, texted, body) -> None:
    response = operator.post(f"{ALICE}/bypass", body)
    assert response.status_code == 400
    texted.refresh_from_db()
    assert texted.mfa_bypass_until is None


def test_a_blocked_user_is_unblocked(operator, texted) -> None:
    User.objects.filter(pk=texted.pk).update(is_blocked=True, blocked_reason="fraud")
    assert operator.post(f"{ALICE}/unblock").json()["is_blocked"] is False


def test_a_locked_second_factor_is_unlocked(operator, texted) -> None:
    User.objects.filter(pk=texted.pk).update(mfa_locked_until=timezone.now() + timedelta(hours=1))
    assert operator.post(f"{ALICE}/unlock").json()["locked_until"] is None
    texted.refresh_from_db()
    assert texted.mfa_locked_until is None


@pytest.mark.parametrize(
    "action", ["reregister", "delete-app-passwords", "restore-devices", "unblock", "unlock"]
)
def test_another_organisations_user_is_out_of_reach(
    operator, make_user, other_organisation, action
) -> None:
    fred = make_user("fred@fabrikam.example", organisation=other_organisation)
    User.objects.filter(pk=fred.pk).update(is_blocked=True)
    response = operator.post(f"/users/fred@fabrikam.example/{action}")
    assert response.status_code == 404
    fred.refresh_from_db()
    assert (fred.is_blocked, fred.must_reregister) == (True, False)


def test_a_client_without_the_admin_scope_cannot_act(http, make_token, texted) -> None:
    token = make_token("users:read", "users:write")
    response = http.post(f"{ALICE}/reregister", token=token)
    assert response.status_code == 403
    texted.refresh_from_db()
    assert not texted.must_reregister
