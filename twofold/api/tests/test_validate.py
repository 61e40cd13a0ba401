"""/validate/check: the browser's sign-in rules, limits, lockout, replay and audit, for
applications (docs/security.md 5-9, 15, 21, 22, 23)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conftest import AUTH_NUMBER, STRONG_PASSWORD
from twofold.accounts import services as accounts
from twofold.accounts.models import MfaState, User
from twofold.administration import services as admin_services
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.methods import verification
from twofold.methods.app_passwords import actions as app_password_actions
from twofold.methods.app_passwords import services as app_passwords
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = "alice@contoso.example"


def check(http, user: str = ALICE, password: str | None = STRONG_PASSWORD, **fields):
    body = {"user": user, **fields}
    if password is not None:
        body["password"] = password
    return http.post("/validate/check", body)


def call_event(**filters) -> AuditEvent:
    """The event the call left with the client as its actor."""
    return AuditEvent.objects.filter(actor_label__startswith="api:", **filters).latest("id")


def limit_password_attempts(settings, per_user: int) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "signin_attempts_per_user": per_user}


class TestPassword:
    def test_a_user_without_two_step_verification_is_accepted_on_the_password(
        self, validator, user
    ) -> None:
        answer = check(validator)
        assert answer.status_code == 200
        assert answer.json()["result"] == "accept"
        assert answer.json()["reason"] == "two_step_verification_off"

    def test_the_organisations_requirement_overrides_a_disabled_state(
        self, validator, user, organisation
    ) -> None:
        organisation.require_mfa = True
        organisation.save()
        answer = check(validator).json()
        assert (answer["result"], answer["reason"]) == ("reject", "registration_required")

    def test_an_administrator_whose_stored_state_was_lowered_is_not_accepted_on_the_password(
        self, validator, admin
    ) -> None:
        accounts.set_mfa_state(User.objects.filter(pk=admin.pk), MfaState.DISABLED, actor=None)
        answer = check(validator, user=admin.username).json()
        assert (answer["result"], answer["reason"]) == ("reject", "registration_required")

    def test_a_wrong_password_is_a_decided_reject(self, validator, user) -> None:
        answer = check(validator, password="not the password")
        assert answer.status_code == 200
        assert answer.json()["result"] == "reject"
        assert answer.json()["reason"] == "invalid_credentials"

    def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(
        self, validator, user
    ) -> None:
        wrong = check(validator, password="not the password").json()
        unknown = check(validator, user="nobody@contoso.example").json()
        assert unknown == wrong

    def test_another_organisations_user_is_rejected_like_an_unknown_one(
        self, validator, make_user, other_organisation
    ) -> None:
        make_user("fred@fabrikam.example", organisation=other_organisation)
        answer = check(validator, user="fred@fabrikam.example").json()
        assert answer == check(validator, user="nobody@contoso.example").json()
        assert not AuditEvent.objects.filter(
            subject_label="fred@fabrikam.example", action=AuditAction.SIGNIN_PASSWORD
        ).exists()

    def test_a_blocked_user_is_rejected_like_a_wrong_password(self, validator, user) -> None:
        User.objects.filter(pk=user.pk).update(is_blocked=True)
        assert check(validator).json()["reason"] == "invalid_credentials"

    def test_the_password_check_is_audited_as_in_the_browser(self, validator, user) -> None:
        check(validator, password="not the password")
        event = AuditEvent.objects.filter(action=AuditAction.SIGNIN_PASSWORD).latest("id")
        assert (event.result, event.subject_id) == (AuditResult.FAILURE, user.pk)

    def test_the_call_is_audited_with_the_client_as_actor(self, validator, user) -> None:
        answer = check(validator)
        event = call_event(subject=user)
        assert event.actor_label.startswith("api:App")
        assert event.details["via"] == "two-step verification off"
        assert event.correlation_id == answer.headers["X-Correlation-ID"]

    def test_wrong_passwords_count_against_the_users_limit_then_429(
        self, validator, user, settings
    ) -> None:
        limit_password_attempts(settings, 3)
        for _attempt in range(3):
            assert check(validator, password="wrong").status_code == 200
        refused = check(validator)
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) > 0

    def test_the_limit_is_shared_with_the_browser_sign_in(self, validator, user, settings) -> None:
        limit_password_attempts(settings, 3)
        browser = Client()
        for _attempt in range(2):
            browser.post("/signin", {"username": ALICE})
            browser.post("/signin/password", {"password": "wrong"})
        assert check(validator, password="wrong").status_code == 200
        assert check(validator).status_code == 429


class TestAppCodes:
    def test_a_password_and_an_app_code_are_accepted_in_one_call(
        self, validator, with_app, clock
    ) -> None:
        answer = check(validator, "bob@contoso.example", code=clock.code(with_app.secret)).json()
        assert (answer["result"], answer["reason"]) == ("accept", "second_factor")

    def test_the_same_app_code_is_refused_the_second_time(self, validator, with_app, clock) -> None:
        code = clock.code(with_app.secret)
        check(validator, "bob@contoso.example", code=code)
        answer = check(validator, "bob@contoso.example", code=code).json()
        assert (answer["result"], answer["reason"]) == ("reject", "wrong_code")

    def test_a_code_two_steps_old_is_refused(self, validator, with_app, clock) -> None:
        answer = check(validator, "bob@contoso.example", code=clock.code(with_app.secret, -2))
        assert answer.json()["reason"] == "wrong_code"

    @pytest.mark.parametrize("code", ["", "12345", "abcdef", "1234567"])
    def test_malformed_codes_are_rejected_and_counted(self, validator, with_app, code) -> None:
        answer = check(validator, "bob@contoso.example", code=code).json()
        assert answer["reason"] == "wrong_code"
        assert AuditEvent.objects.filter(
            action=AuditAction.CHALLENGE_VERIFIED, result=AuditResult.FAILURE
        ).exists()

    def test_wrong_codes_lock_the_second_factor_and_then_a_right_one_is_refused(
        self, validator, with_app, clock, organisation
    ) -> None:
        organisation.lockout_threshold = 2
        organisation.save()
        check(validator, "bob@contoso.example", code="000000")
        locked = check(validator, "bob@contoso.example", code="000001")
        assert locked.status_code == 429
        assert locked.json()["error"] == "locked"
        right = check(validator, "bob@contoso.example", code=clock.code(with_app.secret))
        assert right.status_code == 429
        assert right.json()["error"] == "locked"

    def test_the_verification_is_audited_as_in_the_browser(
        self, validator, with_app, clock
    ) -> None:
        check(validator, "bob@contoso.example", code=clock.code(with_app.secret))
        event = AuditEvent.objects.filter(action=AuditAction.CHALLENGE_VERIFIED).latest("id")
        assert (event.result, event.details["via"]) == (AuditResult.SUCCESS, ChallengePurpose.API)

    def test_without_a_code_an_app_only_user_is_asked_for_one(self, validator, with_app) -> None:
        answer = check(validator, "bob@contoso.example").json()
        assert (answer["result"], answer["reason"]) == ("reject", "code_required")

    def test_a_code_for_a_method_that_sends_codes_needs_its_challenge(
        self, validator, texted
    ) -> None:
        response = check(validator, code="123456", method="text:authentication")
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_input"

    def test_a_code_for_a_user_with_texts_only_is_rejected(self, validator, texted) -> None:
        assert check(validator, code="123456").json()["reason"] == "no_code_method"


class TestTexts:
    def test_without_a_code_the_preferred_text_is_sent_and_a_challenge_returned(
        self, validator, texted, outbox
    ) -> None:
        answer = check(validator).json()
        assert answer["result"] == "challenge"
        assert (answer["kind"], answer["interaction"]) == ("text", "code")
        assert AUTH_NUMBER[-2:] in answer["prompt"]
        assert AUTH_NUMBER[2:-2] not in answer["prompt"]  # masked
        assert len(outbox.texts()) == 1
        challenge = Challenge.objects.get(pk=answer["challenge_id"])
        assert challenge.purpose == ChallengePurpose.API

    def test_a_text_gateway_that_is_down_is_a_503_and_leaves_no_open_challenge(
        self, validator, texted, gateway_down
    ) -> None:
        response = check(validator)
        assert (response.status_code, response.json()["error"]) == (503, "delivery_failed")
        assert not Challenge.objects.filter(state=ChallengeState.PENDING).exists()

    def test_the_texted_code_answers_the_challenge_without_the_password_again(
        self, validator, texted, outbox
    ) -> None:
        started = check(validator).json()
        answer = check(
            validator, password=None, challenge_id=started["challenge_id"], code=outbox.last_code()
        ).json()
        assert (answer["result"], answer["reason"]) == ("accept", "second_factor")

    def test_a_texted_code_is_accepted_once(self, validator, texted, outbox) -> None:
        started = check(validator).json()
        code = outbox.last_code()
        check(validator, password=None, challenge_id=started["challenge_id"], code=code)
        again = check(validator, password=None, challenge_id=started["challenge_id"], code=code)
        assert again.json()["reason"] == "finished"

    def test_a_wrong_texted_code_is_rejected(self, validator, texted, outbox) -> None:
        started = check(validator).json()
        answer = check(
            validator, password=None, challenge_id=started["challenge_id"], code=outbox.wrong_code()
        ).json()
        assert (answer["result"], answer["reason"]) == ("reject", "wrong_code")

    def test_an_expired_challenge_is_rejected(self, validator, texted, outbox) -> None:
        started = check(validator).json()
        Challenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        answer = check(
            validator, password=None, challenge_id=started["challenge_id"], code=outbox.last_code()
        ).json()
        assert answer["reason"] == "expired"

    def test_a_challenge_of_another_user_is_not_found(
        self, validator, texted, outbox, make_user
    ) -> None:
        started = check(validator).json()
        make_user("carol@contoso.example")
        response = check(
            validator,
            "carol@contoso.example",
            password=None,
            challenge_id=started["challenge_id"],
            code=outbox.last_code(),
        )
        assert response.status_code == 404

    def test_an_unknown_challenge_is_not_found(self, validator, texted) -> None:
        response = check(validator, password=None, challenge_id=str(uuid.uuid4()), code="123456")
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"

    def test_a_browser_sign_in_challenge_cannot_be_answered_through_the_api(
        self, validator, texted, outbox
    ) -> None:
        challenge = verification.start_challenge(
            texted, "text:authentication", ChallengePurpose.SIGNIN
        )
        response = check(
            validator, password=None, challenge_id=str(challenge.pk), code=outbox.last_code()
        )
        assert response.status_code == 404
        challenge.refresh_from_db()
        assert challenge.state == ChallengeState.PENDING

    def test_another_organisations_client_cannot_answer_the_challenge(
        self, http, validator, make_token, texted, outbox, other_organisation
    ) -> None:
        started = check(validator).json()
        other = make_token("validate", organisation=other_organisation)
        body = {"user": ALICE, "challenge_id": started["challenge_id"], "code": outbox.last_code()}
        assert http.post("/validate/check", body, token=other).status_code == 404

    def test_the_challenge_id_needs_a_code(self, validator, texted) -> None:
        started = check(validator).json()
        response = check(validator, password=None, challenge_id=started["challenge_id"])
        assert response.status_code == 400

    def test_without_password_or_challenge_the_call_is_400(self, validator, texted) -> None:
        response = check(validator, password=None, code="123456")
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_input"


class TestRulesBeforeTheSecondFactor:
    def test_a_one_time_bypass_skips_the_second_factor_once(self, validator, texted, admin) -> None:
        admin_services.grant_bypass(texted, minutes=5, reason="lost phone", actor=admin)
        first = check(validator).json()
        assert (first["result"], first["reason"]) == ("accept", "one_time_bypass")
        assert check(validator).json()["result"] == "challenge"

    def test_a_user_asked_to_register_again_is_rejected(self, validator, texted, admin) -> None:
        admin_services.manage_user_settings(
            User.objects.filter(pk=texted.pk), actor=admin, reregister=True
        )
        assert check(validator).json()["reason"] == "registration_required"

    def test_reregistration_comes_before_a_trusted_address_range(
        self, http, make_token, texted, admin, organisation, outbox
    ) -> None:
        organisation.trusted_ip_ranges = ["198.51.100.0/24"]
        organisation.save()
        admin_services.manage_user_settings(
            User.objects.filter(pk=texted.pk), actor=admin, reregister=True
        )
        http.token = make_token("validate", reports_person_address=True)
        answer = check(http, user_address="198.51.100.7").json()
        assert (answer["result"], answer["reason"]) == ("reject", "registration_required")
        # No code was texted: the one text is the reset's notice to the old number.
        assert [text.reference for text in outbox.texts()] == [f"notice-{texted.pk}"]

    def test_reregistration_comes_before_a_one_time_bypass_which_is_kept(
        self, validator, texted, admin
    ) -> None:
        admin_services.grant_bypass(texted, minutes=5, reason="lost phone", actor=admin)
        admin_services.manage_user_settings(
            User.objects.filter(pk=texted.pk), actor=admin, reregister=True
        )
        answer = check(validator).json()
        assert (answer["result"], answer["reason"]) == ("reject", "registration_required")
        texted.refresh_from_db()
        assert texted.mfa_bypass_until is not None

    def test_a_user_with_two_step_verification_on_and_no_method_is_rejected(
        self, validator, make_user
    ) -> None:
        make_user(ALICE, mfa_state=MfaState.ENFORCED)
        assert check(validator).json()["reason"] == "registration_required"


class TestAppPasswords:
    @pytest.fixture
    def app_password(self, texted, organisation) -> str:
        organisation.allow_app_passwords = True
        organisation.save()
        _app_password, password = app_passwords.create(texted, "Mail")
        return password

    def test_an_app_password_is_accepted_without_a_second_factor(
        self, validator, app_password, outbox
    ) -> None:
        answer = check(validator, password=app_password).json()
        assert (answer["result"], answer["reason"]) == ("accept", "app_password")
        assert outbox.texts() == []

    def test_an_app_password_is_accepted_as_shown_in_groups(self, validator, app_password) -> None:
        shown = app_passwords.grouped(app_password).upper()
        assert check(validator, password=shown).json()["result"] == "accept"

    def test_an_app_password_is_accepted_whatever_the_case_of_the_user_name(
        self, validator, app_password
    ) -> None:
        answer = check(validator, user=f"  {ALICE.upper()} ", password=app_password).json()
        assert (answer["result"], answer["reason"]) == ("accept", "app_password")

    def test_app_passwords_are_refused_once_the_organisation_disallows_them(
        self, validator, app_password, organisation
    ) -> None:
        organisation.allow_app_passwords = False
        organisation.save()
        assert check(validator, password=app_password).json()["reason"] == "invalid_credentials"

    def test_failed_app_passwords_count_against_the_users_password_limit(
        self, validator, app_password, settings
    ) -> None:
        limit_password_attempts(settings, 3)
        for _attempt in range(3):
            check(validator, password="abcdefghjkmnpqrs")
        assert check(validator, password=app_password).status_code == 429

    def test_a_right_app_password_forgives_earlier_failures_like_a_right_password(
        self, validator, app_password, settings
    ) -> None:
        limit_password_attempts(settings, 3)
        for password in ("wrong", "wrong", app_password, "wrong", "wrong"):
            assert check(validator, password=password).status_code == 200

    def test_an_app_password_of_a_locked_user_is_refused(
        self, validator, app_password, texted
    ) -> None:
        User.objects.filter(pk=texted.pk).update(
            mfa_locked_until=timezone.now() + timedelta(minutes=5)
        )
        assert check(validator, password=app_password).json()["result"] == "reject"

    def test_an_app_password_use_is_audited(self, validator, app_password, texted) -> None:
        check(validator, password=app_password)
        used = AuditEvent.objects.filter(action=app_password_actions.USED).latest("id")
        assert (used.result, used.subject_id) == (AuditResult.SUCCESS, texted.pk)
        assert call_event(subject=texted).details["via"] == "app password"


class TestOneLockout:
    """docs/security.md 9: failures on the sign-in page and through the API are one count."""

    @staticmethod
    def _wrong(outbox) -> str:
        sent = {text.body for text in outbox.texts()}
        return next(
            code for code in ("000000", "111111", "222222") if not any(code in b for b in sent)
        )

    def test_page_and_api_failures_add_to_one_lockout_count(
        self, validator, texted, outbox, organisation
    ) -> None:
        organisation.lockout_threshold = 4
        organisation.save()
        browser = Client()
        browser.post("/signin", {"username": ALICE})
        browser.post("/signin/password", {"password": STRONG_PASSWORD})
        for _attempt in range(2):
            assert browser.post("/signin/verify", {"code": self._wrong(outbox)}).status_code == 200
        started = check(validator).json()
        challenge_id = started["challenge_id"]
        third = check(validator, password=None, challenge_id=challenge_id, code=self._wrong(outbox))
        assert third.json()["reason"] == "wrong_code"
        fourth = check(
            validator, password=None, challenge_id=challenge_id, code=self._wrong(outbox)
        )
        assert (fourth.status_code, fourth.json()["error"]) == (429, "locked")
        texted.refresh_from_db()
        assert texted.mfa_locked_until is not None
