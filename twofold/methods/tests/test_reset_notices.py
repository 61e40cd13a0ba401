"""After "provide contact methods again" the user is told on their old phone
(docs/security.md 16)."""

import re
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from conftest import AUTH_NUMBER
from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.core.errors import RateLimited
from twofold.delivery.base import text_parts
from twofold.methods import reset_notices, verification
from twofold.methods.models import ChallengePurpose, ChallengeState, ResetNotice
from twofold.methods.phone import services as phone_services
from twofold.methods.phone.models import Phone
from twofold.methods.resets import require_reregistration

pytestmark = pytest.mark.django_db
UNREACHABLE = "twofold.delivery.tests.gateways.UnreachableGateway"
HAN = re.compile(r"[\u4e00-\u9fff]")


def _with_phone(user, number: str = AUTH_NUMBER, language: str = ""):
    phone_services.set_number(user, "authentication", number, mode="text")
    if language:
        user.language = language
        user.save(update_fields=["language"])
    return user


def _reset(*users, capture) -> None:
    with capture(execute=True):
        require_reregistration(User.objects.filter(pk__in=[user.pk for user in users]))


def test_one_user_gets_one_text_on_the_old_number(
    user, outbox, django_capture_on_commit_callbacks
) -> None:
    _reset(_with_phone(user), capture=django_capture_on_commit_callbacks)
    [text] = outbox.texts()
    assert text.to == AUTH_NUMBER
    assert "register your verification methods again" in text.body
    assert "help desk" in text.body
    assert not re.search(r"\d{6}", text.body)  # no code, no number
    assert not Phone.objects.filter(user=user).exists()
    assert not ResetNotice.objects.exists()


def test_the_notice_is_in_the_users_language_within_one_sms_part(
    user, outbox, django_capture_on_commit_callbacks
) -> None:
    _reset(_with_phone(user, language="zh-hans"), capture=django_capture_on_commit_callbacks)
    body = outbox.texts()[0].body
    assert HAN.search(body), body
    assert text_parts(body) == 1


def test_the_organisations_language_applies_when_the_user_chose_none(
    user, organisation, outbox, django_capture_on_commit_callbacks
) -> None:
    organisation.default_language = "zh-hans"
    organisation.save(update_fields=["default_language"])
    _reset(_with_phone(user), capture=django_capture_on_commit_callbacks)
    assert HAN.search(outbox.texts()[0].body)


def test_a_bulk_reset_texts_each_user_once(
    make_user, outbox, django_capture_on_commit_callbacks
) -> None:
    users = [
        _with_phone(make_user(f"user{index}@contoso.example"), f"+1425555010{index}")
        for index in range(4)
    ]
    _reset(*users, capture=django_capture_on_commit_callbacks)
    assert sorted(text.to for text in outbox.texts()) == [f"+1425555010{i}" for i in range(4)]


def test_a_user_without_an_authentication_phone_gets_nothing(
    user, make_user, outbox, django_capture_on_commit_callbacks
) -> None:
    office_only = make_user("bob@contoso.example")
    phone_services.set_number(office_only, "office", "+14255550199")
    _reset(user, office_only, capture=django_capture_on_commit_callbacks)
    assert outbox.texts() == []
    assert User.objects.get(pk=user.pk).must_reregister


def test_each_notice_is_audited_with_the_masked_number(
    user, outbox, django_capture_on_commit_callbacks
) -> None:
    _reset(_with_phone(user), capture=django_capture_on_commit_callbacks)
    event = AuditEvent.objects.get(action=AuditAction.TEXT_SENT, subject=user)
    assert event.result == AuditResult.SUCCESS
    assert AUTH_NUMBER not in str(event.details)
    assert event.details["masked_number"].endswith("34")


