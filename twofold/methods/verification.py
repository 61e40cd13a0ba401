"""Starting and checking challenges: the one verification path for pages and API alike.

Order inside a check, as the house rules want it: lock the rows (below), refuse while
the user's second factor is locked, check the challenge's state and expiry, let its
method parse the response and compare in constant time, then mark the code used and
record the result. Wrong, malformed and empty responses all count towards the lockout.

Lock order: the user's row first (``lock_user``), always; then the user's challenges and
the method's own rows (phones, devices, tokens) in whatever order a path needs. The
user's row is what serialises: every transaction that locks or updates a user's
challenges or phones, or that may then update the user (a lockout, a fraud report, a
preferred option proven), takes it first, so two of them for one user queue on it
instead of each holding a row the other needs (PostgreSQL would abort one as a
deadlock: a 500, a failed webhook). It is locked FOR NO KEY UPDATE, what an UPDATE of
the row takes anyway: inserts that merely refer to the user (audit events, challenges)
don't wait for it. Opening a challenge expires the user's pending ones without it (a
statement saved on the hot path): that transaction waits for no row afterwards, and a
push start, which must, locks the user first itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import batching, record
from twofold.core import context, metrics
from twofold.core.crypto import constant_time_equals, keyed_digest, random_digits
from twofold.core.errors import InvalidInput, NotFound, RateLimited, TwofoldError
from twofold.core.ratelimit import AddressLimits, Limit, resume_time
from twofold.methods import base
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState

if TYPE_CHECKING:
    from twofold.organisations.models import Organisation

CODE_LIFETIME = timedelta(minutes=5)
WAIT_LIFETIME = timedelta(minutes=2)


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
    """Second-factor failures per person's address, across users (one code sprayed at many);
    counted through ``AddressLimits``, which also fills an integration's own ceiling."""
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
        # What a push shows the person: their own address where it is known, else where
        # the request came from (an integration's, for one that reported none).
        client_address=request.person_address or request.client_address,
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


def _locking():
    return User.objects.select_for_update(no_key=True, of=("self",)).select_related("organisation")


def lock_user(user_id: int, *, organisation: Organisation | None = None) -> User | None:
    """Lock the user's row, first of all (the lock order above), and read it afresh with
    its organisation (not locked; ``organisation``: the user's, which the caller read in
    this transaction, not read again); None if the user is gone."""
    if organisation is None:
        return _locking().filter(pk=user_id).first()
    return _locked_in(organisation, pk=user_id)


def lock_member(organisation: Organisation, username: str) -> User | None:
    """``lock_user`` by user name, for a caller whose transaction begins with it and then
    verifies (``verify(..., user_locked=True)``): one statement instead of a read and a
    lock. The organisation is the caller's, read in this transaction: not read again.
    None if the organisation has no such user."""
    return _locked_in(organisation, username=username)


def _locked_in(organisation: Organisation, **lookup: object) -> User | None:
    """The organisation's user ``lookup`` finds, locked, given the organisation the caller
    read in this transaction instead of reading it again."""
    users = User.objects.select_for_update(no_key=True).filter(organisation=organisation)
    user = users.filter(**lookup).first()
    if user is not None:
        user.organisation = organisation
    return user


def lock_answered(
    organisation: Organisation, username: str, challenge_id: str | UUID, purpose: ChallengePurpose
) -> Challenge | None:
    """The challenge ``challenge_id`` of the organisation's user ``username``, with the
    user read afresh: both rows locked by one statement, the user's first (``FOR NO KEY
    UPDATE OF`` the user, then the challenge: PostgreSQL locks a joined row's tables in the
    order the ``OF`` list names them), which is the lock order above. For a caller whose
    transaction begins with it and then verifies the challenge (``verify(...,
    locked=...)``): one statement instead of two. The organisation is the caller's, read
    in this transaction: not read again. None if there is no such user, or no such
    challenge of theirs for ``purpose``."""
    challenges = (
        Challenge.objects.select_related("user")
        .select_for_update(no_key=True, of=("user", "self"))
        .filter(
            pk=challenge_id,
            purpose=purpose,
            user__username=username,
            user__organisation=organisation,
        )
    )
    try:
        challenge = challenges.get()
    except (Challenge.DoesNotExist, ValueError, TypeError, ValidationError):
        return None
    challenge.user.organisation = organisation
    return challenge


def get_challenge(
    user: User,
    challenge_id: str | UUID,
    *,
    lock: bool = False,
    purpose: ChallengePurpose | None = None,
    user_locked: bool = False,
) -> Challenge:
    """The user's own challenge (for ``purpose``, if given); anybody else's, or one for
    another purpose, is "not found" (and never locked).

    With ``lock``, the user's row is locked and read afresh (their lockout may have begun
    since), then the challenge row: two indexed statements, in the lock order above.
    ``user_locked``: the caller's transaction has done the first already (``lock_member``).
    """
    challenges = Challenge.objects
    if lock and not user_locked:
        user = lock_user(user.pk) or user  # a user gone meanwhile has no challenge left
    if lock:
        challenges = challenges.select_for_update()
    if purpose is not None:
        challenges = challenges.filter(purpose=purpose)
    try:
        challenge = challenges.get(pk=challenge_id, user=user)
    except (Challenge.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("This verification no longer exists. Start again.")) from None
    challenge.user = user
    return challenge


@dataclass(frozen=True)
class _Outcome:
    challenge: Challenge | None
    error: Exception | None
    option: str = ""  # the checked challenge's option (for the latency's method label)


