"""Phones as a verification method: texted codes, calls answered with # or 0#, lockout."""

import logging
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.cache.backends import base as cache_base
from django.core.cache.backends import locmem
from django.utils import timezone

from twofold.audit.models import AuditAction, AuditEvent
from twofold.core.logging import JsonFormatter
from twofold.delivery.base import call_answered
from twofold.methods import base, verification, waits
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.methods.phone import actions as phone_actions
from twofold.methods.phone import services as phone_services

from .conftest import AUTH_NUMBER, OFFICE_NUMBER

pytestmark = pytest.mark.django_db
SIGNIN = ChallengePurpose.SIGNIN
ON_LOCAL_MEMORY = "locmem" in django_settings.CACHES["default"]["BACKEND"]


class CacheClock:
    """The local-memory cache's clock, moved by hand: a counter's window is its key's
    expiry, so moving this clock past the window ends the count (and nothing else)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def cache_clock(monkeypatch) -> CacheClock:
    if not ON_LOCAL_MEMORY:
        pytest.skip("only the local-memory cache's clock can be moved in a test")
    clock = CacheClock()
    monkeypatch.setattr(locmem, "time", clock)
    monkeypatch.setattr(cache_base, "time", clock)
    return clock


def answer(challenge: Challenge, digits: str) -> None:
    call_answered.send(sender=None, reference=str(challenge.pk), digits=digits)
    challenge.refresh_from_db()


class TestOptions:
    def test_an_authentication_phone_offers_a_text_and_a_call(self, with_phone) -> None:
        keys = [option.key for option in base.options_for(with_phone)]
        assert keys == ["text:authentication", "call:authentication"]

    def test_options_name_the_number_masked(self, with_phone) -> None:
        prompts = [option.prompt for option in base.options_for(with_phone)]
        assert prompts == ["Text +1 XXX XXX XX34", "Call +1 XXX XXX XX34"]

    def test_the_chosen_contact_mode_comes_first(self, user) -> None:
        phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="call")
        assert base.options_for(user)[0].key == "call:authentication"

    def test_office_and_alternate_phones_are_called(self, with_phone) -> None:
        phone_services.set_number(with_phone, "office", OFFICE_NUMBER, "1234")
        phone_services.set_number(with_phone, "alternate", "+14255550177")
        keys = [option.key for option in base.options_for(with_phone)]
        assert keys[2:] == ["call:alternate", "call:office"]

    def test_a_number_still_waiting_for_proof_offers_nothing(self, user) -> None:
        phone_services.request_change(user, "authentication", AUTH_NUMBER, mode="text")
        assert base.options_for(user) == []

    def test_options_the_organisation_forbids_are_not_offered(self, with_phone) -> None:
        organisation = with_phone.organisation
        organisation.allowed_methods = ["call", "app_code"]
        organisation.save()
        assert [o.key for o in base.options_for(with_phone)] == ["call:authentication"]

    def test_after_a_reregistration_request_nothing_counts(self, with_phone) -> None:
        with_phone.must_reregister = True
        with_phone.save()
        assert base.options_for(with_phone) == []


class TestTextedCodes:
    def test_a_text_carries_a_six_digit_code_that_is_stored_only_as_a_digest(
        self, with_phone, outbox
    ) -> None:
        challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        text = outbox.texts()[0]
        assert text.to == AUTH_NUMBER
        code = outbox.last_code()
        challenge.refresh_from_db()
        assert code not in str(Challenge.objects.filter(pk=challenge.pk).values().get())
        assert challenge.code_digest == verification.code_digest(challenge, code)

    def test_the_right_code_approves_the_challenge(self, with_phone, outbox) -> None:
        challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        approved = verification.verify_code(with_phone, challenge.pk, outbox.last_code())
        assert approved.state == ChallengeState.APPROVED

    def test_a_code_is_accepted_only_once(self, with_phone, outbox) -> None:
        challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        code = outbox.last_code()
        verification.verify_code(with_phone, challenge.pk, code)
        with pytest.raises(verification.ChallengeFinished):
            verification.verify_code(with_phone, challenge.pk, code)

    def test_a_wrong_code_is_refused_and_the_challenge_stays_open(self, with_phone, outbox) -> None:
        challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        wrong = outbox.wrong_code()
        with pytest.raises(verification.WrongCode):
            verification.verify_code(with_phone, challenge.pk, wrong)
        assert verification.verify_code(with_phone, challenge.pk, outbox.last_code())

    def test_an_expired_code_is_refused(self, with_phone, outbox) -> None:
        challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        Challenge.objects.filter(pk=challenge.pk).update(expires_at=timezone.now())
        with pytest.raises(verification.ChallengeExpired):
            verification.verify_code(with_phone, challenge.pk, outbox.last_code())

    def test_a_texted_code_is_valid_for_five_minutes(self, with_phone, outbox) -> None:
        challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        assert challenge.expires_at - challenge.created_at == timedelta(minutes=5)
        challenge.refresh_from_db()
        assert challenge.expires_at - challenge.created_at == timedelta(minutes=5)

    @pytest.mark.parametrize(
        ("age", "accepted"),
        [(timedelta(minutes=4, seconds=50), True), (timedelta(minutes=5), False)],
    )
    def test_a_code_is_accepted_until_five_minutes_after_it_was_sent(
        self, with_phone, outbox, age, accepted
    ) -> None:
        challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        sent_at = timezone.now() - age  # as if the text had gone out ``age`` ago
        Challenge.objects.filter(pk=challenge.pk).update(
            created_at=sent_at, expires_at=sent_at + verification.CODE_LIFETIME
        )
        if accepted:
            assert verification.verify_code(with_phone, challenge.pk, outbox.last_code())
        else:
            with pytest.raises(verification.ChallengeExpired):
                verification.verify_code(with_phone, challenge.pk, outbox.last_code())
            challenge.refresh_from_db()
            assert challenge.state == ChallengeState.EXPIRED

    def test_a_newer_text_makes_the_older_code_useless(self, with_phone, outbox, settings) -> None:
        settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 0}
        first = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        old_code = outbox.last_code()
        second = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        with pytest.raises(verification.ChallengeFinished):
            verification.verify_code(with_phone, first.pk, old_code)
        assert verification.verify_code(with_phone, second.pk, outbox.last_code())

    def test_a_code_for_another_challenge_is_refused(self, with_phone, outbox, settings) -> None:
        settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 0}
        signin = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        signin_code = outbox.last_code()
        step_up = verification.start_challenge(
            with_phone, "text:authentication", ChallengePurpose.STEP_UP
        )
        if outbox.last_code() != signin_code:
            with pytest.raises(verification.WrongCode):
                verification.verify_code(with_phone, step_up.pk, signin_code)
        assert verification.verify_code(with_phone, signin.pk, signin_code)

    def test_another_users_challenge_is_not_found(self, with_phone, make_user, outbox) -> None:
        challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        mallory = make_user("mallory@contoso.example")
        with pytest.raises(verification.NotFound):
            verification.verify_code(mallory, challenge.pk, outbox.last_code())

    def test_an_option_the_user_does_not_have_cannot_be_started(self, with_phone) -> None:
        with pytest.raises(verification.InvalidInput):
            verification.start_challenge(with_phone, "call:office", SIGNIN)


class TestCalls:
    @pytest.fixture
    def office_call(self, with_phone, outbox):
        phone_services.set_number(with_phone, "office", OFFICE_NUMBER, "1234")
        return verification.start_challenge(with_phone, "call:office", SIGNIN)

    def test_the_call_goes_to_the_number_and_extension(self, office_call, outbox) -> None:
        call = outbox.calls()[0]
        assert (call.to, call.extension, call.reference) == (
            OFFICE_NUMBER,
            "1234",
            str(office_call.pk),
        )

    def test_pressing_hash_approves(self, office_call) -> None:
        answer(office_call, "#")
        assert office_call.state == ChallengeState.APPROVED

    def test_any_other_key_refuses(self, office_call) -> None:
        answer(office_call, "5#")
        assert office_call.state == ChallengeState.DENIED

    def test_zero_hash_reports_fraud_and_blocks_the_user(self, office_call) -> None:
        answer(office_call, "0#")
        assert office_call.state == ChallengeState.FRAUD
        office_call.user.refresh_from_db()
        assert office_call.user.is_blocked

    def test_a_fraud_report_raises_one_warning_alert_without_the_number(
        self, office_call, caplog
    ) -> None:
        with caplog.at_level(logging.INFO, logger="twofold.alerts"):
            answer(office_call, "0#")
        alerts = [r for r in caplog.records if r.name == "twofold.alerts"]
        assert [(r.levelno, r.getMessage()) for r in alerts] == [
            (logging.WARNING, "fraud_reported")
        ]
        alert = alerts[0]
        event = AuditEvent.objects.get(action=AuditAction.FRAUD_REPORTED)
        assert (alert.event, alert.organisation, alert.user_id) == (
            "fraud_reported",
            "contoso",
            office_call.user_id,
        )
        assert (alert.method, alert.method_kind, alert.blocked) == ("call:office", "call", True)
        assert alert.correlation_id == event.correlation_id
        assert alert.challenge_correlation_id == office_call.correlation_id
        line = JsonFormatter().format(alert)
        assert OFFICE_NUMBER not in line
        assert OFFICE_NUMBER[-4:] not in line

    def test_the_fraud_audit_event_carries_a_high_severity(self, office_call) -> None:
        answer(office_call, "0#")
        event = AuditEvent.objects.get(action=AuditAction.FRAUD_REPORTED)
        assert (event.result, event.details["severity"]) == ("denied", "high")

    def test_fraud_reports_block_nobody_when_the_policy_says_so(self, office_call) -> None:
        organisation = office_call.user.organisation
        organisation.fraud_report_blocks_user = False
        organisation.save()
        answer(office_call, "0#")
        office_call.user.refresh_from_db()
        assert office_call.state == ChallengeState.FRAUD
        assert not office_call.user.is_blocked

    def test_a_late_answer_after_expiry_changes_nothing(self, office_call) -> None:
        Challenge.objects.filter(pk=office_call.pk).update(expires_at=timezone.now())
        answer(office_call, "#")
        assert office_call.state == ChallengeState.PENDING
        assert waits.expire_if_due(office_call).state == ChallengeState.EXPIRED

    def test_an_answer_for_a_reference_that_is_not_a_challenge_is_ignored(self, office_call):
        call_answered.send(sender=None, reference="notice-42", digits="#")
        office_call.refresh_from_db()
        assert office_call.state == ChallengeState.PENDING

    def test_a_refused_call_leaves_no_challenge_but_an_audit_event(self, with_phone, settings):
        settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_user_per_hour": 1}
        phone_services.set_number(with_phone, "office", OFFICE_NUMBER)
        verification.start_challenge(with_phone, "call:office", SIGNIN)
        with pytest.raises(verification.RateLimited):
            verification.start_challenge(with_phone, "text:authentication", SIGNIN)
        assert Challenge.objects.count() == 1
        refused = AuditEvent.objects.filter(action=AuditAction.CHALLENGE_STARTED, result="denied")
        assert refused.get().details["reason"] == "rate_limited"

    def test_a_call_has_no_code_to_type(self, office_call) -> None:
        with pytest.raises(verification.WrongCode):
            verification.verify_code(office_call.user, office_call.pk, "123456")


class TestLockout:
    @pytest.fixture
    def strict(self, with_phone):
        organisation = with_phone.organisation
        organisation.lockout_threshold = 3
        organisation.save()
        return with_phone

    def _fail(self, user, challenge, times: int, code: str = "000000") -> None:
        for _ in range(times):
            with pytest.raises((verification.WrongCode, verification.SecondFactorLocked)):
                verification.verify_code(user, challenge.pk, code)

    def test_the_threshold_of_wrong_codes_locks_the_second_factor(self, strict, outbox) -> None:
        challenge = verification.start_challenge(strict, "text:authentication", SIGNIN)
        wrong = outbox.wrong_code()
        self._fail(strict, challenge, 3, wrong)
        strict.refresh_from_db()
        assert strict.mfa_locked_until > timezone.now()
        assert AuditEvent.objects.filter(action=AuditAction.MFA_LOCKED).count() == 1

    def test_the_lock_lasts_the_organisations_lockout_duration(self, strict, outbox) -> None:
        organisation = strict.organisation
        organisation.lockout_duration_minutes = 17
        organisation.save()
        challenge = verification.start_challenge(strict, "text:authentication", SIGNIN)
        failing_from = timezone.now()
        self._fail(strict, challenge, 3, outbox.wrong_code())
        strict.refresh_from_db()
        lasting = timedelta(minutes=17)
        assert failing_from + lasting <= strict.mfa_locked_until <= timezone.now() + lasting

    def test_failures_spaced_beyond_the_window_do_not_lock(
        self, strict, outbox, cache_clock
    ) -> None:
        challenge = verification.start_challenge(strict, "text:authentication", SIGNIN)
        wrong = outbox.wrong_code()
        self._fail(strict, challenge, 2, wrong)
        cache_clock.advance(strict.organisation.lockout_window_minutes * 60 + 1)
        with pytest.raises(verification.WrongCode):
            verification.verify_code(strict, challenge.pk, wrong)
        strict.refresh_from_db()
        assert strict.mfa_locked_until is None

    def test_failures_within_the_window_lock_however_slowly_they_come(
        self, strict, outbox, cache_clock
    ) -> None:
        challenge = verification.start_challenge(strict, "text:authentication", SIGNIN)
        wrong = outbox.wrong_code()
        self._fail(strict, challenge, 2, wrong)
        cache_clock.advance(strict.organisation.lockout_window_minutes * 60 - 5)
        with pytest.raises(verification.SecondFactorLocked):
            verification.verify_code(strict, challenge.pk, wrong)

    def test_a_correct_code_is_refused_while_locked(self, strict, outbox) -> None:
        challenge = verification.start_challenge(strict, "text:authentication", SIGNIN)
        code = outbox.last_code()
        wrong = "000000" if code != "000000" else "111111"
        self._fail(strict, challenge, 3, wrong)
        with pytest.raises(verification.SecondFactorLocked):
            verification.verify_code(strict, challenge.pk, code)

    def test_malformed_and_empty_codes_count_as_failures(self, strict, outbox) -> None:
        challenge = verification.start_challenge(strict, "text:authentication", SIGNIN)
        for code in ("", "12ab56", "1234567"):
            with pytest.raises((verification.WrongCode, verification.SecondFactorLocked)):
                verification.verify_code(strict, challenge.pk, code)
        strict.refresh_from_db()
        assert strict.mfa_locked_until is not None

    def test_no_challenge_can_start_while_locked(self, strict) -> None:
        strict.mfa_locked_until = timezone.now() + timedelta(minutes=5)
        strict.save()
        with pytest.raises(verification.SecondFactorLocked):
            verification.start_challenge(strict, "text:authentication", SIGNIN)

    def test_the_lock_ends_after_its_duration(self, strict, outbox) -> None:
        strict.mfa_locked_until = timezone.now() - timedelta(seconds=1)
        strict.save()
        challenge = verification.start_challenge(strict, "text:authentication", SIGNIN)
        assert verification.verify_code(strict, challenge.pk, outbox.last_code())

    def test_failures_count_across_challenges(self, strict, outbox, settings) -> None:
        settings.TWOFOLD = {**settings.TWOFOLD, "resend_cooldown_seconds": 0}
        for _ in range(3):
            challenge = verification.start_challenge(strict, "text:authentication", SIGNIN)
            wrong = outbox.wrong_code()
            self._fail(strict, challenge, 1, wrong)
        strict.refresh_from_db()
        assert strict.mfa_locked_until is not None

    def test_an_answered_call_is_refused_while_locked(self, strict, outbox) -> None:
        phone_services.set_number(strict, "office", OFFICE_NUMBER)
        challenge = verification.start_challenge(strict, "call:office", SIGNIN)
        strict.mfa_locked_until = timezone.now() + timedelta(minutes=5)
        strict.save()
        answer(challenge, "#")
        assert challenge.state == ChallengeState.DENIED


def test_audit_events_never_hold_a_full_number_or_a_code(with_phone, outbox) -> None:
    challenge = verification.start_challenge(with_phone, "text:authentication", SIGNIN)
    code = outbox.last_code()
    verification.verify_code(with_phone, challenge.pk, code)
    dump = str(list(AuditEvent.objects.values()))
    assert AUTH_NUMBER not in dump
    assert AUTH_NUMBER[2:] not in dump
    assert code not in dump


class TestAuditedChanges:
    def test_switching_between_text_and_call_is_audited_once(self, with_phone) -> None:
        phone_services.set_mode(with_phone, "call")
        phone_services.set_mode(with_phone, "call")  # no change, no event
        events = AuditEvent.objects.filter(action=phone_actions.CHANGED, subject=with_phone)
        assert [e.details["mode"] for e in events if e.details.get("reason") == "mode"] == ["call"]

    def test_cancelling_a_pending_number_is_audited_masked(self, with_phone) -> None:
        phone_services.request_change(with_phone, "authentication", "+14255550177", mode="text")
        phone_services.cancel_change(with_phone, "authentication")
        event = AuditEvent.objects.get(action=phone_actions.CHANGE_CANCELLED)
        assert event.details["masked_number"] == "+1 XXX XXX XX77"
        assert "4255550177" not in str(event.details)
        assert phone_services.phones_of(with_phone)["authentication"].number == AUTH_NUMBER
