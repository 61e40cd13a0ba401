"""Saving the security verification page: all of it, or nothing.

Every field is checked before anything is written. Changes that need no proof are then
saved together; a new number that the preferred option relies on (or that would be the
user's only phone) is held as pending and proven by a text or a call first, while the
old number stays in force.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core.errors import InvalidInput, RateLimited
from twofold.delivery.base import DeliveryFailed
from twofold.methods import base, verification
from twofold.methods.models import Challenge
from twofold.methods.phone import services as phone_services
from twofold.methods.phone.models import Phone, PhoneRole


@dataclass(frozen=True)
class PhoneEntry:
    number: str = ""  # E.164, or "" for no phone in this role
    extension: str = ""


@dataclass(frozen=True)
class Settings:
    preferred_option: str
    authentication: PhoneEntry
    authentication_mode: str
    office: PhoneEntry
    alternate: PhoneEntry


@dataclass(frozen=True)
class SaveResult:
    changed: bool
    verification: Challenge | None  # set when a new number must be proven first


_ROLE_OF_OPTION = {
    "text:authentication": PhoneRole.AUTHENTICATION,
    "call:authentication": PhoneRole.AUTHENTICATION,
    "call:office": PhoneRole.OFFICE,
}
_FIELD = {
    PhoneRole.AUTHENTICATION: "authentication_number",
    PhoneRole.OFFICE: "office_number",
    PhoneRole.ALTERNATE: "alternate_number",
}


@dataclass(frozen=True)
class _Plan:
    direct: dict[str, PhoneEntry]  # roles to set now ("" number = remove)
    proven: tuple[str, PhoneEntry] | None  # the one role whose new number needs proof


def _entries(settings: Settings) -> dict[str, PhoneEntry]:
    return {
        PhoneRole.AUTHENTICATION: settings.authentication,
        PhoneRole.OFFICE: settings.office,
        PhoneRole.ALTERNATE: settings.alternate,
    }


def _differs(phone: Phone | None, entry: PhoneEntry) -> bool:
    if phone is None:
        return bool(entry.number)
    return (phone.number, phone.extension) != (entry.number, entry.extension)


def _plan(user: User, settings: Settings, current: dict[str, Phone]) -> _Plan:
    entries = _entries(settings)
    changed = {role: entry for role, entry in entries.items() if _differs(current.get(role), entry)}
    # Proof is needed for a number the preferred option relies on, before or after this
    # save (switching both at once must not skip it), for any new authentication number,
    # and for a number that would be the user's only phone.
    relied_on = {
        _ROLE_OF_OPTION.get(settings.preferred_option),
        _ROLE_OF_OPTION.get(user.preferred_option),
        PhoneRole.AUTHENTICATION,
    }
    others_in_force = {
        role for role, entry in entries.items() if entry.number and role not in changed
    }
    needs_proof = [
        role
        for role, entry in changed.items()
        if entry.number and (role in relied_on or not others_in_force - {role})
    ]
    if len(needs_proof) > 1:
        raise InvalidInput(
            _("Change one phone number at a time, so that each new number can be verified."),
            field=_FIELD[needs_proof[1]],
        )
    proven = (needs_proof[0], changed.pop(needs_proof[0])) if needs_proof else None
    return _Plan(direct=changed, proven=proven)


def _check(user: User, settings: Settings) -> None:
    """Refuse what cannot be saved. A preferred option must stay usable, so the phone it
    relies on can't be removed, and the user always keeps at least that way to verify."""
    entries = _entries(settings)
    if entries[PhoneRole.ALTERNATE].number and not entries[PhoneRole.AUTHENTICATION].number:
        raise InvalidInput(
            _("Add an authentication phone before an alternate one."), field="alternate_number"
        )
    allowed = {key for key, _label in base.catalogue_for(user)}
    if settings.preferred_option not in allowed:
        raise InvalidInput(
            _("Your organisation doesn't allow this option."), field="preferred_option"
        )
    preferred_role = _ROLE_OF_OPTION.get(settings.preferred_option)
    if preferred_role is not None:
        if not entries[preferred_role].number:
            raise InvalidInput(
                _("Enter the phone number this option uses, or choose another option."),
                field="preferred_option",
            )
    elif not any(o.key == settings.preferred_option for o in _other_options(user)):
        raise InvalidInput(
            _("Set up this method before making it your preferred option."),
            field="preferred_option",
        )


