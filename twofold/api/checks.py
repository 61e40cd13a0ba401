"""Checking a user for an application (/validate): password, then the second factor.

The same rules as the browser sign-in, through the same functions: the password goes
through ``accounts.services.check_password`` (its limits per user and per address, its
audit), codes through ``methods.verification`` (lockout, replay, audit), and whether a
second factor is needed is decided by ``signin.services.decide``, as for the pages and
in the same order: two-step verification off, re-registration asked, a trusted address
range, a one-time bypass, no method yet. Trusted-device cookies are a browser's and play
no part here.

App passwords (where the organisation allows them) stand in for password and second
factor together. They are tried only after ``check_password`` has refused the password,
so each failed attempt counts once against the user's sign-in limit like any wrong
password, and an exceeded limit refuses before any app password is hashed.

Two entry points use it: the REST API (api/validate.py) and the RADIUS front
(twofold/radius). Neither needs more of an HTTP request than the address context
(core/context), which both set before calling: RADIUS, which has no HTTP request, passes
None where the API passes its request.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _

from twofold.accounts import services as accounts
from twofold.accounts.backends import AccountBlocked, confirm_standing
from twofold.accounts.models import User, normalise_username
from twofold.api.reasons import ENDED, REFUSED, SHORTCUTS, Reason
from twofold.audit.services import batching
from twofold.core.errors import InvalidInput, NotFound
from twofold.methods import base, verification, waits
from twofold.methods.app_passwords import services as app_passwords
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.organisations.models import Organisation
from twofold.organisations.services import find_by_username
from twofold.signin import services as signin

ACCEPT, REJECT, CHALLENGE = "accept", "reject", "challenge"


@dataclass(frozen=True)
class Decision:
    result: str  # ACCEPT, REJECT or CHALLENGE
    user: User | None = None
    reason: Reason = Reason.PENDING  # how it was accepted, why not, or that it waits
    message: str = ""  # for people: the reason's own message unless a more precise one
    challenge: Challenge | None = None
    option: base.Option | None = None
    via: str = ""  # ACCEPT: the audit log's words, as for the browser ("second factor")
    polled: bool = False  # CHALLENGE: one started earlier, still waiting (nothing begun)

    @property
    def explained(self) -> str:
        return self.message or self.reason.message


def _reject(user: User | None, reason: Reason, message: str = "") -> Decision:
    return Decision(REJECT, user, reason, message)


def _accept(user: User, reason: Reason, via: str, challenge: Challenge | None = None) -> Decision:
    return Decision(ACCEPT, user, reason, challenge=challenge, via=via)


def _wrong_credentials(message: str = "") -> Decision:
    return _reject(None, Reason.INVALID_CREDENTIALS, message)


def _whole_call() -> bool:
    """Whether the caller holds one transaction for the whole check, its audit events
    written together at its end (``audit.services.together``: the API's checks, RADIUS).
    Then the user's row is locked as soon as the user is known, before any challenge is
    touched (the lock order, methods/verification.py), and held to the end: the check
    reads the user once, and the verification needs no lock of its own."""
    return batching()


def check(
    request: HttpRequest | None,
    organisation: Organisation,
    username: str,
    password: str | None,
    *,
    code: str | None = None,
    challenge_id: UUID | None = None,
    method: str | None = None,
    prefer_sending: bool = True,
    code_appended: tuple[str, str] | None = None,
) -> Decision:
    """Decide for ``username`` of ``organisation``: accept, reject, or a challenge to answer.

    With ``challenge_id`` and a code, the challenge a previous call started is answered;
    its password was checked then, so it need not be sent again. Without a code, ``method``
    or else the preferred option is started: of those that send something (text, call)
    if ``prefer_sending``, else whichever the user prefers. ``code_appended``: ``password``
    read as a password and a code after it (RADIUS's one field), tried before ``password``
    as a whole, the two readings one attempt (docs/radius.md).
    """
    username = normalise_username(username)
    if challenge_id is not None and password is None:
        return _answer_challenge_of(organisation, username, challenge_id, code)
    if password is None:
        raise InvalidInput(_("Send the user's password."), field="password")
    readings = [(password, code)]
    if code_appended is not None:
        readings.insert(0, code_appended)
    found = _password(request, organisation, username, readings)
    if isinstance(found, Decision):
        return found
    user, code = found
    if _whole_call():  # the password is checked: no row was held while it was hashed
        user = verification.lock_user(user.pk, organisation=organisation)
        if user is None:  # removed meanwhile
            return _wrong_credentials()
    step = signin.decide(request, user, devices=False)  # the browser's rule, in its order
    if step.next is signin.Next.SIGNED_IN:
        return _accept(user, SHORTCUTS[step.via], step.via)
    if step.next is signin.Next.REGISTER:
        return _reject(user, Reason.REGISTRATION_REQUIRED)
    options = _answerable(step.options)
    if challenge_id is not None:
        return _answer_challenge(user, challenge_id, code)
    if code is not None:
        return _held_code(user, code, method, options)
    return start(user, method, prefer_sending=prefer_sending, options=options)


def _password(
    request: HttpRequest | None,
    organisation: Organisation,
    username: str,
    readings: list[tuple[str, str | None]],
) -> tuple[User, str | None] | Decision:
    """The user and the code that came with the right reading of the password (as
    ``(password, code)``, the whole last); a decision if none is right (or the whole is
    an app password, which stands for both factors)."""
    owner = find_by_username(username)
    if owner is None or owner.pk != organisation.pk:
        # Another organisation's user (or nobody's): not this client's to check.
        return _wrong_credentials()
    try:
        user, reading = accounts.check_password_readings(
            request, username, [password for password, _code in readings], organisation=owner
        )
    except accounts.InvalidCredentials as wrong:
        holder = _app_password_holder(organisation, username, readings[-1][0])
        if holder is None:
            return _wrong_credentials(wrong.message)
        return _accept(holder, Reason.APP_PASSWORD, "app password")
    if user.organisation_id != organisation.pk:
        return _wrong_credentials()
    return user, readings[reading][1]


def _app_password_holder(organisation: Organisation, username: str, password: str) -> User | None:
    """The user whose app password this is, if the organisation allows them."""
    if not organisation.allow_app_passwords:
        return None
    user = (
        User.objects.select_related("organisation")
        .filter(username=normalise_username(username), organisation=organisation)
        .first()
    )
    if user is None:
        app_passwords.check_nobody(password)  # one hash, as for a user's wrong app password
        return None
    if not app_passwords.check(user, password):
        return None
    try:
        # Its directory's word on the account, which the password would have had.
        confirm_standing(user)
    except AccountBlocked:
        return None  # answered as a wrong password, as a blocked account's password is
    # A right credential forgives the wrong "password" check_password just counted, as a
    # right password would: an app polling with its app password never locks its user out,
    # nor fills its address's limit.
    accounts.forgive_password_attempt(username)
    return user


def _member(organisation: Organisation, username: str) -> User:
    """The organisation's user of that name, locked inside a whole call (``_whole_call``)."""
    if _whole_call():
        user = verification.lock_member(organisation, username)
    else:
        user = (
            User.objects.select_related("organisation")
            .filter(username=username, organisation=organisation)
            .first()
        )
    if user is None:
        raise NotFound(_("This verification no longer exists. Start again."))
    return user


def _answer_challenge_of(
    organisation: Organisation, username: str, challenge_id: UUID, code: str | None
) -> Decision:
    """``_answer_challenge`` for a user named by the client. In a whole call, a code's
    challenge and its user are read and locked by one statement, the user first."""
    if not code or not _whole_call():
        return _answer_challenge(_member(organisation, username), challenge_id, code)
    challenge = verification.lock_answered(
        organisation, username, challenge_id, ChallengePurpose.API
    )
    if challenge is None:
        raise NotFound(_("This verification no longer exists. Start again."))
    if not challenge.user.can_sign_in:
        return _wrong_credentials()
    return _verified(challenge.user, challenge_id, code, locked=challenge)


def _answer_challenge(user: User, challenge_id: UUID, code: str | None) -> Decision:
    """Check ``code`` against a challenge an earlier call started for ``user``; without a
    code, how a challenge that waits for the user (a push, a call) stands."""
    if not user.can_sign_in:
        return _wrong_credentials()
    if code is None:
        return _waiting(user, challenge_id)
    # Only a challenge the API started counts (any other is "not found"): checked in the
    # statement that locks it.
    return _verified(user, challenge_id, code, purpose=ChallengePurpose.API)


def answer(organisation: Organisation, username: str, challenge_id: UUID, code: str) -> Decision:
    """The second round of a challenge, from an entry point where the person cannot name
    the method of the code they type (RADIUS: whatever they type comes as the password).

    The code answers the challenge if the challenge's method reads a code of its shape;
    otherwise (a recovery code typed where a text was sent, an app code while a push
    waits), or if the challenge refused it as a wrong code, it is checked as a code the
    user holds, as ``check`` routes a code sent without a method: each method counting
    its own failures. An empty code (or one no method reads) asks how a challenge that
    waits stands."""
    user = _member(organisation, normalise_username(username))
    if not user.can_sign_in:
        return _wrong_credentials()
    if not code:
        return _waiting(user, challenge_id)
    challenge = verification.get_challenge(user, challenge_id, purpose=ChallengePurpose.API)
    options = _answerable(base.options_for(user))
    option = next((each for each in options if each.key == challenge.option), None)
    refused = None
    codes = option is not None and option.interaction == base.Interaction.CODE
    if codes and base.get(challenge.method).reads(code):
        refused = _verified(user, challenge_id, code, purpose=ChallengePurpose.API)
        if refused.result != REJECT or refused.reason is not Reason.WRONG_CODE:
            return refused
    held = [
        each
        for each in options
        if each.silent and each.key != challenge.option and base.get(each.method).reads(code)
    ]
    if held:
        return _held_code(user, code, None, held)
    if refused is not None:
        return refused
    if option is not None and option.interaction == base.Interaction.WAIT:
        return _waiting(user, challenge_id)  # "ok" typed to say "approved": asks how it stands
    return _verified(user, challenge_id, code, purpose=ChallengePurpose.API)


def _held_code(user: User, code: str, method: str | None, options: list[base.Option]) -> Decision:
    """A code the user already holds (authenticator app, hardware token): one call checks it."""
    if method:
        option = _chosen(options, method)
        if not option.silent:
            raise InvalidInput(
                _("This method sends its code: start a challenge, then send its challenge_id "
                  "with the code."),
                field="method",
            )  # fmt: skip
    else:
        # Not named: the first held-code option whose method reads a code of this shape
        # (a recovery code is not checked as an app code); if none does, the first of all,
        # where it counts as a wrong code.
        readers = [each for each in options if base.get(each.method).reads(code)]
        option = _first(user, readers, silent=True) or _first(user, options, silent=True)
    if option is None:
        return _reject(user, Reason.NO_CODE_METHOD)
    challenge = verification.open_challenge(user, option, ChallengePurpose.API)
    # In a whole call it is this transaction's own row, which nobody else sees until it
    # commits: checked as it is, not read and locked again.
    return _verified(user, challenge.pk, code, locked=challenge if _whole_call() else None)


def _verified(
    user: User,
    challenge_id: UUID,
    code: str,
    purpose: ChallengePurpose | None = None,
    *,
    locked: Challenge | None = None,
) -> Decision:
    # In a whole call, ``user`` was locked when it was found (``check``, ``_member``), or
    # with its challenge (``locked``, ``_answer_challenge_of``).
    try:
        challenge = verification.verify(
            user, challenge_id, code, purpose=purpose, user_locked=_whole_call(), locked=locked
        )
    except InvalidInput as refused:  # wrong, expired, finished: decided, and audited
        if refused.code not in REFUSED:
            raise
        return _reject(user, REFUSED[refused.code], refused.message)
    return _accept(user, Reason.SECOND_FACTOR, "second factor", challenge)


def _waiting(user: User, challenge_id: UUID) -> Decision:
    """A push or call the API started: still pending (the same result as when it was
    started), approved (accept), or how it ended (reject). A challenge that waits for a
    code needs the code."""
    challenge = waits.expire_if_due(
        verification.get_challenge(user, challenge_id, purpose=ChallengePurpose.API)
    )
    options = base.options_for(user)
    option = next((option for option in options if option.key == challenge.option), None)
    if option is None or option.interaction != base.Interaction.WAIT:
        raise InvalidInput(_("Send the code the user received."), field="code")
    if challenge.state == ChallengeState.PENDING:
        return Decision(CHALLENGE, user, challenge=challenge, option=option, polled=True)
    if challenge.state == ChallengeState.APPROVED:
        return _accept(user, Reason.SECOND_FACTOR, "second factor", challenge)
    ended = base.get(challenge.method).end_reason(challenge)  # a push's wrong number
    return Decision(REJECT, user, ENDED.get(ended) or ENDED[challenge.state], challenge=challenge)


def start(
    user: User,
    method: str | None,
    *,
    prefer_sending: bool = True,
    options: list[base.Option] | None = None,
) -> Decision:
    """Start ``method``, or else the preferred option (that sends something, if asked).
    ``options``: the user's, if the caller has just looked them up."""
    options = _answerable(base.options_for(user) if options is None else options)
    if method:
        option = _chosen(options, method)
    elif prefer_sending:
        option = _first(user, options, silent=False)
    else:
        option = base.preferred_option(user, options)
    if option is None:
        return _reject(user, Reason.CODE_REQUIRED)
    challenge = verification.open_challenge(user, option, ChallengePurpose.API)
    return Decision(CHALLENGE, user, challenge=challenge, option=option)


def _answerable(options: list[base.Option]) -> list[base.Option]:
    """The options an application can relay: a BROWSER option (a passkey) is answered by
    the person's own browser on twofold's pages, never through the API."""
    return [option for option in options if option.interaction != base.Interaction.BROWSER]


def _chosen(options: list[base.Option], method: str) -> base.Option:
    option = next((option for option in options if option.key == method), None)
    if option is None:
        raise InvalidInput(_("This verification option is not available."), field="method")
    return option


def _first(user: User, options: list[base.Option], *, silent: bool) -> base.Option | None:
    """The preferred option if it is of the kind wanted, else the first one that is."""
    preferred = base.preferred_option(user, options)
    if preferred is not None and preferred.silent == silent:
        return preferred
    return next((option for option in options if option.silent == silent), None)


def challenge_of(organisation: Organisation, challenge_id: UUID) -> Challenge:
    """A challenge the API started for one of the organisation's users, brought up to date."""
    challenge = Challenge.objects.filter(
        pk=challenge_id, purpose=ChallengePurpose.API, user__organisation=organisation
    ).first()
    if challenge is None:
        raise NotFound(_("This verification no longer exists. Start again."))
    return waits.expire_if_due(challenge)
