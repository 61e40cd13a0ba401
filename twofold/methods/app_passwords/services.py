"""App passwords: made at random, shown once, stored hashed, checked only by the REST API.

They stand in for password + second factor in apps that cannot ask for a code (mail
clients, old VPNs), so they are never accepted by the browser sign-in.

A check costs one Argon2 verification whoever asks (docs/security.md 21): the candidate's
keyed digest (HMAC under the configured secret key) finds the one row worth verifying,
and without one a dummy hash is verified instead. So neither the answer's timing nor its
body says whether the user exists or how many app passwords they have. The digest alone
is no shortcut to the password: without the key it is useless, and with it an attacker
still faces 72 random bits. Changing TWOFOLD_SECRET_KEY therefore voids every app password.
"""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings
from django.contrib.auth.hashers import check_password as check_hashed
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditResult
from twofold.audit.services import record
from twofold.core import crypto
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods.app_passwords import actions as app_password_actions
from twofold.methods.app_passwords.models import AppPassword
from twofold.methods.verification import locked_until

#: How many app passwords one user may keep.
MAX_APP_PASSWORDS = 40
LENGTH = 16
_WELL_FORMED = re.compile(rf"^[a-z]{{{LENGTH}}}$")


def _candidate(password: str | None) -> str | None:
    """The password as an app password is stored (no spaces, lower case), if it can be one."""
    candidate = "".join((password or "").split()).lower()
    return candidate if _WELL_FORMED.match(candidate) else None


def _digest(candidate: str) -> str:
    return crypto.keyed_digest(candidate, "app-password")


@cache
def _dummy_hash(cost: tuple[int, ...]) -> str:
    """A hash no candidate matches, at the configured cost: verified when no row is."""
    return make_password(crypto.random_token())


def check_nobody(password: str | None) -> None:
    """Spend what ``check`` spends on ``password``, for a user name that is nobody's."""
    candidate = _candidate(password)
    if candidate is not None:
        check_hashed(candidate, _dummy_hash(tuple(settings.TWOFOLD["argon2"])))


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
        user=user, name=name, password=make_password(password), lookup=_digest(password)
    )
    record(
        app_password_actions.CREATED,
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
        app_password_actions.DELETED,
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
        app_password_actions.DELETED,
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
    was used; every check is audited. Anything shaped like an app password costs one hash
    verification, refused or not (see the module's docstring).
    """
    candidate = _candidate(password)
    refusal = _refusal(user)
    if refusal:
        check_nobody(candidate)
        record(
            app_password_actions.USED,
            AuditResult.DENIED,
            actor=user,
            subject=user,
            reason=refusal,
        )
        return False
    matched = _find(user, candidate) if candidate is not None else None
    if matched is None:
        record(
            app_password_actions.USED,
            AuditResult.FAILURE,
            actor=user,
            subject=user,
            reason="no match",
        )
        return False
    AppPassword.objects.filter(pk=matched.pk).update(last_used_at=timezone.now())
    record(app_password_actions.USED, AuditResult.SUCCESS, actor=user, subject=user, id=matched.pk)
    return True


def _verified(candidate: str, app_password: AppPassword) -> bool:
    def upgrade(raw: str) -> None:  # a hash made at an older cost is remade at this one
        AppPassword.objects.filter(pk=app_password.pk).update(password=make_password(raw))

    return check_hashed(candidate, app_password.password, setter=upgrade)


def _find(user: User, candidate: str) -> AppPassword | None:
    """The user's app password ``candidate`` is, verifying exactly one hash.

    Rows from before the lookup digest (empty ``lookup``) cannot be found by it: while a
    user still has such rows, a candidate that matches no digest is verified against each
    of them (at most MAX_APP_PASSWORDS), and the one it matches gets its digest, so from
    its first use on it costs one hash like any other. We chose this over refusing the
    old rows, which would have broken every mail client set up before the upgrade; the
    extra cost is bounded, and it vanishes as each old app password is used once (or is
    deleted: the settings page lists them, and an administrator can delete them all).
    """
    digest = _digest(candidate)
    rows = list(
        AppPassword.objects.filter(user=user).filter(Q(lookup=digest) | Q(lookup="")).order_by("pk")
    )
    found = next((row for row in rows if row.lookup == digest), None)
    old = [row for row in rows if not row.lookup]
    if found is not None:
        return found if _verified(candidate, found) else None
    if not old:
        check_nobody(candidate)
        return None
    for row in old:
        if _verified(candidate, row):
            AppPassword.objects.filter(pk=row.pk).update(lookup=digest)
            return row
    return None
