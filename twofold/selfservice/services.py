"""Saving the security verification page: all of it, or nothing.

Every field is checked before anything is written. Each method saves its own part of the
page (methods/base.py ``SettingsChanges``: the phones' numbers) inside one transaction with
the preferred option; a change that counts only once proven (a new number) hands back
its proof, and a preferred option that relies on it waits for it.
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


@dataclass(frozen=True)
class SaveResult:
    changed: bool
    verification: Challenge | None  # set when a change must be proven first
    proof_url: str = ""  # the method's page that asks for that proof


def _check(user: User, preferred_option: str, parts: list[base.SettingsChanges]) -> None:
    """Refuse a preferred option the organisation does not allow, or that nothing makes
    usable: not a method's part of the page (which checks its own), nor registered."""
    allowed = {key for key, _label in base.catalogue_for(user)}
    if preferred_option not in allowed:
        raise InvalidInput(
            _("Your organisation doesn't allow this option."), field="preferred_option"
        )
    if any(part.offers(preferred_option) for part in parts):
        return
    if not any(option.key == preferred_option for option in base.options_for(user)):
        raise InvalidInput(
            _("Set up this method before making it your preferred option."),
            field="preferred_option",
        )


def save(user: User, preferred_option: str, parts: list[base.SettingsChanges]) -> SaveResult:
    """Apply the page: everything valid is saved at once; a change needing proof waits.

    A refusal (a cap on texts, a gateway that is down) rolls everything back; the methods
    record it after the rollback so that it stays.
    """
    try:
        return _save(user, preferred_option, parts)
    except (RateLimited, DeliveryFailed) as refused:
        for part in parts:
            part.refused(user, refused)
        raise


def _save(user: User, preferred_option: str, parts: list[base.SettingsChanges]) -> SaveResult:
    with transaction.atomic():
        # The user's row first (the lock order in methods/verification.py), then each
        # method's rows; a proof opened by a part expires pending challenges under it.
        user = verification.lock_user(user.pk) or user
        _check(user, preferred_option, parts)
        saved = [part.save(user, preferred_option) for part in parts]
        waits = any(one.preferred_waits for one in saved)
        changed = any(one.changed for one in saved)
        if not waits and user.preferred_option != preferred_option:
            User.objects.filter(pk=user.pk).update(preferred_option=preferred_option)
            record(
                AuditAction.PREFERRED_OPTION_CHANGED,
                AuditResult.SUCCESS,
                actor=user,
                subject=user,
                method=preferred_option,
            )
            changed = True
    proof = next((one for one in saved if one.proof is not None), None)
    return SaveResult(
        changed=changed,
        verification=proof.proof if proof else None,
        proof_url=proof.proof_url if proof else "",
    )


@transaction.atomic
def restore_trusted_devices(user: User) -> None:
    """Make every browser the user trusted ask for the second factor again (one update)."""
    User.objects.filter(pk=user.pk).update(trusted_device_epoch=F("trusted_device_epoch") + 1)
    record(AuditAction.TRUSTED_DEVICES_RESTORED, AuditResult.SUCCESS, actor=user, subject=user)
