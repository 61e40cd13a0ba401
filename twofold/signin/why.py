"""Why a sign-in was asked for a second factor, or not: one audit event per sign-in.

``decide()`` takes the decision after a right password; this module writes it down as
one ``signin.decided`` event with machine-readable details, so the help desk can answer
"why was this person asked, or not asked" from the user's page or by correlation ID.

The details name the rule and what made it apply: the trusted range (the CIDR, never the
address: the event has that already), the one-time bypass (the event that granted it, and
until when), the remembered device (its ID and since when), why registration is needed,
and which method was offered first and why. Never a secret, a code or a phone number:
methods are named by their option key ("text:authentication"), as elsewhere in the log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.audit.services import record
from twofold.methods import base

# The rules, in the order decide() tries them.
MFA_OFF = "mfa_off"
REREGISTER = "reregister"
TRUSTED_RANGE = "trusted_range"
BYPASS = "bypass"
TRUSTED_DEVICE = "trusted_device"
NO_METHOD = "no_method"
CHALLENGE = "challenge"

# Why the first method offered was that one.
PREFERRED = "preferred"  # the user chose it as their preferred method
ONLY = "only"  # the user has no other
POLICY = "policy"  # no usable preference: the first the methods and the policy allow
APPLICATION = "application"  # an application's call (the API) chooses the method


@dataclass(frozen=True)
class Reason:
    """What the decision went by; each field only where its rule applies."""

    rule: str
    state: str  # the effective MFA state (an administrator's is at least "enforced")
    organisation_requires: bool = False  # the organisation asks it of everyone
    administrator: bool = False  # why the state is "enforced" whatever is stored
    range: str = ""  # TRUSTED_RANGE: the CIDR that matched
    granted_by_event: int | None = None  # BYPASS: the audit event that granted it
    until: str = ""  # BYPASS: when it would have expired
    device: int | None = None  # TRUSTED_DEVICE: the remembered device's ID
    since: str = ""  # TRUSTED_DEVICE: when it was remembered
    first: str = ""  # CHALLENGE: the option offered first ("app_code", "text:mobile")
    first_why: str = ""  # CHALLENGE: PREFERRED, ONLY, POLICY or APPLICATION
    channel: str = "pages"  # "pages" (browser, OpenID Connect) or "api"

    def details(self) -> dict:
        """The audit event's details: the fields that apply, nothing empty."""
        return {key: value for key, value in asdict(self).items() if value not in ("", None, False)}


def moment(at: datetime | None) -> str:
    """A time for the details: ISO 8601 to the second (no long digit runs)."""
    return at.isoformat(timespec="seconds") if at else ""


def bypass_granted_by(user: User) -> int | None:
    """The event that granted ``user``'s latest one-time bypass, if it is still in the log."""
    return (
        AuditEvent.objects.filter(subject_id=user.pk, action=AuditAction.BYPASS_GRANTED)
        .order_by("-at", "-id")
        .values_list("pk", flat=True)
        .first()
    )


def first_offered(user: User, options: list[base.Option]) -> tuple[base.Option | None, str]:
    """The option a browser sign-in begins with, and why that one."""
    first = base.preferred_option(user, options)
    if first is None:
        return None, ""
    if len(options) == 1:
        return first, ONLY
    return first, PREFERRED if first.key == user.preferred_option else POLICY


def record_decision(user: User, reason: Reason) -> None:
    """Write the one ``signin.decided`` event of this sign-in."""
    record(
        AuditAction.SIGNIN_DECIDED,
        AuditResult.SUCCESS,
        actor=user,
        subject=user,
        **reason.details(),
    )
