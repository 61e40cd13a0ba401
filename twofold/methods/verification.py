"""Starting and checking challenges: the one verification path for pages and API alike.

Order inside a check, as the house rules want it: lock the challenge row, refuse while
the user's second factor is locked, compare in constant time, then mark the code used
and record the result. Wrong, malformed and empty codes all count towards the lockout.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import context
from twofold.core.crypto import constant_time_equals, keyed_digest, random_digits
from twofold.core.errors import InvalidInput, NotFound, RateLimited, TwofoldError
from twofold.core.ratelimit import Limit
from twofold.methods import base
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState

# Alerts an operator routes to whoever must act at once (SECURITY.md 12: fraud reports).
alerts = logging.getLogger("twofold.alerts")

CODE_LIFETIME = timedelta(minutes=5)
WAIT_LIFETIME = timedelta(minutes=2)
_SIX_DIGITS = re.compile(r"^\d{6}$")


class SecondFactorLocked(RateLimited):
    code = "locked"


class WrongCode(InvalidInput):
    code = "wrong_code"


class ChallengeExpired(InvalidInput):
    code = "expired"


class ChallengeFinished(InvalidInput):
    code = "finished"


def locked_until(user: User):
    """When the user's second factor unlocks, or None if it is not locked."""
    if user.mfa_locked_until and user.mfa_locked_until > timezone.now():
        return user.mfa_locked_until
    return None


def refuse_if_locked(user: User) -> None:
    """SecondFactorLocked while the user's second factor is locked out."""
    until = locked_until(user)
    if until is not None:
        seconds = int((until - timezone.now()).total_seconds()) + 1
        raise SecondFactorLocked(
            _("Verification is locked after too many failed attempts. Try again after %(time)s.")
            % {"time": date_format(timezone.localtime(until), "H:i T")},
            retry_after=seconds,
        )


def by_address() -> Limit:
    """Second-factor failures per client address, across users (one code sprayed at many)."""
    options = settings.TWOFOLD
    return Limit(
        "mfa-fail-address",
        options["mfa_failures_per_address"],
        options["mfa_failures_window_seconds"],
    )


def _failures(user: User) -> Limit:
    organisation = user.organisation
    return Limit(
        "mfa-fail-user", organisation.lockout_threshold, organisation.lockout_window_minutes * 60
    )


def code_digest(challenge: Challenge, code: str) -> str:
    """The stored form of a sent code: keyed, and bound to its own challenge."""
    return keyed_digest(f"{challenge.pk}:{code}", "challenge-code")


def issue_code(challenge: Challenge) -> str:
    """Make a fresh six-digit code for ``challenge``, keep only its digest, return the code."""
    code = random_digits(6)
    challenge.code_digest = code_digest(challenge, code)
    challenge.save(update_fields=["code_digest"])
    return code


def sent_code_matches(challenge: Challenge, code: str) -> bool:
    return bool(challenge.code_digest) and constant_time_equals(
        code_digest(challenge, code), challenge.code_digest
    )


def start_challenge(user: User, option_key: str, purpose: ChallengePurpose) -> Challenge:
    """Open a challenge with one of the user's registered options and start it."""
    option = base.find_option(user, option_key)
    if option is None:
        raise InvalidInput(_("This verification option is not available."))
    return open_challenge(user, option, purpose)


def open_challenge(
    user: User, option: base.Option, purpose: ChallengePurpose, *, subject: str = ""
) -> Challenge:
    """Open a challenge for ``option`` and let its method start it (send, call, notify).

    Methods call this directly to challenge something not registered yet (a new phone
    number). Any open challenge of the user for the same purpose is closed first: a new
    text makes the previous code useless. A refusal (a cap on texts, a gateway that is
    down) leaves nothing behind but its audit event.
    """
    try:
        with transaction.atomic():
            challenge = _open(user, option, purpose, subject)
    except TwofoldError as refused:
        record(
            AuditAction.CHALLENGE_STARTED,
            AuditResult.DENIED if isinstance(refused, RateLimited) else AuditResult.FAILURE,
            actor=user,
            subject=user,
            method=option.key,
            via=purpose,
            reason=refused.code,
        )
        raise
    return challenge


