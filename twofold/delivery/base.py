"""The gateway interface: send a text, place a call that waits for a key, report what happened.

A gateway knows phone numbers and words to say, nothing about users or challenges: each
text and call carries an opaque ``reference`` (a challenge's ID), and whatever happens to
it later comes back through the signals below with that reference. ``methods/phone``
listens to them; the gateways only send them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.db import models
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

from twofold.core.errors import TwofoldError


class DeliveryState(models.TextChoices):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    ANSWERED = "answered"  # a call was answered and a key pressed (see call_answered)
    NO_ANSWER = "no_answer"


# GSM 03.38's default alphabet (one septet each) and its extension table (two septets).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def text_parts(body: str) -> int:
    """How many SMS parts ``body`` takes: GSM-7 when every character allows it (160 a
    part alone, 153 when concatenated), else UCS-2 (70 alone, 67 when concatenated),
    counted in UTF-16 code units as phones count them. Chinese text is always UCS-2."""
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in body):
        units = sum(2 if ch in _GSM_EXTENDED else 1 for ch in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else -(-units // part)


@dataclass(frozen=True)
class Text:
    to: str  # E.164, e.g. +14255550134
    body: str
    reference: str


@dataclass(frozen=True)
class Call:
    to: str  # E.164
    extension: str  # digits to dial after connecting ("" for none)
    script: str  # what the call says; it ends by asking for # (or 0# to report fraud)
    reference: str
    language: str = "en"


@dataclass(frozen=True)
class Receipt:
    gateway: str
    external_id: str
    state: DeliveryState


class Gateway(ABC):
    """One way of reaching phones. Implementations: outbox (default) and twilio."""

    name: str

    @abstractmethod
    def send_text(self, text: Text) -> Receipt: ...

    @abstractmethod
    def place_call(self, call: Call) -> Receipt: ...


class GatewayError(Exception):
    """The gateway refused or could not be reached; nothing was delivered.

    Its message is for the operator's log: it never holds a phone number or a body.
    """


class DeliveryFailed(TwofoldError):
    """What the pages and the API show when a gateway failed: try again, or another way."""

    status = 503
    code = "delivery_failed"
    default_message = _(
        "We couldn't reach your phone just now. Try again in a few minutes, "
        "or choose another way to verify."
    )


# Sent by a gateway when the person on a call pressed keys: digits is "#" to approve or
# "0#" to report fraud (anything else is a refusal). Receivers get reference= and digits=.
call_answered = Signal()
# Sent by a gateway when it learns a text's or call's fate: reference=, state=.
delivery_reported = Signal()
