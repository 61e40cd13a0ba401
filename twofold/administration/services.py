"""Administrators' actions on users: the same functions serve the portal and the API.

Every bulk action is set-based (a few statements whatever the number of users) and
writes one audit event per user it changed, except forgetting every trusted device of a
whole organisation: one update of the organisation's epoch and one event, in constant
time at any size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record, record_for_users, safe_text
from twofold.core.errors import InvalidInput, NotFound
from twofold.methods import base, reset_notices, resets
from twofold.methods.app_passwords.models import AppPassword
from twofold.organisations.models import Organisation

MAX_BYPASS_MINUTES = 60


@transaction.atomic
def remove_registration(user: User, method: str, item_id: int, *, actor: User) -> str:
    """One of ``user``'s registrations (an app, say), removed by an administrator through
    the method that owns it (methods/base.py ``admin_remove``, which audits it); returns
    what to tell them. NotFound when the method or the registration is not there."""
    found = base.registry().get(method)
    said = found.admin_remove(user, item_id, actor=actor) if found is not None else None
    if said is None:
        raise NotFound()
    return said


def restore_remembered_devices(
    users: QuerySet[User], *, actor: User | None, actor_label: str = ""
) -> int:
    """Every browser these users trusted asks for the second factor again (one UPDATE)."""
    chosen = User.objects.filter(pk__in=users.order_by().values("pk"))
    record_for_users(
        AuditAction.TRUSTED_DEVICES_FORGOTTEN,
        AuditResult.SUCCESS,
        chosen,
        actor=actor,
        actor_label=actor_label,
    )
    return chosen.update(trusted_device_epoch=F("trusted_device_epoch") + 1)


@transaction.atomic
def restore_remembered_devices_everywhere(
    organisation: Organisation, *, actor: User | None, actor_label: str = ""
) -> None:
    """Every browser any user of ``organisation`` trusted asks for the second factor again.

    Trusted devices carry the organisation's epoch (signin.trusted), so raising it is one
    single-row UPDATE and one audit event, whatever the number of users or devices.
    """
    Organisation.objects.filter(pk=organisation.pk).update(
        trusted_device_epoch=F("trusted_device_epoch") + 1
    )
    record(
        AuditAction.TRUSTED_DEVICES_FORGOTTEN,
        AuditResult.SUCCESS,
        organisation=organisation,
        actor=actor,
        actor_label=actor_label,
        subject_label="every user of the organisation",
    )


@transaction.atomic
def delete_app_passwords(
    users: QuerySet[User], *, actor: User | None, actor_label: str = ""
) -> int:
    """Delete every app password of these users; returns how many users had any."""
    passwords = AppPassword.objects.filter(user_id__in=users.order_by().values("pk"))
    owners = User.objects.filter(pk__in=passwords.values("user_id"))
    list(passwords.select_for_update().values_list("pk"))  # before the audit chain's head
    count = record_for_users(
        AuditAction.APP_PASSWORDS_DELETED_BY_ADMIN,
        AuditResult.SUCCESS,
        owners,
        actor=actor,
        actor_label=actor_label,
    )
    passwords.delete()
    return count


@dataclass(frozen=True)
class ManageResult:
    reregistered: int = 0
    nonce: str = ""  # access codes derive from it: resets.access_code(user_id, nonce)
    app_passwords: int = 0
    restored: int = 0
    notices: int = 0  # texts owed to the reset users' old authentication phones


@dataclass(frozen=True)
class ManagePreview:
    """What "manage user settings" would change, counted before the administrator confirms."""

    reregister: int = 0  # users asked to provide contact methods again
    told_by_text: int = 0  # of them, those whose old authentication phone gets a text
    app_passwords: int = 0  # users who have app passwords to delete
    restore: int = 0  # users whose remembered devices are forgotten


def preview_user_settings(
    users: QuerySet[User], *, reregister: bool, app_passwords: bool, restore: bool
) -> ManagePreview:
    """Count what ``manage_user_settings`` would change for ``users``, changing nothing."""
    if not (reregister or app_passwords or restore):
        raise InvalidInput(_("Choose at least one thing to do."))
    ids = users.order_by().values("pk")
    count = users.count()
    owners = AppPassword.objects.filter(user_id__in=ids).values("user_id").distinct()
    return ManagePreview(
        reregister=count if reregister else 0,
        told_by_text=resets.told_by_text_count(ids) if reregister else 0,
        app_passwords=owners.count() if app_passwords else 0,
        restore=count if restore or reregister else 0,
    )


@transaction.atomic
def manage_user_settings(
    users: QuerySet[User],
    *,
    actor: User | None,
    reregister: bool = False,
    app_passwords: bool = False,
    restore: bool = False,
    everyone: Organisation | None = None,
    actor_label: str = "",
) -> ManageResult:
    """The seeds' "Manage user settings": any combination of the three, all or nothing.

    ``everyone``: the organisation, when ``users`` are all of its users. Remembered devices
    are then forgotten through its epoch, in constant time, with one audit event.
    ``actor_label``: who acted when no administrator did (an API client), for the events.
    """
    if not (reregister or app_passwords or restore):
        raise InvalidInput(_("Choose at least one thing to do."))
    # Re-registration last: it removes methods, which can change what ``users`` selects.
    deleted = (
        delete_app_passwords(users, actor=actor, actor_label=actor_label) if app_passwords else 0
    )
    # Re-registration forgets devices too; don't forget (and audit) them twice.
    restored = 0
    if restore and not reregister and everyone is not None:
        restore_remembered_devices_everywhere(everyone, actor=actor, actor_label=actor_label)
        restored = users.count()
    elif restore and not reregister:
        restored = restore_remembered_devices(users, actor=actor, actor_label=actor_label)
    reregistered, nonce = (
        resets.require_reregistration(users, actor=actor, actor_label=actor_label)
        if reregister
        else (0, "")
    )
    return ManageResult(
        reregistered=reregistered,
        nonce=nonce,
        notices=reset_notices.owed_to(nonce),
        app_passwords=deleted,
        restored=restored or reregistered,
    )


@transaction.atomic
def unblock(user: User, *, actor: User | None, actor_label: str = "") -> None:
    User.objects.filter(pk=user.pk).update(is_blocked=False, blocked_reason="")
    record(
        AuditAction.USER_UNBLOCKED,
        AuditResult.SUCCESS,
        actor=actor,
        actor_label=actor_label,
        subject=user,
    )


@transaction.atomic
def unlock(user: User, *, actor: User | None, actor_label: str = "") -> None:
    User.objects.filter(pk=user.pk).update(mfa_locked_until=None)
    record(
        AuditAction.USER_UNLOCKED,
        AuditResult.SUCCESS,
        actor=actor,
        actor_label=actor_label,
        subject=user,
    )


@transaction.atomic
def grant_bypass(
    user: User, *, minutes: int, reason: str, actor: User | None, actor_label: str = ""
) -> None:
    """Let the user's next sign-in within ``minutes`` skip the second factor, once."""
    if not 1 <= minutes <= MAX_BYPASS_MINUTES:
        raise InvalidInput(_("Choose between 1 and 60 minutes."), field="minutes")
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput(_("Say why, for the audit log."), field="reason")
    until = timezone.now() + timedelta(minutes=minutes)
    User.objects.filter(pk=user.pk).update(mfa_bypass_until=until)
    record(
        AuditAction.BYPASS_GRANTED,
        AuditResult.SUCCESS,
        actor=actor,
        actor_label=actor_label,
        subject=user,
        reason=safe_text(reason),
        count=minutes,
    )
