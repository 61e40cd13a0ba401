"""send_text and place_call: the outbox, the toll-fraud caps, the audit events."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.core.errors import InvalidInput, RateLimited
from twofold.delivery import services
from twofold.delivery.base import DeliveryFailed, DeliveryState
from twofold.delivery.models import OutboxKind, OutboxMessage
from twofold.delivery.outbox import OutboxGateway
from twofold.delivery.twilio import TwilioGateway

pytestmark = pytest.mark.django_db

NUMBER = "+14255550134"
OTHER_NUMBER = "+14255550135"
THIRD_NUMBER = "+14255550199"
FRENCH_NUMBER = "+33612345678"
CODE_TEXT = "493817 is your verification code. It expires in 5 minutes."


@pytest.fixture
def caps(settings, outbox):
    """Set the caps for one test: caps(per_user=2, cooldown=0, ...)."""

    def set_caps(per_user=100, per_number=100, per_country=1000, cooldown=0) -> None:
        settings.TWOFOLD = {
            **settings.TWOFOLD,
            "texts_per_user_per_hour": per_user,
            "texts_per_number_per_hour": per_number,
            "texts_per_country_per_hour": per_country,
            "resend_cooldown_seconds": cooldown,
        }

    set_caps()
    return set_caps


def text(to: str = NUMBER, user_key: str = "1", reference: str = "challenge-1"):
    return services.send_text(to, CODE_TEXT, reference=reference, user_key=user_key)


def call(to: str = NUMBER, user_key: str = "1", reference: str = "challenge-2"):
    return services.place_call(
        to, script="Press the pound key.", reference=reference, user_key=user_key
    )


# --- The outbox ----------------------------------------------------------------------------


def test_a_text_is_stored_in_the_outbox_as_delivered(caps, reference) -> None:
    receipt = services.send_text(NUMBER, CODE_TEXT, reference=reference, user_key="1")
    stored = OutboxMessage.objects.get()
    assert (stored.kind, stored.to, stored.body, stored.reference, stored.state) == (
        OutboxKind.TEXT,
        NUMBER,
        CODE_TEXT,
        reference,
        DeliveryState.DELIVERED,
    )
    assert receipt == services.Receipt("outbox", str(stored.pk), DeliveryState.DELIVERED)


def test_a_call_is_stored_in_the_outbox_ringing(caps, reference) -> None:
    receipt = services.place_call(
        NUMBER,
        script="Press the pound key to finish signing in.",
        reference=reference,
        user_key="1",
        extension="1234",
        language="zh-hans",
    )
    stored = OutboxMessage.objects.get()
    assert (stored.kind, stored.to, stored.extension, stored.language) == (
        OutboxKind.CALL,
        NUMBER,
        "1234",
        "zh-hans",
    )
    assert (stored.body, stored.reference) == (
        "Press the pound key to finish signing in.",
        reference,
    )
    assert stored.state == DeliveryState.QUEUED == receipt.state


def test_something_that_is_not_an_e164_number_is_refused_and_nothing_is_stored(caps) -> None:
    for wrong in ["4255550134", "+1 425 555 0134", "+999123456789", ""]:
        with pytest.raises(InvalidInput):
            text(to=wrong)
    assert not OutboxMessage.objects.exists()


# --- Choosing the gateway -----------------------------------------------------------------


def test_the_gateway_follows_the_setting_each_time_it_changes(settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": "outbox"}
    assert isinstance(services.get_gateway(), OutboxGateway)
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": "twilio"}
    assert isinstance(services.get_gateway(), TwilioGateway)
    dotted = "twofold.delivery.tests.gateways.UnreachableGateway"
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": dotted}
    assert services.get_gateway().name == "unreachable"


def test_a_dotted_path_that_is_not_a_gateway_is_refused(settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": "twofold.delivery.models.OutboxMessage"}
    with pytest.raises(ImproperlyConfigured):
        services.get_gateway()


# --- Toll-fraud caps ----------------------------------------------------------------------


def test_over_the_per_user_cap_nothing_is_sent(caps) -> None:
    caps(per_user=2)
    text(NUMBER)
    text(OTHER_NUMBER)
    with pytest.raises(RateLimited) as refused:
        text(THIRD_NUMBER)
    assert refused.value.status == 429
    assert "too many texts and calls" in refused.value.message
    assert OutboxMessage.objects.count() == 2


def test_texts_and_calls_share_the_per_user_cap(caps) -> None:
    caps(per_user=2)
    text(NUMBER)
    call(OTHER_NUMBER)
    with pytest.raises(RateLimited):
        call(THIRD_NUMBER)
    assert OutboxMessage.objects.count() == 2


def test_another_user_is_not_held_by_one_users_cap(caps) -> None:
    caps(per_user=1)
    text(NUMBER, user_key="1")
    text(OTHER_NUMBER, user_key="2")
    assert OutboxMessage.objects.count() == 2


def test_over_the_per_number_cap_nothing_is_sent_whoever_asks(caps) -> None:
    caps(per_number=2)
    text(NUMBER, user_key="1")
    call(NUMBER, user_key="2")
    with pytest.raises(RateLimited):
        text(NUMBER, user_key="3")
    assert OutboxMessage.objects.count() == 2
    text(OTHER_NUMBER, user_key="3")  # another number is still reachable
    assert OutboxMessage.objects.count() == 3


def test_over_the_per_country_cap_nothing_more_goes_to_that_country_code(caps) -> None:
    caps(per_country=2)
    text(NUMBER, user_key="1")
    text(OTHER_NUMBER, user_key="2")
    with pytest.raises(RateLimited):
        call(THIRD_NUMBER, user_key="3")
    assert OutboxMessage.objects.count() == 2
    text(FRENCH_NUMBER, user_key="3")  # +33 has its own allowance
    assert OutboxMessage.objects.filter(to=FRENCH_NUMBER).exists()


def test_asking_again_within_the_cooldown_is_refused_and_says_how_long_to_wait(caps) -> None:
    caps(cooldown=30)
    text(NUMBER)
    with pytest.raises(RateLimited) as refused:
        call(NUMBER)
    assert refused.value.retry_after == 30
    assert "30 seconds" in refused.value.message
    assert OutboxMessage.objects.count() == 1


def test_the_cooldown_holds_one_user_and_one_number_only(caps) -> None:
    caps(cooldown=30)
    text(NUMBER, user_key="1")
    text(OTHER_NUMBER, user_key="1")
    text(NUMBER, user_key="2")
    assert OutboxMessage.objects.count() == 3


def test_a_refused_send_uses_up_no_allowance(caps) -> None:
    caps(per_user=2, per_number=1)
    text(NUMBER)
    with pytest.raises(RateLimited):
        text(NUMBER)  # the per-number cap refuses it: it must not count against the user
    text(OTHER_NUMBER)
    assert OutboxMessage.objects.count() == 2


# --- Audit --------------------------------------------------------------------------------


def test_a_text_writes_an_audit_event_with_the_masked_number_only(caps, user) -> None:
    services.send_text(NUMBER, CODE_TEXT, reference="r-1", user_key=str(user.pk), subject=user)
    event = AuditEvent.objects.get(action=AuditAction.TEXT_SENT)
    assert event.result == AuditResult.SUCCESS
    assert event.subject_id == user.pk
    assert event.details == {"masked_number": "+1 XXX XXX XX34", "via": "outbox", "kind": "text"}


def test_a_call_writes_an_audit_event_with_the_masked_number_only(caps) -> None:
    call(NUMBER)
    event = AuditEvent.objects.get(action=AuditAction.CALL_PLACED)
    assert event.result == AuditResult.SUCCESS
    assert event.details["masked_number"] == "+1 XXX XXX XX34"


def test_no_audit_event_holds_the_number_the_body_or_the_code(caps) -> None:
    caps(per_user=1)
    text(NUMBER)
    with pytest.raises(RateLimited):
        text(OTHER_NUMBER)
    events = list(AuditEvent.objects.values())
    assert len(events) == 2
    written = json.dumps(events, default=str)
    for secret in ["4255550134", "4255550135", "493817", "verification code"]:
        assert secret not in written


def test_a_send_over_a_cap_is_audited_as_denied_with_the_cap_that_refused(caps) -> None:
    caps(per_number=1)
    text(NUMBER, user_key="1")
    with pytest.raises(RateLimited):
        call(NUMBER, user_key="2")
    event = AuditEvent.objects.get(action=AuditAction.CALL_PLACED)
    assert event.result == AuditResult.DENIED
    assert event.details["reason"] == "over the per-number cap"
    assert event.subject_label == "2"


# --- A gateway that fails -----------------------------------------------------------------


@pytest.fixture
def unreachable(settings, caps) -> None:
    gateway = "twofold.delivery.tests.gateways.UnreachableGateway"
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": gateway}


def test_a_gateway_failure_becomes_a_delivery_failure_the_pages_can_show(unreachable) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        text()
    assert failed.value.status == 503
    assert "couldn't reach your phone" in failed.value.message


def test_a_gateway_failure_is_audited_as_a_failure(unreachable) -> None:
    with pytest.raises(DeliveryFailed):
        call()
    event = AuditEvent.objects.get()
    assert (event.action, event.result) == (AuditAction.CALL_PLACED, AuditResult.FAILURE)
    assert event.details["masked_number"] == "+1 XXX XXX XX34"


def test_after_a_gateway_failure_the_person_may_ask_again_at_once(unreachable, caps) -> None:
    caps(cooldown=30)
    with pytest.raises(DeliveryFailed):
        text()
    with pytest.raises(DeliveryFailed):  # not RateLimited: nothing went out the first time
        text()
