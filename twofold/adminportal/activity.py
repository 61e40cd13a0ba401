"""What one user's page shows of the audit log: recent sign-ins and recent events.

A user's events include those that applied to every user of the organisation at once (no
subject: forgetting everyone's remembered devices is one event, in constant time), from
the day the user was created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditEvent, organisation_wide

RECENT_EVENTS = 25
RECENT_SIGNINS = 10

# How a sign-in went, from its event: the second factor's option, else the shortcut taken.
_OPTION_KINDS = {
    "text": _("Text message"),
    "call": _("Call"),
    "app_code": _("Authenticator app code"),
    "app_notification": _("Authenticator app notification"),
    "hardware_token": _("Hardware token"),
}
_SHORTCUTS = {
    "second factor": _("Second factor"),
    "trusted device": _("Remembered device"),
    "trusted address": _("Trusted address"),
    "one-time bypass": _("One-time bypass"),
    "two-step verification off": _("Password only"),
    "registration": _("Registering a method"),
    "application": _("Sign-in to an application"),
}


@dataclass(frozen=True)
class SignIn:
    at: datetime
    result: str
    address: str
    method: str


def organisation_wide_events(user: User) -> QuerySet[AuditEvent]:
    """Events that applied to every user of ``user``'s organisation while they existed."""
    return AuditEvent.objects.filter(
        organisation_wide(), organisation_id=user.organisation_id, at__gte=user.created_at
    )


def recent_events(user: User) -> list[AuditEvent]:
    """The user's newest events, their organisation's organisation-wide ones among them
    (two index-ordered reads of a few rows each, merged)."""
    own = AuditEvent.objects.filter(subject_id=user.pk).order_by("-at", "-id")[:RECENT_EVENTS]
    everyone = organisation_wide_events(user).order_by("-at", "-id")[:RECENT_EVENTS]
    merged = sorted([*own, *everyone], key=lambda event: (event.at, event.pk), reverse=True)
    return merged[:RECENT_EVENTS]


def recent_signins(user: User) -> list[SignIn]:
    events = AuditEvent.objects.filter(subject_id=user.pk, action=AuditAction.SIGNIN_COMPLETED)
    return [
        SignIn(
            at=event.at,
            result=event.get_result_display(),
            address=event.client_address or "",
            method=str(signin_method(event.details)),
        )
        for event in events.order_by("-at", "-id")[:RECENT_SIGNINS]
    ]


def signin_method(details: dict) -> str:
    """ "Text message", "Remembered device"…: never a number, from the event's details."""
    option = str(details.get("method", ""))
    kind = _OPTION_KINDS.get(option) or _OPTION_KINDS.get(option.partition(":")[0])
    if kind:
        return str(kind)
    via = str(details.get("via", ""))
    return str(_SHORTCUTS.get(via, via or "—"))
