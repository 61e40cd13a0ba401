"""Changing phones: save directly, or hold a new number until its owner proves it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import languages, phones
from twofold.core.crypto import keyed_digest
from twofold.core.errors import InvalidInput, TwofoldError
from twofold.delivery import services as delivery
from twofold.delivery.base import text_parts
from twofold.methods import verification, waits
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.methods.phone import actions as phone_actions
from twofold.methods.phone.models import ContactMode, Phone, PhoneRole
from twofold.methods.phone.options import option_for

log = logging.getLogger(__name__)


def phones_of(user: User) -> dict[str, Phone]:
    return {phone.role: phone for phone in Phone.objects.filter(user=user)}


def verification_mode(phone: Phone) -> str:
    """How a new number is proven: the authentication phone by its mode, others by call."""
    return phone.mode if phone.role == PhoneRole.AUTHENTICATION else ContactMode.CALL


@transaction.atomic
def set_number(user: User, role: str, number: str, extension: str = "", mode: str = "") -> Phone:
    """Put ``number`` in force for ``role`` at once (no proof needed for this change)."""
    phone, _created = Phone.objects.select_for_update().get_or_create(user=user, role=role)
    changes = [
        name
        for name, before, after in (
            ("number", phone.number, number),
            ("extension", phone.extension, extension),
        )
        if before != after
    ]
    phone.number, phone.extension = number, extension
    _clear_pending(phone)
    if mode:
        phone.mode = mode
    phone.save()
    if changes:  # which parts changed, not the extension itself: it may be a long digit run
        _audit_change(user, role, masked_number=phone.masked, changes=changes)
    return phone


@transaction.atomic
def set_mode(user: User, mode: str) -> None:
    """Text or call: how the authentication phone is used (audited when it changes)."""
    changed = (
        Phone.objects.filter(user=user, role=PhoneRole.AUTHENTICATION)
        .exclude(mode=mode)
        .update(mode=mode)
    )
    if changed:
        _audit_change(user, PhoneRole.AUTHENTICATION, reason="mode", mode=mode)


@transaction.atomic
def remove(user: User, role: str) -> None:
    """Delete the phone of ``role``; a removed authentication phone is told (after commit)."""
    phone = Phone.objects.select_for_update().filter(user=user, role=role).first()
    if phone is None:
        return
    old = phone.number
    phone.delete()
    _audit_change(user, role, reason="removed")
    if old and role == PhoneRole.AUTHENTICATION:
        transaction.on_commit(lambda: _tell_removed_number(user, old))


def _audit_change(user: User, role: str, **details: object) -> None:
    """The user changed one of their own phones (details masked: never a full number)."""
    record(phone_actions.CHANGED, AuditResult.SUCCESS, actor=user, subject=user, kind=role,
           **details)  # fmt: skip


def _clear_pending(phone: Phone) -> None:
    phone.pending_number, phone.pending_extension, phone.pending_since = "", "", None
    phone.pending_preferred_option = ""


@transaction.atomic
def request_change(
    user: User,
    role: str,
    number: str,
    extension: str = "",
    mode: str = "",
    preferred_option: str = "",
) -> Challenge:
    """Hold ``number`` as pending for ``role`` and send the proof (a text code or a call).

    ``preferred_option``, if given, relies on the new number: it becomes the user's
    preferred option only once the number is proven.
    """
    verification.lock_user(user.pk)  # first: opening the proof expires pending challenges
    phone, _created = Phone.objects.select_for_update().get_or_create(user=user, role=role)
    # Only the newest request's preference may wait: another role's proof, expired below,
    # could still be sent again and must not bring back an older choice.
    drop_waiting_preference(user)
    phone.pending_number, phone.pending_extension = number, extension
    phone.pending_since = timezone.now()
    phone.pending_preferred_option = preferred_option
    if mode:
        phone.mode = mode
    phone.save()
    record(
        phone_actions.CHANGE_PENDING,
        AuditResult.SUCCESS,
        actor=user,
        subject=user,
        kind=role,
        masked_number=phone.masked_pending,
    )
    return start_verification(user, role)


def start_verification(user: User, role: str) -> Challenge:
    """Send (again) the proof for the pending number of ``role``."""
    phone = Phone.objects.filter(user=user, role=role).exclude(pending_number="").first()
    if phone is None:
        raise InvalidInput(_("There is no new number waiting to be verified."))
    option = option_for(phone, verification_mode(phone), pending=True)
    return verification.open_challenge(
        user, option, ChallengePurpose.VERIFY_NUMBER, subject=_proof_subject(role, phone)
    )


def proven_role(challenge: Challenge) -> str:
    """The role of the phone whose new number a VERIFY_NUMBER challenge proves."""
    return challenge.subject.partition(":")[0]


def _proof_subject(role: str, phone: Phone) -> str:
    """The role and a digest of the pending number: a proof counts for that number only."""
    number = phone.pending_number + phone.pending_extension
    return f"{role}:{keyed_digest(number, 'proof')[:16]}"


@transaction.atomic
def confirm_change(user: User, challenge: Challenge) -> Phone:
    """Put the proven pending number in force and tell the old number about it.

    InvalidInput, changing nothing, if the challenge is not an approved proof or if its
    phone went meanwhile (an administrator asked for contact methods again, say).
    """
    verification.lock_user(user.pk)  # first (the lock order): a preference may follow
    challenge = Challenge.objects.select_for_update().filter(pk=challenge.pk, user=user).first()
    if (
        challenge is None
        or challenge.purpose != ChallengePurpose.VERIFY_NUMBER
        or challenge.state != ChallengeState.APPROVED
    ):
        raise InvalidInput(_("This number has not been verified yet."))
    role = proven_role(challenge)
    phone = Phone.objects.select_for_update().filter(user=user, role=role).first()
    if phone is None:
        raise InvalidInput(_("This new number is no longer waiting. Enter it again to change it."))
    if not phone.pending_number:
        return phone  # already applied (a second tab, a repeated poll)
    if challenge.subject != _proof_subject(role, phone):
        raise InvalidInput(_("This number has not been verified yet."))
    old, preferred = phone.number, phone.pending_preferred_option
    phone.number, phone.extension = phone.pending_number, phone.pending_extension
    _clear_pending(phone)
    phone.save()
    _audit_change(user, phone.role, masked_number=phone.masked, via="verified")
    if preferred:
        _prefer(user, preferred)
    if old and old != phone.number and phone.role == PhoneRole.AUTHENTICATION:
        transaction.on_commit(lambda: _tell_old_number(user, old, phone.masked))
    return phone


def drop_waiting_preference(user: User) -> None:
    """The user chose a preferred option since: one still waiting for a proof is dropped."""
    Phone.objects.filter(user=user).exclude(pending_preferred_option="").update(
        pending_preferred_option=""
    )


def _prefer(user: User, option_key: str) -> None:
    """Make the option that waited for this proof the user's preferred one (audited)."""
    if (
        User.objects.filter(pk=user.pk)
        .exclude(preferred_option=option_key)
        .update(preferred_option=option_key)
    ):
        user.preferred_option = option_key
        record(
            AuditAction.PREFERRED_OPTION_CHANGED,
            AuditResult.SUCCESS,
            actor=user,
            subject=user,
            method=option_key,
            via="verified",
        )


