"""App passwords: made at random, shown once, stored hashed, checked only by the REST API.

They stand in for password + second factor in apps that cannot ask for a code (mail
clients, old VPNs), so they are never accepted by the browser sign-in.
"""

from __future__ import annotations

import re

from django.contrib.auth.hashers import check_password as check_hashed
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import crypto
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods.app_passwords.models import AppPassword
from twofold.methods.verification import locked_until

#: How many app passwords one user may keep (each is one more hash to try per check).
MAX_APP_PASSWORDS = 40
LENGTH = 16
_WELL_FORMED = re.compile(rf"^[a-z]{{{LENGTH}}}$")


def is_enabled(user: User) -> bool:
    """Whether the user's organisation lets its people use app passwords."""
    return user.organisation.allow_app_passwords


def _require_enabled(user: User) -> None:
    if not is_enabled(user):
        raise NotAllowed(_("Your organisation does not allow app passwords."))


def grouped(password: str) -> str:
    """The password in groups of four letters, as it is shown: "abcd efgh jkmn pqrs"."""
    return " ".join(password[i : i + 4] for i in range(0, len(password), 4))


def app_passwords(user: User) -> list[AppPassword]:
    return list(user.app_passwords.order_by("created_at", "id"))


def may_create(user: User) -> bool:
    return is_enabled(user) and user.app_passwords.count() < MAX_APP_PASSWORDS


def get(user: User, app_password_id: int) -> AppPassword:
    """The user's own app password; anybody else's is "not found"."""
    found = AppPassword.objects.filter(pk=app_password_id, user=user).first()
    if found is None:
        raise NotFound(_("This app password no longer exists."))
    return found


@transaction.atomic
def create(user: User, name: str) -> tuple[AppPassword, str]:
    """Make an app password named ``name``; returns it and its only clear copy."""
    _require_enabled(user)
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the app password a name, such as the app that will use it."))
    if len(name) > 60:
        raise InvalidInput(_("Use at most 60 characters."))
    if user.app_passwords.count() >= MAX_APP_PASSWORDS:
        raise InvalidInput(
            _("You have %(count)d app passwords, the most allowed. Delete one first.")
            % {"count": MAX_APP_PASSWORDS}
        )
    password = crypto.random_letters(LENGTH)
    app_password = AppPassword.objects.create(
        user=user, name=name, password=make_password(password)
    )
    record(
        AuditAction.APP_PASSWORD_CREATED,
        AuditResult.SUCCESS,
        actor=user,
        subject=user,
        id=app_password.pk,
    )
    return app_password, password


@transaction.atomic
def delete(user: User, app_password_id: int, *, actor: User | None = None) -> None:
    """Revoke one app password: it is refused from the next check on."""
    app_password = get(user, app_password_id)
    app_password_pk = app_password.pk
    app_password.delete()
    record(
        AuditAction.APP_PASSWORD_DELETED,
        AuditResult.SUCCESS,
        actor=actor or user,
        subject=user,
        id=app_password_pk,
    )


@transaction.atomic
def delete_all(user: User, *, actor: User | None = None) -> int:
    """Revoke every app password of ``user`` (an administrator's action); returns how many."""
    count, _by_model = AppPassword.objects.filter(user=user).delete()
    record(
        AuditAction.APP_PASSWORD_DELETED,
        AuditResult.SUCCESS,
        actor=actor or user,
        subject=user,
        count=count,
        reason="all",
    )
    return count


def _refusal(user: User) -> str:
    """Why the user may not use an app password now, or "" if they may."""
    if not is_enabled(user):
        return "app passwords not allowed"
    if not user.can_sign_in:
        return "user may not sign in"
    if locked_until(user) is not None:
        return "locked"
    return ""


@transaction.atomic
def check(user: User, password: str) -> bool:
    """Whether ``password`` is one of the user's app passwords (for the REST API only).

    Spaces and case are ignored ("abcd efgh …" as shown works). A match records when it
    was used; every check is audited.
    """
    refusal = _refusal(user)
    if refusal:
        record(
            AuditAction.APP_PASSWORD_USED,
            AuditResult.DENIED,
            actor=user,
            subject=user,
            reason=refusal,
        )
        return False
    candidate = "".join((password or "").split()).lower()
    matched = _find(user, candidate) if _WELL_FORMED.match(candidate) else None
    if matched is None:
        record(
            AuditAction.APP_PASSWORD_USED,
            AuditResult.FAILURE,
            actor=user,
            subject=user,
            reason="no match",
        )
        return False
    AppPassword.objects.filter(pk=matched.pk).update(last_used_at=timezone.now())
    record(
        AuditAction.APP_PASSWORD_USED, AuditResult.SUCCESS, actor=user, subject=user, id=matched.pk
    )
    return True


def _find(user: User, candidate: str) -> AppPassword | None:
    stored = list(AppPassword.objects.filter(user=user).order_by("pk"))
    if not stored:
        # Hash once anyway, so a user without app passwords answers as slowly as one with.
        make_password(candidate)
    for app_password in stored:

        def upgrade(raw: str, pk: int = app_password.pk) -> None:
            AppPassword.objects.filter(pk=pk).update(password=make_password(raw))

        if check_hashed(candidate, app_password.password, setter=upgrade):
            return app_password
    return None
