"""The dev outbox page: the demo's phone, there only while TWOFOLD_DEV_OUTBOX=1."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from twofold.delivery import services
from twofold.delivery.base import DeliveryState
from twofold.delivery.models import OutboxMessage
from twofold.delivery.outbox import OutboxGateway

pytestmark = pytest.mark.django_db

NUMBER = "+14255550134"


def ring(reference: str, to: str = NUMBER, extension: str = "") -> OutboxMessage:
    services.place_call(
        to,
        script="Press the pound key to finish signing in.",
        reference=reference,
        user_key=reference,
        extension=extension,
    )
    return OutboxMessage.objects.get(reference=reference)


def answer(client: Client, message: OutboxMessage, choice: str):
    return client.post(f"/dev/outbox/calls/{message.pk}/answer", {"answer": choice})


def test_the_outbox_page_is_not_found_when_the_dev_outbox_is_off(client, settings) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "gateway": "outbox", "dev_outbox": False}
    assert client.get("/dev/outbox").status_code == 404


def test_a_call_cannot_be_answered_when_the_dev_outbox_is_off(
    client, settings, outbox, reference, answered
) -> None:
    ringing = ring(reference)
    settings.TWOFOLD = {**settings.TWOFOLD, "dev_outbox": False}
    assert answer(client, ringing, "approve").status_code == 404
    assert answered.events == []
    ringing.refresh_from_db()
    assert ringing.state == DeliveryState.QUEUED


def test_the_outbox_shows_a_text_with_its_full_number_and_body(client, outbox) -> None:
    services.send_text(NUMBER, "493817 is your code.", reference="r-1", user_key="1")
    page = client.get("/dev/outbox")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Outbox: the phone for this demo" in html
    assert "+1 425-555-0134" in html
    assert "493817 is your code." in html


def test_texts_and_calls_are_listed_newest_first(client, outbox) -> None:
    for number, minutes_ago in [("1", 5), ("2", 1), ("3", 3)]:
        services.send_text(NUMBER, f"text {number}", reference=f"t-{number}", user_key=number)
        services.place_call(
            NUMBER, script=f"call {number}", reference=f"c-{number}", user_key=f"c{number}"
        )
        OutboxMessage.objects.filter(reference__in=[f"t-{number}", f"c-{number}"]).update(
            created_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
    html = client.get("/dev/outbox").content.decode()
    texts = re.findall(r'data-testid="outbox-text-body">([^<]*)<', html)
    calls = re.findall(r'data-testid="outbox-call-script">([^<]*)<', html)
    assert texts == ["text 2", "text 3", "text 1"]
    assert calls == ["call 2", "call 3", "call 1"]


def test_a_ringing_call_shows_its_extension_and_the_three_answers(client, outbox, reference):
    ring(reference, extension="4321")
    html = client.get("/dev/outbox").content.decode()
    assert "4321" in html
    for testid in ["outbox-call-approve", "outbox-call-report-fraud", "outbox-call-decline"]:
        assert f'data-testid="{testid}"' in html


def test_the_page_carries_no_inline_script_or_style(client, outbox, reference) -> None:
    ring(reference)
    html = client.get("/dev/outbox").content.decode()
    assert "<script" not in html
    assert "<style" not in html
    assert " style=" not in html
    assert "twofold/outbox.css" in html


@pytest.mark.parametrize(
    ("choice", "digits", "state"),
    [
        ("approve", "#", DeliveryState.ANSWERED),
        ("fraud", "0#", DeliveryState.ANSWERED),
        ("decline", "", DeliveryState.NO_ANSWER),
    ],
)
def test_answering_a_call_sends_call_answered_with_the_keys_pressed(
    client, outbox, reference, answered, choice, digits, state
) -> None:
    ringing = ring(reference)
    response = answer(client, ringing, choice)
    assert response.status_code == 302
    assert response["Location"] == "/dev/outbox"
    assert answered.events == [{"sender": OutboxGateway, "reference": reference, "digits": digits}]
    ringing.refresh_from_db()
    assert (ringing.answered_digits, ringing.state) == (digits, state)
    assert ringing.answered_at is not None


def test_a_call_is_answered_once_only(client, outbox, reference, answered) -> None:
    ringing = ring(reference)
    answer(client, ringing, "approve")
    again = answer(client, ringing, "fraud")
    assert again.status_code == 302
    assert [event["digits"] for event in answered.events] == ["#"]
    assert "This call has already ended." in client.get("/dev/outbox").content.decode()


def test_an_unknown_answer_sends_nothing(client, outbox, reference, answered) -> None:
    ringing = ring(reference)
    answer(client, ringing, "1234#")
    assert answered.events == []
    ringing.refresh_from_db()
    assert ringing.state == DeliveryState.QUEUED


def test_a_text_cannot_be_answered_like_a_call(client, outbox, answered) -> None:
    services.send_text(NUMBER, "hello", reference="r-1", user_key="1")
    response = answer(client, OutboxMessage.objects.get(), "approve")
    assert response.status_code == 404
    assert answered.events == []


def test_answering_needs_the_pages_csrf_token(outbox, reference, answered) -> None:
    ringing = ring(reference)
    response = answer(Client(enforce_csrf_checks=True), ringing, "approve")
    assert response.status_code == 403
    assert answered.events == []


def test_the_page_is_get_only_and_the_answer_is_post_only(client, outbox, reference) -> None:
    ringing = ring(reference)
    assert client.post("/dev/outbox").status_code == 405
    assert client.get(f"/dev/outbox/calls/{ringing.pk}/answer").status_code == 405


def test_messages_older_than_a_day_are_dropped_from_the_outbox(outbox) -> None:
    services.send_text(NUMBER, "old", reference="r-old", user_key="1")
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(days=2))
    services.send_text(NUMBER, "new", reference="r-new", user_key="2")
    assert list(OutboxMessage.objects.values_list("body", flat=True)) == ["new"]