def _tell_old_number(user: User, old: str, new_masked: str) -> None:
    with languages.speaking_to(user):
        body = old_number_notice(user.organisation.shown_name, new_masked)
    _send_notice(user, old, body)


def _tell_removed_number(user: User, old: str) -> None:
    with languages.speaking_to(user):
        body = removed_number_notice(user.organisation.shown_name)
    _send_notice(user, old, body)


def _send_notice(user: User, number: str, body: str) -> None:
    try:
        delivery.send_text(
            number,
            body,
            reference=f"notice-{user.pk}",
            user_key=delivery.allowance_key(user),
            subject=user,
        )
    except TwofoldError as failed:  # a notice must never undo the change it reports
        log.warning("could not notify the old authentication phone: %s", failed.code)


# Fewer letters of a name than this identify nobody: the notice leaves the name out then.
_SHORTEST_NAME = 8


def old_number_notice(organisation: str, new_masked: str) -> str:
    """The notice to the old number, in one SMS part: a long organisation name is cut
    short, or left out."""

    def render(name: str) -> str:
        if not name:
            return _(
                "Your authentication phone was changed to %(number)s. "
                "Not you? Contact your help desk."
            ) % {"number": new_masked}
        return _(
            "%(organisation)s: your authentication phone was changed to %(number)s. "
            "Not you? Contact your help desk."
        ) % {"organisation": name, "number": new_masked}

    return _in_one_part(organisation, render)


