"""Password authentication through Django's ModelBackend, refusing blocked users.

ModelBackend already hashes a dummy password for an unknown user name, so a sign-in
with an unknown user takes as long as one with a wrong password. Every path hashes
exactly once, a blocked user's too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from operator import or_

from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from twofold.accounts.models import User
from twofold.core.errors import NotAllowed

# Apps that keep some users' passwords elsewhere register a checker here (from their
# AppConfig.ready): it answers True or False for its users and None for the others. Every
# password path goes through this backend, so a checker applies to all of them at once.
password_checkers: list[Callable[[User, str], bool | None]] = []

# The same apps register a standing checker: whether one of their users may sign in now,
# asked on the ways in that skip the password (a passwordless passkey, an app password), so
# that an account its directory disabled, locked or removed is refused there too and not
# only at the next sync. It raises AccountBlocked (or a subclass) to refuse, and its
# dependency's error when it cannot tell; it returns for anyone else.
standing_checkers: list[Callable[[User], None]] = []


# And which users' passwords they keep: a filter on users (a directory's people). twofold
# never sets, nor offers to set, a password it would never check (docs/directory.md).
password_keepers: list[Callable[[], Q]] = []


def kept_elsewhere() -> Q:
    """The users whose password a registered keeper (their directory) keeps; nobody if none."""
    return reduce(or_, (keeper() for keeper in password_keepers), Q(pk__in=[]))


def confirm_standing(user: User) -> None:
    """For a sign-in without the password: what the password check would have said of the
    account's state, asked of whoever keeps the account (docs/directory.md)."""
    for checker in standing_checkers:
        checker(user)


class AccountBlocked(NotAllowed):
    """The password was right, but the account is blocked (after a fraud report, or by an
    administrator). Only someone who knows the password learns this (docs/security.md 21)."""

    code = "account_blocked"
    default_message = _(
        "Your account is blocked, so you can't sign in. Contact your help desk to unblock it, "
        "and give them the correlation ID below."
    )


class PasswordBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: object,
    ) -> User | None:
        """ModelBackend's check, which also says when a right password meets a block."""
        if username is None or password is None:
            return None
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            User().set_password(password)  # the same hashing time as a wrong password
            return None
        if not self.password_matches(user, password):
            return None
        if user.is_active and user.is_blocked:
            raise AccountBlocked()
        return user if self.user_can_authenticate(user) else None

    def password_matches(self, user: User, password: str) -> bool:
        """The first verdict of a registered checker (a directory's, for its users), else
        the hash twofold keeps. A checker's errors (its directory down) propagate: there
        is no falling back to another verdict."""
        for checker in password_checkers:
            verdict = checker(user, password)
            if verdict is not None:
                return verdict
        return user.check_password(password)

    def user_can_authenticate(self, user: User) -> bool:  # type: ignore[override]
        return user.can_sign_in

    def get_user(self, user_id: int) -> User | None:
        user = super().get_user(user_id)
        return user if user is not None and user.can_sign_in else None
