"""The outbox gateway (the default): texts and calls are stored, and a person answers them
on the dev outbox page instead of on a phone."""

from __future__ import annotations

from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from twofold.core.errors import InvalidInput, NotFound
from twofold.delivery.base import (
    Call,
    DeliveryState,
    Gateway,
    Receipt,
    Text,
    call_answered,
)
from twofold.delivery.models import OutboxKind, OutboxMessage

# Bodies hold codes in clear: keep them no longer than a developer needs to read them.
RETENTION = timedelta(days=1)
SHOWN_PER_KIND = 50


class Answer(models.TextChoices):
    """What the person on the outbox page does with a ringing call, and the keys it means."""

    APPROVE = "approve", gettext_lazy("Answer and press #")
    REPORT_FRAUD = "fraud", gettext_lazy("Press 0# (report fraud)")
    DECLINE = "decline", gettext_lazy("Decline")


KEYS = {Answer.APPROVE: "#", Answer.REPORT_FRAUD: "0#", Answer.DECLINE: ""}


class OutboxGateway(Gateway):
    name = "outbox"

    def send_text(self, text: Text) -> Receipt:
        message = _store(
            kind=OutboxKind.TEXT,
            to=text.to,
            body=text.body,
            reference=text.reference,
            state=DeliveryState.DELIVERED,  # the outbox is the phone: it has arrived
        )
        return Receipt(self.name, str(message.pk), DeliveryState.DELIVERED)

    def place_call(self, call: Call) -> Receipt:
        message = _store(
            kind=OutboxKind.CALL,
            to=call.to,
            extension=call.extension,
            body=call.script,
            language=call.language,
            reference=call.reference,
            state=DeliveryState.QUEUED,  # ringing until someone answers on the page
        )
        return Receipt(self.name, str(message.pk), DeliveryState.QUEUED)


def _store(**fields: str) -> OutboxMessage:
    OutboxMessage.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return OutboxMessage.objects.create(**fields)


def recent(kind: OutboxKind) -> list[OutboxMessage]:
    """The newest texts or calls first, as the dev outbox page lists them."""
    return list(
        OutboxMessage.objects.filter(kind=kind).order_by("-created_at", "-id")[:SHOWN_PER_KIND]
    )


def answer_call(message_id: int, answer: Answer) -> OutboxMessage:
    """Answer a ringing outbox call: record the keys and tell whoever waits for the call.

    The keys are recorded and ``call_answered`` is sent in one transaction, so a receiver
    that fails leaves the call ringing, to be answered again. Declining presses no key:
    the person refused the verification ("declined"); a call that never got through is
    what a gateway's delivery report says (``delivery_reported``).
    """
    digits = KEYS[Answer(answer)]
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update()
            .filter(pk=message_id, kind=OutboxKind.CALL)
            .first()
        )
        if message is None:
            raise NotFound(_("There is no such call in the outbox."))
        if not message.is_ringing:
            raise InvalidInput(_("This call has already ended."))
        message.answered_digits = digits
        message.answered_at = timezone.now()
        message.state = DeliveryState.ANSWERED if digits else DeliveryState.NO_ANSWER
        message.save(update_fields=["answered_digits", "answered_at", "state"])
        call_answered.send(sender=OutboxGateway, reference=message.reference, digits=digits)
    return message