def _open(user: User, option: base.Option, purpose: ChallengePurpose, subject: str) -> Challenge:
    refuse_if_locked(user)
    base.get(option.method).refuse_start(user, option)
    now = timezone.now()
    Challenge.objects.filter(user=user, purpose=purpose, state=ChallengeState.PENDING).update(
        state=ChallengeState.EXPIRED, completed_at=now
    )
    request = context.current()
    lifetime = CODE_LIFETIME if option.interaction == base.Interaction.CODE else WAIT_LIFETIME
    challenge = Challenge.objects.create(
        user=user,
        method=option.method,
        option=option.key,
        purpose=purpose,
        subject=subject,
        created_at=now,  # the same instant: a code lives exactly its lifetime
        expires_at=now + lifetime,
        correlation_id=request.correlation_id,
        client_address=request.client_address,
    )
    base.get(option.method).start(challenge)
    record(
        AuditAction.CHALLENGE_STARTED,
        AuditResult.SUCCESS,
        actor=user,
        subject=user,
        method=option.key,
        via=purpose,
    )
    return challenge


def get_challenge(
    user: User,
    challenge_id: str | UUID,
    *,
    lock: bool = False,
    purpose: ChallengePurpose | None = None,
) -> Challenge:
    """The user's own challenge (for ``purpose``, if given); anybody else's, or one for
    another purpose, is "not found" (and never locked).

    With ``lock``, the challenge row is locked and its user (with the organisation) read
    afresh in the same statement.
    """
    challenges = Challenge.objects
    if lock:
        challenges = challenges.select_for_update(of=("self",)).select_related("user__organisation")
    if purpose is not None:
        challenges = challenges.filter(purpose=purpose)
    try:
        return challenges.get(pk=challenge_id, user=user)
    except (Challenge.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("This verification no longer exists. Start again.")) from None


@dataclass(frozen=True)
class _Outcome:
    challenge: Challenge | None
    error: Exception | None


def verify_code(
    user: User, challenge_id: str | UUID, code: str, *, purpose: ChallengePurpose | None = None
) -> Challenge:
    """Check ``code`` against the user's open challenge (for ``purpose``, if given: any
    other is "not found"); approve it or raise why not."""
    outcome = _check(user, challenge_id, (code or "").strip().replace(" ", ""), purpose)
    if outcome.error is not None:
        raise outcome.error
    return outcome.challenge


@transaction.atomic
def _check(
    user: User, challenge_id: str | UUID, code: str, purpose: ChallengePurpose | None
) -> _Outcome:
    # Failures are recorded and committed; the error is raised after the transaction.
    # One statement finds and locks the row, only if it is the user's (404 for anybody
    # else's), and reads the user afresh: their lockout may have begun since.
    challenge = get_challenge(user, challenge_id, lock=True, purpose=purpose)
    user = challenge.user
    try:
        refuse_if_locked(user)
        address = context.current().client_address or "unknown"
        per_address = by_address()
        if per_address.exceeded(address):
            raise RateLimited(retry_after=per_address.retry_after())
    except RateLimited as refused:
        _audit_check(user, challenge, AuditResult.DENIED, "locked")
        return _Outcome(None, refused)
    if challenge.state != ChallengeState.PENDING:
        return _Outcome(
            None, ChallengeFinished(_("This verification is already finished. Start again."))
        )
    if challenge.expires_at <= timezone.now():
        challenge.state = ChallengeState.EXPIRED
        challenge.completed_at = timezone.now()
        challenge.save(update_fields=["state", "completed_at"])
        return _Outcome(None, ChallengeExpired(_("This code has expired. Send a new one.")))
    if not (_SIX_DIGITS.match(code) and base.get(challenge.method).check(challenge, code)):
        return _Outcome(None, count_failure(user, challenge.option, challenge.purpose))
    challenge.state = ChallengeState.APPROVED
    challenge.completed_at = timezone.now()
    challenge.save(update_fields=["state", "completed_at"])
    _failures(user).reset(str(user.pk))
    _audit_check(user, challenge, AuditResult.SUCCESS)
    return _Outcome(challenge, None)


