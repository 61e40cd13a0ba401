"""Push approvals with number matching: activation, signed polling, signed decisions,
MFA-fatigue caps, deleted devices and audit events (docs/security.md 11, 12, 23)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.core import context
from twofold.methods import base, totp, verification
from twofold.methods.authenticator import actions as authenticator_actions
from twofold.methods.authenticator import activation, kinds, push, services
from twofold.methods.authenticator.models import ActivationCode, AuthenticatorDevice
from twofold.methods.authenticator.tests.phone_app import DECISIONS, PENDING, PhoneApp
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone(client, user) -> PhoneApp:
    """Alice's phone, activated through a link issued as the settings page issues it."""
    app = PhoneApp()
    _issued, code = activation.issue(user)
    assert app.activate(client, code).status_code == 200
    return app


@pytest.fixture
def pushed(phone, user) -> Challenge:
    """A sign-in waiting for Alice's answer on her phone, started from 127.0.0.1."""
    token = context.activate(context.RequestContext(client_address="127.0.0.1"))
    try:
        return verification.start_challenge(user, push.APP_NOTIFICATION, ChallengePurpose.SIGNIN)
    finally:
        context.deactivate(token)


def number_of(challenge: Challenge) -> str:
    return push.number_for(challenge)


def state_of(challenge: Challenge) -> str:
    challenge.refresh_from_db()
    return challenge.state


def other_number(number: str) -> str:
    return "10" if number != "10" else "11"


