"""What the phone method does when a gateway reports on a call or a text."""

from __future__ import annotations

from twofold.delivery.base import DeliveryState
from twofold.methods import waits

# The fates that mean the code or the call never reached the person.
_UNDELIVERED = frozenset({DeliveryState.FAILED, DeliveryState.NO_ANSWER})


def call_answered(sender: object, reference: str, digits: str, **kwargs: object) -> None:
    """# approves the call's challenge, 0# reports fraud, anything else refuses it."""
    digits = (digits or "").strip()
    waits.resolve_wait(reference, approved=digits == "#", fraud=digits == "0#")


def delivery_reported(sender: object, reference: str, state: str, **kwargs: object) -> None:
    """A failed, busy or unanswered call, or an undelivered text, ends its challenge."""
    if state in _UNDELIVERED:
        waits.end_unreached(reference)
