"""Sending texts and placing calls: the one entry point the phone method uses.

Every send first passes the toll-fraud caps (texts and calls together, per user, per
number and per country calling code in each hour, and a short cooldown per user and
number); over a cap nothing is sent. Every send, refused, failed or done, writes an audit
event with the masked number, never the number, the body or a code.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import phonenumbers
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import phones
from twofold.core.errors import InvalidInput, RateLimited
from twofold.core.ratelimit import Limit, resume_time
from twofold.delivery.base import (
    Call,
    DeliveryFailed,
    Gateway,
    GatewayError,
    Receipt,
    Text,
)

if TYPE_CHECKING:
    from twofold.accounts.models import User

__all__ = ["DeliveryFailed", "allowance_key", "get_gateway", "place_call", "send_text"]

log = logging.getLogger(__name__)

GATEWAYS = {
    "outbox": "twofold.delivery.outbox.OutboxGateway",
    "twilio": "twofold.delivery.twilio.TwilioGateway",
}
_HOUR = 60 * 60
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def get_gateway() -> Gateway:
    """The configured gateway: "outbox", "twilio" or the dotted path of a Gateway class."""
    return _gateway(settings.TWOFOLD["gateway"])


@lru_cache(maxsize=8)
def _gateway(choice: str) -> Gateway:
    gateway_class = import_string(GATEWAYS.get(choice, choice))
    if not (isinstance(gateway_class, type) and issubclass(gateway_class, Gateway)):
        raise ImproperlyConfigured(f"{choice!r} is not a delivery gateway")
    return gateway_class()


def allowance_key(user: User) -> str:
    """Whom the per-user cap counts a text or call to ``user`` against.

    The user; but while they register again after an administrator's reset, that reset:
    it has its own allowance, so texts from earlier in the hour cannot make the reset
    unusable. The per-number and per-country caps still count as always.
    """
    if user.must_reregister and user.reregister_nonce:
        return f"{user.pk}:reset:{user.reregister_nonce}"
    return str(user.pk)


def send_text(
    to: str,
    body: str,
    *,
    reference: str,
    user_key: str,
    subject: User | None = None,
    country_share: float = 1.0,
) -> Receipt:
    """Text ``body`` to ``to`` (E.164) within the caps; RateLimited or DeliveryFailed if not.

    ``reference`` comes back with any later delivery report; ``user_key`` is whom the caps
    count against; ``subject``, when given, is named in the audit event. Texts sent in
    bulk (notices) pass a ``country_share`` below 1: they stop at that share of the
    country's hourly cap, leaving the rest to codes people are waiting for.
    """
    text = Text(to=to, body=body, reference=reference)
    return _deliver(
        AuditAction.TEXT_SENT,
        to,
        user_key,
        subject,
        lambda gateway: gateway.send_text(text),
        country_share=country_share,
    )


def place_call(
    to: str,
    *,
    script: str,
    reference: str,
    user_key: str,
    extension: str = "",
    language: str = "en",
    subject: User | None = None,
) -> Receipt:
    """Call ``to`` and say ``script``, which asks for # (or 0# to report fraud).

    The keys pressed come back through ``base.call_answered`` with ``reference``. Same
    caps, errors and audit as ``send_text``.
    """
    call = Call(to=to, extension=extension, script=script, reference=reference, language=language)
    return _deliver(
        AuditAction.CALL_PLACED, to, user_key, subject, lambda gateway: gateway.place_call(call)
    )


def _deliver(
    action: AuditAction,
    to: str,
    user_key: str,
    subject: User | None,
    send: Callable[[Gateway], Receipt],
    *,
    country_share: float = 1.0,
) -> Receipt:
    _check_number(to)
    gateway = get_gateway()
    kind = "text" if action == AuditAction.TEXT_SENT else "call"
    audit = {
        "subject": subject,
        "subject_label": "" if subject else user_key,
        "masked_number": phones.mask(to),
        "via": gateway.name,
        "kind": kind,
    }
    cooldown = _cooldown(to, user_key)
    caps = (cooldown, *_hourly_caps(to, user_key, country_share))
    refused = _spend([cap for cap in caps if cap])
    if refused is not None:
        record(action, AuditResult.DENIED, reason=f"over the {refused.name} cap", **audit)
        raise refused.refusal(refused.limit.retry_after(refused.subject))
    try:
        with transaction.atomic():
            receipt = send(gateway)
            record(action, AuditResult.SUCCESS, **audit)
    except GatewayError as error:
        log.warning("delivery failed", extra={"gateway": gateway.name, "error": str(error)})
        if cooldown is not None:
            cooldown.release()  # nothing went out: the person may ask again at once
        record(action, AuditResult.FAILURE, reason="the gateway failed", **audit)
        raise DeliveryFailed() from error
    return receipt


def _check_number(to: str) -> None:
    try:  # the caps count per country calling code: it must be a known one
        valid = bool(_E164.fullmatch(to or "")) and bool(phones.calling_code_of(to))
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        raise InvalidInput(_("This is not a phone number."))


@dataclass(frozen=True)
class _Cap:
    name: str  # for the audit event: which cap refused
    limit: Limit
    subject: str
    refusal: Callable[[int], RateLimited]  # given the seconds left to wait

    def release(self) -> None:
        self.limit.reset(self.subject)


def _cooldown(to: str, user_key: str) -> _Cap | None:
    """One send per user and number every few seconds (None when switched off)."""
    seconds = settings.TWOFOLD["resend_cooldown_seconds"]
    if not seconds:
        return None

    def refusal(left: int) -> RateLimited:
        message = ngettext(
            "Wait %(seconds)d second before asking for another text or call to this number.",
            "Wait %(seconds)d seconds before asking for another text or call to this number.",
            left,
        ) % {"seconds": left}
        return RateLimited(message, retry_after=left)

    return _Cap("cooldown", Limit("delivery-cooldown", 1, seconds), f"{user_key}\n{to}", refusal)


def _hourly_caps(to: str, user_key: str, country_share: float = 1.0) -> list[_Cap]:
    """Texts and calls together in each hour: per user, per number, per country code
    (one counter per country, which a bulk send may fill only to ``country_share``)."""
    config = settings.TWOFOLD
    per_country = max(1, int(config["texts_per_country_per_hour"] * country_share))
    return [
        _Cap(
            "per-user",
            Limit("delivery-user", config["texts_per_user_per_hour"], _HOUR),
            user_key,
            lambda left: _over(
                _(
                    "You've asked for too many texts and calls in the last hour. "
                    "Try again after %(time)s, or choose another way to verify."
                ),
                left,
            ),
        ),
        _Cap(
            "per-number",
            Limit("delivery-number", config["texts_per_number_per_hour"], _HOUR),
            to,
            lambda left: _over(
                _(
                    "Too many texts and calls have gone to this phone number in the last "
                    "hour. Try again after %(time)s, or choose another way to verify."
                ),
                left,
            ),
        ),
        _Cap(
            "per-country",
            Limit("delivery-country", per_country, _HOUR),
            f"+{phones.calling_code_of(to)}",
            lambda left: _over(
                _(
                    "Too many texts and calls are going to this country just now. "
                    "Try again after %(time)s, or choose another way to verify."
                ),
                left,
            ),
        ),
    ]


def _over(message: str, left: int) -> RateLimited:
    """An hourly cap's refusal, saying when it lets texts and calls through again."""
    return RateLimited(message % {"time": resume_time(left)}, retry_after=left)


def _spend(caps: list[_Cap]) -> _Cap | None:
    """Count one send against every cap, or return the cap that refuses it.

    Checked before counting, so a refused send uses up no allowance; the count that
    ``hit`` returns settles races between servers (atomic on Redis).
    """
    for cap in caps:
        if cap.limit.exceeded(cap.subject):
            return cap
    for cap in caps:
        if cap.limit.hit(cap.subject) > cap.limit.limit:
            return cap
    return None