class TestActivation:
    def test_an_activation_adds_a_device_that_holds_only_the_public_key(self, phone, user) -> None:
        device = AuthenticatorDevice.objects.get(pk=phone.device)
        assert services.crypto.decrypt(device.public_key) == phone.point
        assert phone.public_key not in device.public_key  # encrypted at rest
        assert (device.platform, device.name) == ("Android", "Pixel")
        assert services.check_code(user, services.crypto.totp(phone.secret, totp.clock()))

    def test_an_activation_code_works_once(self, client, user) -> None:
        _issued, code = activation.issue(user)
        assert PhoneApp().activate(client, code).status_code == 200
        again = PhoneApp().activate(client, code)
        assert (again.status_code, again.json()["error"]) == (400, "activation_refused")

    def test_an_expired_activation_code_is_refused(self, client, user) -> None:
        issued, code = activation.issue(user)
        ActivationCode.objects.filter(pk=issued.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        assert PhoneApp().activate(client, code).status_code == 400
        assert not AuthenticatorDevice.objects.filter(user=user).exists()

    def test_a_key_that_is_not_a_p256_point_is_refused(self, client, user) -> None:
        _issued, code = activation.issue(user)
        body = {"code": code, "public_key": "bm90IGEga2V5", "name": "x", "platform": "x"}
        answer = client.post("/authenticator/api/activate", body, content_type="application/json")
        assert answer.status_code == 400
        assert not AuthenticatorDevice.objects.filter(user=user).exists()

    def test_malformed_json_is_a_clear_400(self, client) -> None:
        answer = client.post(
            "/authenticator/api/activate", "{nope", content_type="application/json"
        )
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_input")

    def test_a_new_code_makes_the_previous_one_useless(self, client, user) -> None:
        _first, old = activation.issue(user)
        activation.issue(user)
        assert PhoneApp().activate(client, old).status_code == 400

    def test_activating_is_audited_without_the_code(self, client, user) -> None:
        _issued, code = activation.issue(user)
        PhoneApp().activate(client, code)
        added = AuditEvent.objects.get(action=authenticator_actions.ADDED)
        assert added.details["kind"] == "push"
        assert code not in json.dumps([e.details for e in AuditEvent.objects.all()])

    def test_notify_me_through_the_app_is_offered_once_activated(self, phone, user) -> None:
        assert base.preferred_option(user).key == push.APP_NOTIFICATION
        assert push.APP_NOTIFICATION in dict(base.catalogue_for(user))

    def test_an_organisation_without_notifications_cannot_activate(self, user) -> None:
        organisation = user.organisation
        organisation.allowed_methods = [kinds.APP_CODE]
        organisation.save()
        with pytest.raises(services.NotAllowed):
            activation.issue(user)


class TestPolling:
    def test_a_signed_poll_shows_the_request_but_never_its_number(
        self, client, phone, pushed
    ) -> None:
        answer = phone.poll(client)
        assert answer.status_code == 200
        (request,) = answer.json()["requests"]
        assert request["id"] == str(pushed.pk)
        assert request["application"] == "twofold"
        assert request["address"] == "127.0.0.1"
        # Exactly what the app shows; the number is only on the sign-in screen.
        assert set(request) == {
            "id",
            "organisation",
            "user",
            "application",
            "address",
            "time",
            "expires_at",
        }
        assert number_of(pushed) not in request.values()

    def test_a_replayed_poll_is_refused(self, client, phone, pushed) -> None:
        headers = phone.poll_headers()
        assert client.get(PENDING, **headers).status_code == 200
        assert client.get(PENDING, **headers).status_code == 401

    def test_a_poll_signed_by_another_key_is_refused(self, client, phone, pushed) -> None:
        stranger = PhoneApp()
        stranger.device = phone.device
        answer = stranger.poll(client)
        assert (answer.status_code, answer.json()["error"]) == (401, "bad_signature")
        assert AuditEvent.objects.filter(
            action=authenticator_actions.REQUEST_REFUSED, result=AuditResult.DENIED
        ).exists()

    def test_a_device_key_no_configured_key_opens_is_an_outage_not_a_forgery(
        self, client, phone, pushed, settings
    ) -> None:
        """Another installation's keys: the app hears "try again soon", and nothing is
        refused or audited as a forged request."""
        settings.TWOFOLD = {
            **settings.TWOFOLD,
            "encryption_keys": (Fernet.generate_key().decode(),),
        }
        answer = phone.poll(client)
        assert (answer.status_code, answer.json()["error"]) == (503, "temporarily_unavailable")
        decided = phone.decide(client, pushed.pk, "approve", number_of(pushed))
        assert decided.status_code == 503
        assert state_of(pushed) == ChallengeState.PENDING
        assert not AuditEvent.objects.filter(action=authenticator_actions.REQUEST_REFUSED).exists()

    def test_a_flood_of_forged_polls_is_refused_but_audited_only_so_often(
        self, client, phone, pushed
    ) -> None:
        stranger = PhoneApp()
        stranger.device = phone.device
        answers = [stranger.poll(client).status_code for _ in range(35)]
        assert set(answers) == {401}
        refused = AuditEvent.objects.filter(action=authenticator_actions.REQUEST_REFUSED)
        assert refused.count() == 30

    def test_a_stale_poll_is_refused_and_told_the_server_time(self, client, phone) -> None:
        asked_at = push.now()
        answer = phone.poll(client, time=asked_at - push.CLOCK_SKEW - 30)
        assert answer.status_code == 401
        assert asked_at <= answer.json()["server_time"] <= push.now()

    def test_a_poll_without_headers_is_a_clear_400(self, client) -> None:
        assert client.get(PENDING).status_code == 400

    def test_a_deleted_device_is_told_it_was_removed(self, client, phone, user) -> None:
        services.delete_device(user, phone.device)
        answer = phone.poll(client)
        assert answer.status_code == 410
        assert answer.json()["message"] == (
            "This account was removed from your organisation's records."
        )


class TestDecisions:
    def test_approving_with_the_right_number_approves_the_sign_in(
        self, client, phone, pushed
    ) -> None:
        answer = phone.decide(client, pushed.pk, "approve", number_of(pushed))
        assert (answer.status_code, answer.json()["state"]) == (200, "approved")
        assert state_of(pushed) == ChallengeState.APPROVED
        assert AuditEvent.objects.filter(
            action=AuditAction.CHALLENGE_VERIFIED, result=AuditResult.SUCCESS
        ).exists()

    def test_a_wrong_number_denies_and_counts_as_a_failure(
        self, client, phone, pushed, user
    ) -> None:
        answer = phone.decide(client, pushed.pk, "approve", other_number(number_of(pushed)))
        assert (answer.status_code, answer.json()["error"]) == (400, "wrong_number")
        assert state_of(pushed) == ChallengeState.DENIED
        assert AuditEvent.objects.filter(
            action=AuditAction.CHALLENGE_VERIFIED, result=AuditResult.FAILURE
        ).exists()

    def test_wrong_numbers_lock_the_second_factor(self, client, phone, user) -> None:
        organisation = user.organisation
        organisation.lockout_threshold = 2
        organisation.save()
        for _attempt in range(2):
            challenge = verification.start_challenge(
                user, push.APP_NOTIFICATION, ChallengePurpose.SIGNIN
            )
            phone.decide(client, challenge.pk, "approve", other_number(number_of(challenge)))
        user.refresh_from_db()
        assert verification.locked_until(user) is not None

    def test_denying_denies(self, client, phone, pushed) -> None:
        assert phone.decide(client, pushed.pk, "deny").json()["state"] == "denied"
        assert state_of(pushed) == ChallengeState.DENIED

    def test_reporting_fraud_blocks_the_user(self, client, phone, pushed, user) -> None:
        assert phone.decide(client, pushed.pk, "fraud").json()["state"] == "fraud"
        user.refresh_from_db()
        assert user.is_blocked
        assert AuditEvent.objects.filter(action=AuditAction.FRAUD_REPORTED).exists()

    def test_a_fraud_report_from_the_app_raises_a_warning_alert(
        self, client, phone, pushed, user, caplog
    ) -> None:
        with caplog.at_level(logging.INFO, logger="twofold.alerts"):
            phone.decide(client, pushed.pk, "fraud")
        (alert,) = [r for r in caplog.records if r.name == "twofold.alerts"]
        assert (alert.levelno, alert.event, alert.user_id) == (
            logging.WARNING,
            "fraud_reported",
            user.pk,
        )
        assert (alert.method, alert.method_kind) == ("app_notification", "app_notification")
        event = AuditEvent.objects.get(action=AuditAction.FRAUD_REPORTED)
        assert event.details["severity"] == "high"

    def test_a_decision_signed_by_another_key_is_refused(self, client, phone, pushed) -> None:
        stranger = PhoneApp()
        stranger.device = phone.device
        answer = stranger.decide(client, pushed.pk, "approve", number_of(pushed))
        assert answer.status_code == 401
        assert state_of(pushed) == ChallengeState.PENDING

    def test_a_tampered_number_breaks_the_signature(self, client, phone, pushed) -> None:
        body = phone.decision(pushed.pk, "approve", other_number(number_of(pushed)))
        body["number"] = number_of(pushed)
        assert phone.send(client, body).status_code == 401
        assert state_of(pushed) == ChallengeState.PENDING

    def test_a_tampered_decision_breaks_the_signature(self, client, phone, pushed) -> None:
        body = phone.decision(pushed.pk, "deny")
        body["decision"] = "approve"
        assert phone.send(client, body).status_code == 401

    def test_a_replayed_decision_changes_nothing(self, client, phone, pushed, user) -> None:
        body = phone.decision(pushed.pk, "deny")
        assert phone.send(client, body).status_code == 200
        later = verification.start_challenge(user, push.APP_NOTIFICATION, ChallengePurpose.SIGNIN)
        replay = phone.send(client, body)
        assert (replay.status_code, replay.json()["error"]) == (400, "expired")
        assert state_of(later) == ChallengeState.PENDING

    def test_a_signed_poll_cannot_be_used_as_a_decision(self, client, phone, pushed) -> None:
        headers = phone.poll_headers()
        body = phone.decision(pushed.pk, "approve", number_of(pushed))
        body["signature"] = headers["HTTP_X_TWOFOLD_SIGNATURE"]
        assert phone.send(client, body).status_code == 401

    def test_an_expired_push_cannot_be_approved(self, client, phone, pushed) -> None:
        Challenge.objects.filter(pk=pushed.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        answer = phone.decide(client, pushed.pk, "approve", number_of(pushed))
        assert (answer.status_code, answer.json()["error"]) == (400, "expired")
        assert state_of(pushed) == ChallengeState.EXPIRED

    def test_a_push_lasts_ninety_seconds(self, pushed) -> None:
        assert pushed.expires_at - pushed.created_at == timedelta(seconds=90)

    def test_a_stale_decision_is_refused(self, client, phone, pushed) -> None:
        answer = phone.decide(
            client, pushed.pk, "approve", number_of(pushed), time=push.now() - 600
        )
        assert answer.status_code == 401
        assert state_of(pushed) == ChallengeState.PENDING

    def test_a_deleted_device_cannot_approve(self, client, phone, pushed, user) -> None:
        body = phone.decision(pushed.pk, "approve", number_of(pushed))
        services.delete_device(user, phone.device)
        answer = phone.send(client, body)
        assert (answer.status_code, answer.json()["error"]) == (410, "device_removed")
        assert state_of(pushed) == ChallengeState.PENDING

    def test_another_users_push_is_not_found(self, client, phone, make_user) -> None:
        bob = make_user("bob@contoso.example")
        bobs_phone = PhoneApp()
        _issued, code = activation.issue(bob)
        bobs_phone.activate(client, code)
        bobs = verification.start_challenge(bob, push.APP_NOTIFICATION, ChallengePurpose.SIGNIN)
        answer = phone.decide(client, bobs.pk, "approve", number_of(bobs))
        assert answer.status_code == 404
        assert state_of(bobs) == ChallengeState.PENDING

    def test_nonsense_is_a_clear_400(self, client, phone) -> None:
        for body in ([], {"decision": "maybe"}, {"decision": "deny", "challenge": "x"}):
            answer = client.post(DECISIONS, json.dumps(body), content_type="application/json")
            assert answer.status_code == 400


class TestFatigue:
    def test_one_pending_push_per_user(self, pushed, user) -> None:
        with pytest.raises(push.PushPending):
            verification.start_challenge(user, push.APP_NOTIFICATION, ChallengePurpose.STEP_UP)
        assert state_of(pushed) == ChallengeState.PENDING

    def test_pushes_are_capped_per_hour(self, client, phone, user, settings) -> None:
        settings.TWOFOLD = {**settings.TWOFOLD, "pushes_per_user_per_hour": 2}
        for _push in range(2):
            challenge = verification.start_challenge(
                user, push.APP_NOTIFICATION, ChallengePurpose.SIGNIN
            )
            phone.decide(client, challenge.pk, "deny")
        with pytest.raises(verification.RateLimited):
            verification.start_challenge(user, push.APP_NOTIFICATION, ChallengePurpose.SIGNIN)
        assert AuditEvent.objects.filter(
            action=AuditAction.CHALLENGE_STARTED, result=AuditResult.DENIED
        ).exists()

    def test_no_push_while_the_second_factor_is_locked(self, phone, user) -> None:
        user.mfa_locked_until = timezone.now() + timedelta(minutes=5)
        user.save()
        with pytest.raises(verification.SecondFactorLocked):
            verification.start_challenge(user, push.APP_NOTIFICATION, ChallengePurpose.SIGNIN)
        assert not Challenge.objects.filter(option=push.APP_NOTIFICATION).exists()

    def test_an_approval_after_a_lock_is_denied(self, client, phone, pushed, user) -> None:
        user.mfa_locked_until = timezone.now() + timedelta(minutes=5)
        user.save()
        answer = phone.decide(client, pushed.pk, "approve", number_of(pushed))
        assert answer.json()["state"] == "denied"