def removed_number_notice(organisation: str) -> str:
    """The notice to a removed authentication phone, in one SMS part: a long organisation
    name is cut short, or left out."""

    def render(name: str) -> str:
        if not name:
            return _(
                "This number is no longer your authentication phone. "
                "Not you? Contact your help desk."
            )
        return _(
            "%(organisation)s: this number is no longer your authentication phone. "
            "Not you? Contact your help desk."
        ) % {"organisation": name}

    return _in_one_part(organisation, render)


def _in_one_part(organisation: str, render: Callable[[str], str]) -> str:
    """The first ``render(name)`` that fits one SMS part (160 GSM-7 or 70 UCS-2 characters,
    Chinese always the latter): with the organisation's name, then with it cut ever
    shorter, then ``render("")``, the text without it."""
    for name in _shortened(organisation):
        body = render(name)
        if text_parts(body) == 1:
            return body
    return render("")


def _shortened(name: str) -> Iterator[str]:
    yield name
    for cut in range(len(name) - 1, _SHORTEST_NAME - 1, -1):
        yield name[:cut].rstrip() + "..."  # "..." keeps an English text in GSM-7


def _discard_pending(phone: Phone) -> None:
    """Forget the pending number: the number in force stays, a phone without one goes."""
    if phone.in_force:
        _clear_pending(phone)
        phone.save()
    else:
        phone.delete()


@transaction.atomic
def disown_pending(challenge: Challenge) -> None:
    """The person a proof call reached reported fraud: discard the number it was proving
    (only that one) and audit it, masked. Nobody is blocked: it may be a mistyped number.

    If the pending number changed since the call was placed, nothing is discarded: the
    report is audited as such, without the newer number (the person called never had it).
    """
    role = proven_role(challenge)
    phone = Phone.objects.select_for_update().filter(user_id=challenge.user_id, role=role).first()
    proving = phone is not None and phone.pending_number
    details = {"reason": "number changed since; nothing discarded"}
    if proving and challenge.subject == _proof_subject(role, phone):
        details = {"reason": "new number disowned and discarded"}
        details["masked_number"] = phone.masked_pending
        _discard_pending(phone)
    record(
        AuditAction.FRAUD_REPORTED,
        AuditResult.DENIED,
        actor=challenge.user,
        subject=challenge.user,
        method=challenge.option,
        kind=role,
        severity=waits.FRAUD_SEVERITY,
        **details,
    )


@transaction.atomic
def cancel_change(user: User, role: str) -> None:
    """Forget the pending number of ``role`` and expire its proof (audited, masked)."""
    verification.lock_user(user.pk)  # first (the lock order): then the phone, the proofs
    phone = Phone.objects.select_for_update().filter(user=user, role=role).first()
    if phone is None or not phone.pending_number:
        return
    masked_number = phone.masked_pending
    _discard_pending(phone)
    Challenge.objects.filter(
        user=user, purpose=ChallengePurpose.VERIFY_NUMBER, state=ChallengeState.PENDING
    ).update(state=ChallengeState.EXPIRED, completed_at=timezone.now())
    record(
        phone_actions.CHANGE_CANCELLED,
        AuditResult.SUCCESS,
        actor=user,
        subject=user,
        kind=role,
        masked_number=masked_number,
    )


def masked(number: str) -> str:
    return phones.mask(number) if number else ""
