"""Twilio's callbacks: signed ones are taken, anything else is refused and audited."""

from __future__ import annotations

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.delivery import services
from twofold.delivery.base import DeliveryState
from twofold.delivery.tests.conftest import AUTH_TOKEN, BASE_URL, post_signed
from twofold.delivery.twilio import TwilioGateway, keys_pressed

pytestmark = pytest.mark.django_db

NUMBER = "+14255550134"
SCRIPT = "Press the pound key to finish signing in."


def place(reference: str) -> None:
    services.place_call(NUMBER, script=SCRIPT, reference=reference, user_key="1")


def rejections() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.CALLBACK_REJECTED))


# --- Voice: what the call says ------------------------------------------------------------


def test_the_voice_webhook_says_the_script_and_gathers_keys_up_to_the_pound_key(
    client, twilio_api, reference
) -> None:
    place(reference)
    response = post_signed(client, f"/delivery/twilio/voice/{reference}", {"CallSid": "CA1"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    twiml = response.content.decode()
    assert f'action="{BASE_URL}/delivery/twilio/gather/{reference}"' in twiml
    assert 'finishOnKey="#"' in twiml
    gathered = twiml[twiml.index("<Gather") : twiml.index("</Gather>")]
    assert SCRIPT in gathered


def test_the_voice_webhook_asks_for_nothing_on_a_call_it_did_not_place(
    client, twilio_settings, reference
) -> None:
    response = post_signed(client, f"/delivery/twilio/voice/{reference}", {"CallSid": "CA1"})
    assert response.status_code == 200
    assert "<Gather" not in response.content.decode()
    assert "<Hangup" in response.content.decode()


# --- Gather: the keys pressed -------------------------------------------------------------


@pytest.mark.parametrize(("digits", "keys"), [("", "#"), ("0", "0#"), ("5", "5#")])
def test_the_keys_pressed_are_passed_on_with_the_pound_key_twilio_leaves_out(
    client, twilio_settings, reference, answered, digits, keys
) -> None:
    response = post_signed(
        client, f"/delivery/twilio/gather/{reference}", {"CallSid": "CA1", "Digits": digits}
    )
    assert response.status_code == 200
    assert "<Hangup" in response.content.decode()
    assert answered.events == [{"sender": TwilioGateway, "reference": reference, "digits": keys}]


def test_a_digits_value_that_already_ends_with_the_pound_key_is_not_doubled() -> None:
    assert keys_pressed("0#") == "0#"
    assert keys_pressed("#") == "#"


# --- Status: delivery reports -------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "state"),
    [
        ({"MessageStatus": "delivered", "SmsStatus": "delivered"}, DeliveryState.DELIVERED),
        ({"MessageStatus": "undelivered"}, DeliveryState.FAILED),
        ({"CallStatus": "no-answer"}, DeliveryState.NO_ANSWER),
        ({"CallStatus": "busy"}, DeliveryState.NO_ANSWER),
        ({"CallStatus": "completed"}, DeliveryState.DELIVERED),
        ({"CallStatus": "failed"}, DeliveryState.FAILED),
    ],
)
def test_a_status_callback_is_reported_as_a_delivery_state(
    client, twilio_settings, reference, reported, params, state
) -> None:
    response = post_signed(client, f"/delivery/twilio/status/{reference}", params)
    assert response.status_code == 204
    assert reported.events == [{"sender": TwilioGateway, "reference": reference, "state": state}]


def test_a_status_twofold_does_not_know_reports_nothing(
    client, twilio_settings, reference, reported
) -> None:
    response = post_signed(client, f"/delivery/twilio/status/{reference}", {"CallStatus": "odd"})
    assert response.status_code == 204
    assert reported.events == []


# --- Forged and malformed callbacks -------------------------------------------------------


def test_a_callback_signed_with_another_token_is_rejected_and_audited(
    client, twilio_settings, reference, answered
) -> None:
    response = post_signed(
        client, f"/delivery/twilio/gather/{reference}", {"Digits": ""}, token="guessed-token"
    )
    assert response.status_code == 403
    assert answered.events == []
    (event,) = rejections()
    assert event.result == AuditResult.DENIED
    assert event.details == {"via": "twilio", "kind": "gather", "reason": "wrong signature"}
    assert event.client_address == "127.0.0.1"


def test_a_callback_whose_parameters_were_changed_after_signing_is_rejected(
    client, twilio_settings, reference, answered
) -> None:
    path = f"/delivery/twilio/gather/{reference}"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE_URL + path, {"Digits": "0"})
    response = client.post(path, {"Digits": ""}, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    assert answered.events == []
    assert len(rejections()) == 1


def test_a_signature_for_another_reference_is_rejected(
    client, twilio_settings, reference, answered
) -> None:
    signed_for = BASE_URL + "/delivery/twilio/gather/someone-elses-challenge"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(signed_for, {"Digits": ""})
    response = client.post(
        f"/delivery/twilio/gather/{reference}", {"Digits": ""}, HTTP_X_TWILIO_SIGNATURE=signature
    )
    assert response.status_code == 403
    assert answered.events == []


@pytest.mark.parametrize("hook", ["voice", "gather", "status"])
def test_a_callback_without_a_signature_is_rejected_and_audited(
    client, twilio_settings, reference, answered, reported, hook
) -> None:
    response = client.post(f"/delivery/twilio/{hook}/{reference}", {"CallStatus": "completed"})
    assert response.status_code == 403
    assert answered.events == reported.events == []
    (event,) = rejections()
    assert event.details == {"via": "twilio", "kind": hook, "reason": "no signature"}


def test_without_a_configured_token_every_callback_is_rejected(
    client, settings, twilio_settings, reference, answered
) -> None:
    twilio = {**settings.TWOFOLD["twilio"], "auth_token": ""}
    settings.TWOFOLD = {**settings.TWOFOLD, "twilio": twilio}
    # An HMAC under an empty key is one anybody can compute.
    response = post_signed(client, f"/delivery/twilio/gather/{reference}", {"Digits": ""}, "")
    assert response.status_code == 403
    assert answered.events == []


@pytest.mark.parametrize("hook", ["voice", "gather", "status"])
def test_a_get_is_refused(client, twilio_settings, reference, hook) -> None:
    assert client.get(f"/delivery/twilio/{hook}/{reference}").status_code == 405


def test_the_webhooks_need_no_csrf_token(twilio_settings, reference, answered) -> None:
    client = Client(enforce_csrf_checks=True)
    response = post_signed(client, f"/delivery/twilio/gather/{reference}", {"Digits": ""})
    assert response.status_code == 200
    assert len(answered.events) == 1


def test_a_flood_of_forged_callbacks_is_refused_but_audited_only_so_often(
    client, twilio_settings, reference, answered
) -> None:
    path = f"/delivery/twilio/gather/{reference}"
    answers = [
        post_signed(client, path, {"Digits": ""}, token="guessed-token").status_code
        for _ in range(35)
    ]
    assert set(answers) == {403}
    assert answered.events == []
    assert len(rejections()) == 30


def test_the_audit_cap_on_forged_callbacks_is_per_source_address(
    client, twilio_settings, reference
) -> None:
    path = f"/delivery/twilio/status/{reference}"
    for _ in range(31):
        client.post(path, {"CallStatus": "busy"})
    other = Client(REMOTE_ADDR="192.0.2.7")
    assert other.post(path, {"CallStatus": "busy"}).status_code == 403
    assert rejections()[0].client_address == "192.0.2.7"  # the newest
    assert len(rejections()) == 31


def test_a_signed_callback_is_taken_after_the_audit_cap_is_reached(
    client, twilio_settings, reference, answered
) -> None:
    path = f"/delivery/twilio/gather/{reference}"
    for _ in range(31):
        client.post(path, {"Digits": ""})
    assert post_signed(client, path, {"Digits": ""}).status_code == 200
    assert len(answered.events) == 1
