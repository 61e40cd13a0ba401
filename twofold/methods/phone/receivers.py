"""What the phone method does when a gateway reports that a call was answered."""

from __future__ import annotations

from twofold.methods import verification


def call_answered(sender: object, reference: str, digits: str, **kwargs: object) -> None:
    """# approves the call's challenge, 0# reports fraud, anything else refuses it."""
    digits = (digits or "").strip()
    verification.resolve_wait(reference, approved=digits == "#", fraud=digits == "0#")