def test_a_gateway_failure_does_not_undo_the_reset(
    user, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": UNREACHABLE}
    _reset(_with_phone(user), capture=django_capture_on_commit_callbacks)
    assert User.objects.get(pk=user.pk).must_reregister
    assert not Phone.objects.filter(user=user).exists()
    failed = AuditEvent.objects.get(action=AuditAction.TEXT_SENT, subject=user)
    assert failed.result == AuditResult.FAILURE
    notice = ResetNotice.objects.get()  # kept for another try
    assert notice.attempts == 1


def test_a_notice_is_given_up_after_its_last_failed_attempt(user, settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": UNREACHABLE}
    _count, nonce = require_reregistration(User.objects.filter(pk=_with_phone(user).pk))
    for _attempt in range(reset_notices.MAX_ATTEMPTS):
        ResetNotice.objects.update(not_before=ResetNotice.objects.get().created_at)
        reset_notices.send_due()
    notice = ResetNotice.objects.get()  # kept a while, without the number, never sent again
    assert (notice.given_up_at is not None, notice.number) == (True, "")
    # The reset's page says it was not sent (it said "sent" before).
    shown = reset_notices.progress(nonce, 1)
    assert (shown.sent, shown.given_up, shown.sending, shown.waiting) == (0, 1, 0, 0)
    ResetNotice.objects.update(not_before=notice.created_at)
    assert reset_notices.send_due() == 0
    assert ResetNotice.objects.get().attempts == reset_notices.MAX_ATTEMPTS


def test_a_given_up_notice_is_purged_after_a_while(user, settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": UNREACHABLE}
    require_reregistration(User.objects.filter(pk=_with_phone(user).pk))
    ResetNotice.objects.update(
        given_up_at=timezone.now() - reset_notices.GIVEN_UP_KEPT - timedelta(minutes=1)
    )
    reset_notices.send_due()
    assert not ResetNotice.objects.exists()


def test_a_notice_over_the_per_number_cap_waits_and_nothing_is_sent(user, outbox, settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_number_per_hour": 1}
    verification.start_challenge(_with_phone(user), "text:authentication", ChallengePurpose.SIGNIN)
    require_reregistration(User.objects.filter(pk=user.pk))
    assert reset_notices.send_due() == 0
    assert len(outbox.texts()) == 1  # the sign-in code only
    assert ResetNotice.objects.get().not_before > ResetNotice.objects.get().created_at


def test_a_notice_is_not_held_back_by_the_users_texts_earlier_in_the_hour(
    user, outbox, settings
) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_user_per_hour": 1}
    verification.start_challenge(_with_phone(user), "text:authentication", ChallengePurpose.SIGNIN)
    require_reregistration(User.objects.filter(pk=user.pk))
    assert reset_notices.send_due() == 1
    assert [text.to for text in outbox.texts()] == [AUTH_NUMBER, AUTH_NUMBER]


def _used_up_then_reset(user, settings):
    """The user's hourly texts are used up (one sign-in code, cap 1); then a reset."""
    settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_user_per_hour": 1}
    verification.start_challenge(_with_phone(user), "text:authentication", ChallengePurpose.SIGNIN)
    require_reregistration(User.objects.filter(pk=user.pk))
    assert reset_notices.send_due() == 1  # the notice does not use up the reset's allowance
    user.refresh_from_db()
    return user


def test_registering_again_after_a_reset_is_not_refused_by_the_earlier_count(
    user, outbox, settings
) -> None:
    user = _used_up_then_reset(user, settings)
    phone_services.request_change(user, "authentication", "+14255550177", mode="text")
    assert "+14255550177" in [text.to for text in outbox.texts()]


def test_registering_again_after_a_reset_still_meets_the_per_number_cap(
    user, outbox, settings
) -> None:
    user = _used_up_then_reset(user, settings)
    settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_number_per_hour": 1}
    with pytest.raises(RateLimited):
        phone_services.request_change(user, "authentication", AUTH_NUMBER, mode="text")


def test_the_resets_allowance_is_capped_like_a_users(user, outbox, settings) -> None:
    user = _used_up_then_reset(user, settings)
    phone_services.request_change(user, "authentication", "+14255550177", mode="text")
    with pytest.raises(RateLimited):
        phone_services.request_change(user, "authentication", "+14255550178", mode="text")


def test_notices_leave_half_a_countrys_hourly_texts_to_sign_in_codes(
    make_user, outbox, settings
) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "texts_per_country_per_hour": 4}
    users = [
        _with_phone(make_user(f"user{index}@contoso.example"), f"+1425555010{index}")
        for index in range(4)
    ]
    require_reregistration(User.objects.filter(pk__in=[each.pk for each in users]))
    assert reset_notices.send_due() == 2
    assert ResetNotice.objects.count() == 2  # waiting for the next hour
    waiting = _with_phone(make_user("bob@contoso.example"), "+14255550188")
    verification.start_challenge(waiting, "text:authentication", ChallengePurpose.SIGNIN)
    assert outbox.texts()[0].to == "+14255550188"


def test_the_command_sends_what_a_restart_left_queued(user, outbox) -> None:
    # No commit callback ran (the server stopped): the queued notice is still there.
    require_reregistration(User.objects.filter(pk=_with_phone(user).pk))
    assert outbox.texts() == []
    call_command("send_reset_notices", verbosity=0)
    assert [text.to for text in outbox.texts()] == [AUTH_NUMBER]
    assert not ResetNotice.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_many_notices_are_sent_by_a_background_thread(make_user, outbox) -> None:
    count = reset_notices.SENT_AT_ONCE + 2
    users = [
        _with_phone(make_user(f"user{index:02d}@contoso.example"), f"+142555501{index:02d}")
        for index in range(count)
    ]
    require_reregistration(User.objects.filter(pk__in=[each.pk for each in users]))
    for thread in threading.enumerate():  # the one the commit started
        if thread.name == "reset-notices":
            thread.join(timeout=30)
    assert len(outbox.texts()) == count
    assert not ResetNotice.objects.exists()


def test_a_pending_number_proof_cannot_complete_after_the_reset(user, outbox) -> None:
    _with_phone(user)
    challenge = phone_services.request_change(user, "authentication", "+14255550177")
    code = outbox.last_code()
    require_reregistration(User.objects.filter(pk=user.pk))
    challenge.refresh_from_db()
    assert challenge.state == ChallengeState.EXPIRED
    with pytest.raises(verification.ChallengeFinished):
        verification.verify_code(user, challenge.pk, code)


def test_a_sign_in_code_sent_before_the_reset_no_longer_counts(user, outbox) -> None:
    purpose = ChallengePurpose.SIGNIN
    challenge = verification.start_challenge(_with_phone(user), "text:authentication", purpose)
    code = outbox.last_code()
    require_reregistration(User.objects.filter(pk=user.pk))
    with pytest.raises(verification.ChallengeFinished):
        verification.verify_code(user, challenge.pk, code)
