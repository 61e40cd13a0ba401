"""What one user's page shows of the audit log: recent sign-ins and recent events.

A user's events include those that applied to every user of the organisation at once (no
subject: forgetting everyone's remembered devices is one event, in constant time), from
the day the user was created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditEvent, organisation_wide
from twofold.methods import base

RECENT_EVENTS = 25
RECENT_SIGNINS = 10

# How a sign-in went, from its event: the second factor's option (its method's catalogue
# names it, methods/base.py), else the shortcut taken.
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


@dataclass(frozen=True)
class Decision:
    """One sign-in's "why": asked for a second factor or not, in a sentence."""

    at: datetime
    address: str
    why: str
    correlation_id: str


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
    kind = base.option_admin_label(option)
    if kind:
        return kind
    via = str(details.get("via", ""))
    return str(_SHORTCUTS.get(via, via or "—"))


def recent_decisions(user: User) -> list[Decision]:
    """Why each recent sign-in was asked for a second factor, or not (newest first)."""
    events = AuditEvent.objects.filter(subject_id=user.pk, action=AuditAction.SIGNIN_DECIDED)
    return [
        Decision(
            at=event.at,
            address=str(event.details.get("person_address") or event.client_address or ""),
            why=decision_sentence(event.details),
            correlation_id=event.correlation_id,
        )
        for event in events.order_by("-at", "-id")[:RECENT_SIGNINS]
    ]


_STATES = {"disabled": _("off"), "enabled": _("on"), "enforced": _("enforced")}
_FIRST_WHY = {
    "preferred": _("the user's preferred method"),
    "only": _("the user's only method"),
    "policy": _("no preferred method: the first allowed"),
}


def decision_sentence(details: dict) -> str:
    """ "Not asked: 203.0.113.0/24 is a trusted range": a signin.decided event, in words."""
    rule = str(details.get("rule", ""))
    state = _state_words(details)
    values = {
        "state": state,
        "range": details.get("range", ""),
        "until": details.get("until", ""),
        "device": details.get("device", ""),
        "since": details.get("since", ""),
    }
    if rule == "challenge":
        return _challenge_sentence(details, state)
    sentences = {
        "mfa_off": _("Not asked: two-step verification is off for this user."),
        "trusted_range": _("Not asked: %(range)s is a trusted range."),
        "bypass": _("Not asked: an administrator's one-time bypass (valid until %(until)s) "
                    "was used up."),
        "trusted_device": _("Not asked: remembered device %(device)s, remembered since "
                            "%(since)s."),
        "reregister": _("Asked to register: an administrator asked this user to provide "
                        "contact methods again."),
        "no_method": _("Asked to register: two-step verification is %(state)s and the user "
                       "has no method yet."),
    }  # fmt: skip
    sentence = sentences.get(rule)
    return str(sentence) % values if sentence else rule or "—"


def _state_words(details: dict) -> str:
    """ "enforced", "required by the organisation"…: what the decision went by."""
    state = str(details.get("state", ""))
    if details.get("administrator"):
        return gettext("enforced (always, for an administrator)")
    if state != "enforced" and details.get("organisation_requires"):
        return gettext("required by the organisation")
    return str(_STATES.get(state, state))


def _challenge_sentence(details: dict, state: str) -> str:
    if details.get("first_why") == "application":
        return gettext(
            "Asked: two-step verification is %(state)s; the application's call chose the method."
        ) % {"state": state}
    return gettext(
        "Asked: two-step verification is %(state)s; %(method)s was offered first (%(why)s)."
    ) % {
        "state": state,
        "method": signin_method({"method": details.get("first", "")}),
        "why": _FIRST_WHY.get(str(details.get("first_why", "")), details.get("first_why", "")),
    }