def count_failure(user: User, option_key: str, purpose: str) -> Exception:
    """Count a wrong second factor towards the user's lockout (and the address's limit),
    audit it, lock when the threshold is reached. Returns the error to raise.

    Every place that checks a code a person typed calls this on failure: sign-in,
    step-up, proving a number, activating a hardware token, the API.
    """
    by_address().hit(context.current().client_address or "unknown")
    failures = _failures(user)
    count = failures.hit(str(user.pk))
    record(
        AuditAction.CHALLENGE_VERIFIED,
        AuditResult.FAILURE,
        actor=user,
        subject=user,
        method=option_key,
        via=purpose,
        reason="wrong code",
    )
    if count >= failures.limit:
        organisation = user.organisation
        until = timezone.now() + timedelta(minutes=organisation.lockout_duration_minutes)
        User.objects.filter(pk=user.pk).update(mfa_locked_until=until)
        failures.reset(str(user.pk))
        record(
            AuditAction.MFA_LOCKED,
            AuditResult.DENIED,
            actor=user,
            subject=user,
            count=count,
        )
        user.mfa_locked_until = until
        try:
            refuse_if_locked(user)
        except SecondFactorLocked as locked:
            return locked
    return WrongCode(_("That code didn't work. Check it and try again."))


def _audit_check(user: User, challenge: Challenge, result: AuditResult, reason: str = "") -> None:
    details = {"method": challenge.option, "via": challenge.purpose}
    if reason:
        details["reason"] = reason
    record(AuditAction.CHALLENGE_VERIFIED, result, actor=user, subject=user, **details)


@transaction.atomic
def resolve_wait(
    challenge_id: str | UUID, *, approved: bool, fraud: bool = False
) -> Challenge | None:
    """A call was answered (or a push decided): approve, deny, or take a fraud report.

    A fraud report, where the organisation accepts them, fails the challenge and, if its
    policy says so, blocks the user until an administrator unblocks them. On the proof of
    a new number it fails the challenge and discards that number, whatever the policy. Returns None
    when the challenge is unknown or no longer open (a late or repeated callback).
    """
    try:
        challenge_id = UUID(str(challenge_id))
    except ValueError:
        return None  # not one of ours (gateway references are opaque to them)
    challenge = Challenge.objects.select_for_update().filter(pk=challenge_id).first()
    if challenge is None or not challenge.is_open:
        return None
    user = User.objects.select_related("organisation").get(pk=challenge.user_id)
    organisation = user.organisation
    proof = challenge.purpose == ChallengePurpose.VERIFY_NUMBER
    if fraud and (organisation.fraud_report_enabled or proof):
        challenge.state = ChallengeState.FRAUD
    elif approved and not fraud and locked_until(user) is None:
        challenge.state = ChallengeState.APPROVED
    else:
        challenge.state = ChallengeState.DENIED
    challenge.completed_at = timezone.now()
    challenge.save(update_fields=["state", "completed_at"])
    if challenge.state == ChallengeState.FRAUD:
        _take_fraud_report(user, challenge)
    elif challenge.state == ChallengeState.APPROVED:
        _audit_check(user, challenge, AuditResult.SUCCESS)
    else:
        _audit_check(user, challenge, AuditResult.DENIED, "refused on the phone")
    return challenge


def _take_fraud_report(user: User, challenge: Challenge) -> None:
    if challenge.purpose == ChallengePurpose.VERIFY_NUMBER:
        # Whoever answers the proof of a new number may be a stranger reached by a typo:
        # their report discards that number (the method audits it) and blocks nobody.
        base.get(challenge.method).disown(challenge)
        return
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
        severity="high",
    )
    _alert_fraud(user, challenge, blocked=blocks)


def _alert_fraud(user: User, challenge: Challenge, *, blocked: bool) -> None:
    """One WARNING line per fraud report: who and how, never the number or a code."""
    alerts.warning(
        "fraud_reported",
        extra={
            "event": "fraud_reported",
            "severity": "high",
            "organisation": user.organisation.slug,
            "user_id": user.pk,
            "method": challenge.option,  # e.g. call:office, app_notification
            "method_kind": challenge.option.partition(":")[0],  # the policy's MethodKind
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
    try:
        challenge_id = UUID(str(challenge_id))
    except ValueError:
        return None  # a notice, say: not a challenge
    challenge = (
        Challenge.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=challenge_id)
        .first()
    )
    if challenge is None or not challenge.is_open:
        return None
    challenge.state = ChallengeState.UNREACHED
    challenge.completed_at = timezone.now()
    challenge.save(update_fields=["state", "completed_at"])
    record(
        AuditAction.CHALLENGE_STARTED,
        AuditResult.FAILURE,
        actor=challenge.user,
        subject=challenge.user,
        method=challenge.option,
        via=challenge.purpose,
        reason="undelivered",
    )
    return challenge
