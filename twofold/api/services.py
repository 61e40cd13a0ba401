"""What the API does to users beyond the existing services: find one of the client's
organisation's users, create one with a set-password link, change a profile, delete.

``update_user`` and ``delete_user`` are account services in all but location: the admin
portal will want them too, and they belong in ``accounts.services`` (see the issue note).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from twofold.accounts import services as accounts
from twofold.accounts.models import MfaState, User, normalise_username
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods import base
from twofold.organisations.models import Organisation

MAX_DISPLAY_NAME = 150


def member_or_404(organisation: Organisation, username: str, *, actor_label: str) -> User:
    """A user of ``organisation``; anyone else is "not found", exactly like nobody (and audited)."""
    user = (
        User.objects.select_related("organisation")
        .filter(username=normalise_username(username))
        .first()
    )
    if user is not None and user.organisation_id != organisation.pk:
        record(
            AuditAction.ADMIN_ACCESS_DENIED,
            AuditResult.DENIED,
            organisation=organisation,
            actor_label=actor_label,
            reason="user of another organisation",
        )
        user = None
    if user is None:
        raise NotFound(_("There is no such user."))
    return user


def clean_display_name(value: str | None) -> str:
    name = " ".join((value or "").split())
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidInput(_("Use at most 150 characters."), field="display_name")
    return name


def clean_email(value: str | None) -> str:
    email = (value or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidInput(_("Enter a valid e-mail address."), field="email") from None
    return email


@transaction.atomic
def create_user(
    organisation: Organisation,
    username: str,
    *,
    display_name: str = "",
    email: str = "",
    mfa_state: str = MfaState.DISABLED,
    actor_label: str = "",
) -> tuple[User, str]:
    """Create a user without a password; returns them and their one-time set-password link."""
    user = accounts.create_user(
        organisation,
        username,
        None,
        display_name=clean_display_name(display_name),
        email=clean_email(email),
        mfa_state=mfa_state,
        actor_label=actor_label,
    )
    return user, accounts.password_link(user)


@transaction.atomic
def update_user(
    user: User,
    *,
    changes: dict[str, str | None],
    actor: User | None = None,
    actor_label: str = "",
) -> User:
    """Change any of display_name, email and mfa_state, all or nothing."""
    profile: dict[str, str] = {}
    if "display_name" in changes:
        profile["display_name"] = clean_display_name(changes["display_name"])
    if "email" in changes:
        profile["email"] = clean_email(changes["email"])
    state = changes.get("mfa_state")
    if "mfa_state" in changes and state not in MfaState.values:
        raise InvalidInput(_("Choose disabled, enabled or enforced."), field="mfa_state")
    changed = [field for field, value in profile.items() if getattr(user, field) != value]
    for field in changed:
        setattr(user, field, profile[field])
    if changed:
        user.save(update_fields=changed)
    if state is not None and state != user.mfa_state:
        accounts.set_mfa_state(
            User.objects.filter(pk=user.pk), state, actor=actor, actor_label=actor_label
        )
        changed.append("mfa_state")
    if changed:
        record(
            AuditAction.USER_UPDATED,
            AuditResult.SUCCESS,
            actor=actor,
            actor_label=actor_label,
            subject=user,
            fields=",".join(changed),
        )
    user.refresh_from_db()
    return user


@transaction.atomic
def delete_user(user: User, *, actor: User | None = None, actor_label: str = "") -> None:
    """Delete a user and every method they registered. Administrators are refused: they
    are removed in the admin portal, where another administrator can see it happen."""
    if user.is_admin:
        raise NotAllowed(_("Administrators cannot be deleted through the API."))
    ids = User.objects.filter(pk=user.pk).values("pk")
    list(ids.select_for_update())  # the user's row first; the audit chain's head last
    for method in base.registry().values():
        method.forget(ids)  # hardware tokens go back to the organisation's stock
    record(
        AuditAction.USER_DELETED,
        AuditResult.SUCCESS,
        actor=actor,
        actor_label=actor_label,
        subject=user,
    )
    user.delete()
