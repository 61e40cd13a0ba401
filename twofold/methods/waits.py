"""How a challenge that waits for an answer ends: a call answered or a push decided, a
fraud report, a text or call that never arrived, or its time running out.

Gateways' callbacks and the app's decisions land here. Each takes its rows in the lock
order written in verification.py: the user first, then the challenge, then the method's
own rows (a phone whose new number is disowned).
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import context
from twofold.methods import base, verification
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState

# Alerts an operator routes to whoever must act at once (docs/security.md 12: fraud reports).
alerts = logging.getLogger("twofold.alerts")

#: The severity of every fraud report, in its audit event and its alert.
FRAUD_SEVERITY = "high"


def _locked_open(challenge_id: str | UUID) -> Challenge | None:
    """The open challenge ``challenge_id``, locked after its user; None when it is unknown
    or no longer open (a late or repeated callback)."""
    try:
        challenge_id = UUID(str(challenge_id))
    except ValueError:
        return None  # not one of ours (gateway references are opaque to them)
    owner = Challenge.objects.filter(pk=challenge_id).values_list("user_id", flat=True).first()
    user = verification.lock_user(owner) if owner is not None else None
    if user is None:
        return None
    # Read again under the locks: it may have been answered while the user was waited for.
    challenge = Challenge.objects.select_for_update().filter(pk=challenge_id).first()
    if challenge is None or not challenge.is_open:
        return None
    challenge.user = user
    return challenge


@transaction.atomic
def resolve_wait(
    challenge_id: str | UUID, *, approved: bool, fraud: bool = False
) -> Challenge | None:
    """A call was answered (or a push decided): approve, deny, or take a fraud report.

    Returns None when the challenge is unknown or no longer open (a late or repeated
    callback). See ``settle`` for what each answer does.
    """
    challenge = _locked_open(challenge_id)
    if challenge is None:
        return None
    return settle(challenge, approved=approved, fraud=fraud)


def settle(challenge: Challenge, *, approved: bool, fraud: bool = False) -> Challenge:
    """Decide an open ``challenge``, locked after its user (``challenge.user``, read afresh).

    A fraud report, where the organisation accepts them, fails the challenge and, if its
    policy says so, blocks the user until an administrator unblocks them. On the proof of
    a new number it fails the challenge and discards that number, whatever the policy.
    """
    user = challenge.user
    proof = challenge.purpose == ChallengePurpose.VERIFY_NUMBER
    if fraud and (user.organisation.fraud_report_enabled or proof):
        challenge.state = ChallengeState.FRAUD
    elif approved and not fraud and verification.locked_until(user) is None:
        challenge.state = ChallengeState.APPROVED
    else:
        challenge.state = ChallengeState.DENIED
    challenge.completed_at = timezone.now()
    challenge.save(update_fields=["state", "completed_at"])
    if challenge.state == ChallengeState.FRAUD:
        _take_fraud_report(user, challenge)
    elif challenge.state == ChallengeState.APPROVED:
        verification.audit_check(user, challenge, AuditResult.SUCCESS)
    else:
        verification.audit_check(user, challenge, AuditResult.DENIED, "refused on the phone")
    return challenge


def _take_fraud_report(user: User, challenge: Challenge) -> None:
    blocks = False
    if challenge.purpose == ChallengePurpose.VERIFY_NUMBER:
        # Whoever answers the proof of a new number may be a stranger reached by a typo:
        # their report discards that number (the method audits it) and blocks nobody.
        base.get(challenge.method).disown(challenge)
    else:
        blocks = user.organisation.fraud_report_blocks_user
        if blocks:  # and its trusted devices are forgotten: unblocking doesn't bring them back
            User.objects.filter(pk=user.pk).update(
                is_blocked=True,
                blocked_reason="fraud reported during verification",
                trusted_device_epoch=F("trusted_device_epoch") + 1,
            )
        record(
            AuditAction.FRAUD_REPORTED,
            AuditResult.DENIED,
            actor=user,
            subject=user,
            method=challenge.option,
            reason="user blocked" if blocks else "reported",
            severity=FRAUD_SEVERITY,
        )
    _alert_fraud(user, challenge, blocked=blocks)


def _alert_fraud(user: User, challenge: Challenge, *, blocked: bool) -> None:
    """One WARNING line per fraud report: who and how, never the number or a code."""
    alerts.warning(
        "fraud_reported",
        extra={
            "event": "fraud_reported",
            "severity": FRAUD_SEVERITY,
            "organisation": user.organisation.slug,
            "user_id": user.pk,
            "method": challenge.option,  # e.g. call:office, app_notification
            "method_kind": challenge.option.partition(":")[0],  # the policy's kind
            "purpose": challenge.purpose,  # verify_number: a new number disowned
            "blocked": blocked,
            "correlation_id": context.current().correlation_id,  # the audit event's
            "challenge_correlation_id": challenge.correlation_id,  # the sign-in's
        },
    )


def expire_if_due(challenge: Challenge) -> Challenge:
    """Mark an open challenge whose time ran out as expired (for pages that poll)."""
    if challenge.state == ChallengeState.PENDING and challenge.expires_at <= timezone.now():
        Challenge.objects.filter(pk=challenge.pk, state=ChallengeState.PENDING).update(
            state=ChallengeState.EXPIRED, completed_at=timezone.now()
        )
        challenge.refresh_from_db()
    return challenge


@transaction.atomic
def end_unreached(challenge_id: str | UUID) -> Challenge | None:
    """The gateway could not deliver the challenge's text or call (it failed, the line
    was busy, nobody answered): the challenge ends, so the waiting page can say so.

    Returns None when the challenge is unknown or no longer open (a late report).
    """
    challenge = _locked_open(challenge_id)
    if challenge is None:
        return None
    challenge.state = ChallengeState.UNREACHED
    challenge.completed_at = timezone.now()
    challenge.save(update_fields=["state", "completed_at"])
    record(
        AuditAction.CHALLENGE_UNDELIVERED,
        AuditResult.FAILURE,
        actor=challenge.user,
        subject=challenge.user,
        method=challenge.option,
        via=challenge.purpose,
        reason="undelivered",
    )
    return challenge


def end_reason(challenge: Challenge) -> str:
    """Why a finished ``challenge`` ended when its state alone would mislead: its method's
    reason (a push's "wrong_number"), or "stopped" for one ended before its time by a newer
    one, a discarded number or an administrator's reset (not "nobody answered in time")."""
    reason = base.get(challenge.method).end_reason(challenge)
    if reason:
        return reason
    if (
        challenge.state == ChallengeState.EXPIRED
        and challenge.completed_at is not None
        and challenge.completed_at < challenge.expires_at
    ):
        return "stopped"
    return ""
