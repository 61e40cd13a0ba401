"""The Twilio gateway against a local stand-in for Twilio's REST API."""

from __future__ import annotations

import base64
import logging

import pytest

from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.delivery import services
from twofold.delivery.base import Call, DeliveryFailed, DeliveryState, GatewayError, Text
from twofold.delivery.models import OutboxMessage
from twofold.delivery.tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    BASE_URL,
    FROM_NUMBER,
    post_signed,
)
from twofold.delivery.twilio import TwilioGateway

pytestmark = pytest.mark.django_db

NUMBER = "+14255550134"
API = f"/2010-04-01/Accounts/{ACCOUNT_SID}"


def test_a_text_goes_to_the_messages_api_with_basic_auth(twilio_api, reference) -> None:
    receipt = services.send_text(NUMBER, "493817 is your code.", reference=reference, user_key="1")
    (request,) = twilio_api.received
    assert request.path == f"{API}/Messages.json"
    assert (request.one("To"), request.one("From"), request.one("Body")) == (
        NUMBER,
        FROM_NUMBER,
        "493817 is your code.",
    )
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {credentials}"
    assert request.one("StatusCallback") == f"{BASE_URL}/delivery/twilio/status/{reference}"
    assert receipt.gateway == "twilio"
    assert receipt.external_id.startswith("SM")
    assert receipt.state == DeliveryState.QUEUED


def test_a_call_goes_to_the_calls_api_pointing_at_the_voice_webhook(twilio_api, reference):
    receipt = services.place_call(
        NUMBER, script="Press the pound key.", reference=reference, user_key="1"
    )
    (request,) = twilio_api.received
    assert request.path == f"{API}/Calls.json"
    assert (request.one("To"), request.one("From")) == (NUMBER, FROM_NUMBER)
    assert request.one("Url") == f"{BASE_URL}/delivery/twilio/voice/{reference}"
    assert request.one("Method") == "POST"
    assert request.one("StatusCallback") == f"{BASE_URL}/delivery/twilio/status/{reference}"
    assert set(request.form["StatusCallbackEvent"]) == {"answered", "completed"}
    assert "SendDigits" not in request.form
    assert receipt.external_id.startswith("CA")


def test_a_call_to_an_extension_dials_it_after_connecting(twilio_api, reference) -> None:
    services.place_call(
        NUMBER, script="Press the pound key.", reference=reference, user_key="1", extension="4321"
    )
    (request,) = twilio_api.received
    assert request.one("SendDigits") == "ww4321"


def test_a_refusal_from_twilio_is_a_delivery_failure_and_nothing_counts_as_sent(
    twilio_api, reference
) -> None:
    twilio_api.refusal = (400, 21211)
    with pytest.raises(DeliveryFailed) as failed:
        services.send_text(NUMBER, "493817 is your code.", reference=reference, user_key="1")
    assert failed.value.status == 503
    assert isinstance(failed.value.__cause__, GatewayError)
    assert "21211" in str(failed.value.__cause__)
    event = AuditEvent.objects.get()
    assert (event.action, event.result) == (AuditAction.TEXT_SENT, AuditResult.FAILURE)
    assert not AuditEvent.objects.filter(result=AuditResult.SUCCESS).exists()
    assert not OutboxMessage.objects.exists()


def test_a_refused_call_leaves_no_script_for_the_voice_webhook(twilio_api, reference, client):
    twilio_api.refusal = (500, 20500)
    with pytest.raises(GatewayError):
        TwilioGateway().place_call(Call(NUMBER, "", "Press the pound key.", reference))
    response = post_signed(client, f"/delivery/twilio/voice/{reference}", {"CallSid": "CA1"})
    assert "<Gather" not in response.content.decode()


def test_twilio_out_of_reach_is_a_gateway_error(twilio_settings, settings, reference) -> None:
    # Nothing listens on port 9 of loopback (discard): the connection is refused.
    twilio = {**settings.TWOFOLD["twilio"], "api_base": "http://127.0.0.1:9"}
    settings.TWOFOLD = {**settings.TWOFOLD, "twilio": twilio}
    with pytest.raises(GatewayError, match="could not take the text"):
        TwilioGateway().send_text(Text(NUMBER, "hello", reference))


def test_twilio_without_credentials_is_a_gateway_error_not_a_crash(settings, reference) -> None:
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "twilio": {"account_sid": "", "auth_token": "", "from_number": "", "api_base": ""},
    }
    with pytest.raises(GatewayError, match="not configured"):
        TwilioGateway().send_text(Text(NUMBER, "hello", reference))


def test_sending_through_twilio_logs_neither_the_number_nor_the_body(
    twilio_api, reference, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    services.send_text(NUMBER, "493817 is your code.", reference=reference, user_key="1")
    twilio_api.refusal = (400, 21211)
    with pytest.raises(DeliveryFailed):
        services.send_text(NUMBER, "493817 is your code.", reference=reference, user_key="2")
    logged = "\n".join(
        [record.getMessage() for record in caplog.records]
        + [str(record.__dict__) for record in caplog.records]
    )
    assert "4255550134" not in logged
    assert "493817" not in logged