def verify(
    user: User,
    challenge_id: str | UUID,
    response: str,
    *,
    purpose: ChallengePurpose | None = None,
    user_locked: bool = False,
    locked: Challenge | None = None,
) -> Challenge:
    """Check ``response`` (six digits, a recovery code, a WebAuthn assertion: its method
    parses it) against the user's open challenge (for ``purpose``, if given: any other is
    "not found"); approve it or raise why not. Pages and the API alike come here.
    ``user_locked``: ``user`` was read by ``lock_user`` or ``lock_member`` in the caller's
    transaction, which this check joins (its first lock is taken). ``locked``: the
    challenge itself, read with its user by ``lock_answered`` in that transaction."""
    with metrics.timed_check() as timing:
        outcome = _check(user, challenge_id, response or "", purpose, user_locked, locked)
        timing.option = outcome.option
    if outcome.error is not None:
        raise outcome.error
    return outcome.challenge


def verify_code(
    user: User, challenge_id: str | UUID, code: str, *, purpose: ChallengePurpose | None = None
) -> Challenge:
    """``verify`` under its older name: a typed code is one kind of response."""
    return verify(user, challenge_id, code, purpose=purpose)


def _check(
    user: User,
    challenge_id: str | UUID,
    response: str,
    purpose: ChallengePurpose | None,
    user_locked: bool = False,
    locked: Challenge | None = None,
) -> _Outcome:
    # Inside a call that is one transaction with its audit events queued (the API's checks
    # and RADIUS, audit.services.together), no savepoint of its own: an error escaping
    # here rolls the whole call back, and the call is recorded on its own, as when this
    # block alone rolled back.
    with transaction.atomic(savepoint=not batching()):
        return _checked(user, challenge_id, response, purpose, user_locked, locked)


def _checked(
    user: User,
    challenge_id: str | UUID,
    response: str,
    purpose: ChallengePurpose | None,
    user_locked: bool,
    locked: Challenge | None,
) -> _Outcome:
    # Failures are recorded and committed; the error is raised after the transaction.
    # The user's row is locked and read afresh (their lockout may have begun since), then
    # the challenge, only if it is the user's (404 for anybody else's): a lockout below
    # then updates a row this transaction already holds (the lock order above).
    challenge = locked or get_challenge(
        user, challenge_id, lock=True, purpose=purpose, user_locked=user_locked
    )
    user = challenge.user
    try:
        refuse_if_locked(user)
        addresses = AddressLimits.current(by_address())
        if addresses.exceeded():
            seconds = addresses.retry_after()
            raise RateLimited(
                _("Too many wrong codes were entered from your network. Try again after %(time)s.")
                % {"time": resume_time(seconds)},
                retry_after=seconds,
            )
    except RateLimited as refused:
        audit_check(user, challenge, AuditResult.DENIED, "locked")
        return _Outcome(None, refused, challenge.option)
    if challenge.state != ChallengeState.PENDING:
        finished = ChallengeFinished(_("This verification is already finished. Start again."))
        return _Outcome(None, finished, challenge.option)
    if challenge.expires_at <= timezone.now():
        challenge.state = ChallengeState.EXPIRED
        challenge.completed_at = timezone.now()
        challenge.save(update_fields=["state", "completed_at"])
        expired = ChallengeExpired(_("This code has expired. Send a new one."))
        return _Outcome(None, expired, challenge.option)
    method = base.get(challenge.method)
    parsed = method.parse(challenge, response)  # None: malformed, a wrong code like any
    if parsed is None or not method.check(challenge, parsed):
        failure = count_failure(user, challenge.option, challenge.purpose)
        return _Outcome(None, failure, challenge.option)
    challenge.state = ChallengeState.APPROVED
    challenge.completed_at = timezone.now()
    challenge.save(update_fields=["state", "completed_at"])
    _failures(user).reset(str(user.pk))
    audit_check(user, challenge, AuditResult.SUCCESS)
    return _Outcome(challenge, None, challenge.option)


def count_failure(user: User, option_key: str, purpose: str) -> Exception:
    """Count a wrong second factor towards the user's lockout (and the address's limit),
    audit it, lock when the threshold is reached. Returns the error to raise.

    Every place that checks a code a person typed calls this on failure: sign-in,
    step-up, proving a number, activating a hardware token, the API.
    """
    AddressLimits.current(by_address()).hit()  # the person's address (docs/security.md 32)
    failures = _failures(user)
    count = failures.hit(str(user.pk))
    locking = count >= failures.limit
    if locking:  # the user's row before the audit chain's head, the last lock
        organisation = user.organisation
        until = timezone.now() + timedelta(minutes=organisation.lockout_duration_minutes)
        User.objects.filter(pk=user.pk).update(mfa_locked_until=until)
        failures.reset(str(user.pk))
    record(
        AuditAction.CHALLENGE_VERIFIED,
        AuditResult.FAILURE,
        actor=user,
        subject=user,
        method=option_key,
        via=purpose,
        reason="wrong code",
    )
    if locking:
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


def audit_check(user: User, challenge: Challenge, result: AuditResult, reason: str = "") -> None:
    """The audit event of one check of ``challenge``: its option, purpose and result."""
    details = {"method": challenge.option, "via": challenge.purpose}
    if reason:
        details["reason"] = reason
    record(AuditAction.CHALLENGE_VERIFIED, result, actor=user, subject=user, **details)