def _other_options(user: User) -> list[base.Option]:
    return [option for option in base.options_for(user) if option.method != "phone"]


def save(user: User, settings: Settings) -> SaveResult:
    """Apply the page: everything valid is saved at once; a number needing proof waits.

    A refusal (a cap on texts, a gateway that is down) rolls everything back; its audit
    event is written after the rollback so that it stays.
    """
    try:
        return _save(user, settings)
    except (RateLimited, DeliveryFailed) as refused:
        record(
            AuditAction.PHONE_CHANGE_PENDING,
            AuditResult.DENIED,
            actor=user,
            subject=user,
            reason=refused.code,
        )
        raise


def _save(user: User, settings: Settings) -> SaveResult:
    with transaction.atomic():
        # The user's row first (the lock order in methods/verification.py), then the phones;
        # a proof opened below expires pending challenges under the same user lock.
        user = verification.lock_user(user.pk) or user
        current = {
            phone.role: phone
            for phone in Phone.objects.select_for_update().filter(user=user)
            if phone.in_force
        }
        plan = _plan(user, settings, current)
        _check(user, settings)
        waiting = _preferred_waiting(user, settings, plan)
        changed = _apply(user, settings, plan, apply_preferred=not waiting)
        challenge = None
        if plan.proven is not None:
            role, entry = plan.proven
            mode = settings.authentication_mode if role == PhoneRole.AUTHENTICATION else ""
            challenge = phone_services.request_change(
                user, role, entry.number, entry.extension, mode, waiting
            )
    return SaveResult(changed=changed or challenge is not None, verification=challenge)


def _preferred_waiting(user: User, settings: Settings, plan: _Plan) -> str:
    """The new preferred option, if it relies on the number still to be proven: it waits
    for the proof (and is dropped with the number if the change is discarded)."""
    if plan.proven is None or settings.preferred_option == user.preferred_option:
        return ""
    relies_on_proof = _ROLE_OF_OPTION.get(settings.preferred_option) == plan.proven[0]
    return settings.preferred_option if relies_on_proof else ""


def _apply(user: User, settings: Settings, plan: _Plan, *, apply_preferred: bool) -> bool:
    changed = bool(plan.direct)
    for role, entry in plan.direct.items():
        if entry.number:
            mode = settings.authentication_mode if role == PhoneRole.AUTHENTICATION else ""
            phone_services.set_number(user, role, entry.number, entry.extension, mode)
        else:
            phone_services.remove(user, role)
    if PhoneRole.AUTHENTICATION not in plan.direct and settings.authentication.number:
        phone_services.set_mode(user, settings.authentication_mode)
    if apply_preferred:  # this newer choice wins over one waiting for a proof, even unchanged
        phone_services.drop_waiting_preference(user)
    if apply_preferred and user.preferred_option != settings.preferred_option:
        User.objects.filter(pk=user.pk).update(preferred_option=settings.preferred_option)
        record(
            AuditAction.PREFERRED_OPTION_CHANGED,
            AuditResult.SUCCESS,
            actor=user,
            subject=user,
            method=settings.preferred_option,
        )
        changed = True
    return changed


@transaction.atomic
def restore_trusted_devices(user: User) -> None:
    """Make every browser the user trusted ask for the second factor again (one update)."""
    User.objects.filter(pk=user.pk).update(trusted_device_epoch=F("trusted_device_epoch") + 1)
    record(AuditAction.TRUSTED_DEVICES_RESTORED, AuditResult.SUCCESS, actor=user, subject=user)
