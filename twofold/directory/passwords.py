"""A directory user's password, checked by binding to the directory as them.

twofold keeps no hash of it (docs/security.md 34). The entry is looked up by the service
account (its current DN: people move between OUs), then bound to with the typed password.
Active Directory's account states refuse the sign-in with their own message, said only to
someone whose password was right (as a block is, docs/security.md 21): the bind's
diagnostic "data NNN" codes, and the same states read from the entry's attributes
(userAccountControl, accountExpires, pwdLastSet, lockoutTime), which is also how they are
found on an OpenLDAP holding AD's attributes (examples/directory/adlike.ldif).
"""

from __future__ import annotations

import re
import time

import ldap
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from twofold.accounts.backends import AccountBlocked
from twofold.accounts.models import User
from twofold.directory import client
from twofold.directory.models import DirectoryAccount

# Bits of Active Directory's userAccountControl.
ACCOUNTDISABLE = 0x2
LOCKOUT = 0x10
PASSWORD_EXPIRED = 0x800000
# accountExpires of 0 or this value: never.
NEVER = 0x7FFFFFFFFFFFFFFF
# Seconds between 1601-01-01 (Windows FILETIME's start) and 1970-01-01.
_FILETIME_TO_UNIX = 11644473600

STATE_ATTRIBUTES = ["userAccountControl", "accountExpires", "pwdLastSet", "lockoutTime"]

_HELP_DESK = _("Contact your help desk.")
_MESSAGES = {
    "disabled": _("Your account is disabled in your organisation's directory."),
    "locked": _("Your account is locked in your organisation's directory. Wait, or ask for help."),
    "password_expired": _("Your password has expired: change it as your organisation says."),
    "must_change": _("You must change your password first, as your organisation says."),
    "account_expired": _("Your account has expired in your organisation's directory."),
    "not_now": _("Your organisation's directory does not let you sign in now or from here."),
}

# Short names of the states, for administrators (the directory page's test connection).
STATE_LABELS = {
    "": _("Active"),
    "disabled": _("Disabled"),
    "locked": _("Locked"),
    "password_expired": _("Password expired"),
    "must_change": _("Must change password"),
    "account_expired": _("Account expired"),
    "not_now": _("Not allowed now"),
}

# The state of someone no longer in the directory (an account state's key, not a text).
_GONE = "not_now"

# Active Directory's bind diagnostics ("... data 533, v4563"): the account's state.
_AD_CODES = {
    "530": "not_now",
    "531": "not_now",
    "532": "password_expired",
    "533": "disabled",
    "701": "account_expired",
    "773": "must_change",
    "775": "locked",
}


class DirectoryAccountRefused(AccountBlocked):
    """The directory refuses this account (disabled, locked, expired, must change)."""

    code = "account_refused"

    def __init__(self, state: str) -> None:
        self.state = state
        super().__init__(f"{_MESSAGES[state]} {_HELP_DESK}")


def state_from_diagnostic(info: str) -> str:
    """The account state an Active Directory bind failure names ("" for a plain wrong
    password, 52e, or a server that is not AD)."""
    found = re.search(r"\bdata ([0-9a-f]{3,4})\b", info or "", re.IGNORECASE)
    return _AD_CODES.get(found.group(1).lower(), "") if found else ""


def state_from_entry(values: dict[str, list[bytes]], now: float | None = None) -> str:
    """The account state Active Directory's attributes say ("" when it may sign in)."""
    now = time.time() if now is None else now
    control = _number(client.first(values, "userAccountControl"))
    if control & ACCOUNTDISABLE:
        return "disabled"
    if control & LOCKOUT or _number(client.first(values, "lockoutTime")) > 0:
        return "locked"
    expires = _number(client.first(values, "accountExpires"))
    if expires not in (0, NEVER) and expires / 10_000_000 - _FILETIME_TO_UNIX < now:
        return "account_expired"
    if control & PASSWORD_EXPIRED:
        return "password_expired"
    if client.first(values, "pwdLastSet") == "0":
        return "must_change"
    return ""


def _number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def kept_users() -> Q:
    """Directory users: their password is the directory's, changed and reset there only.
    A subquery, not a join: callers lock the users it selects or excludes (FOR UPDATE
    refuses the nullable side of an outer join on PostgreSQL)."""
    return Q(pk__in=DirectoryAccount.objects.values("user_id"))


def check_user(user: User, password: str) -> bool | None:
    """``accounts.backends.password_checkers``' verdict: None for a user who is not a
    directory user (twofold's own hash decides), else the directory's."""
    account = DirectoryAccount.objects.select_related("directory").filter(user=user).first()
    if account is None:
        return None
    return check(account, user.username, password)


def check_standing(user: User) -> None:
    """``accounts.backends.standing_checkers``' check, for a sign-in without the password
    (a passwordless passkey, an app password): a directory user whose entry is gone, or
    whose account the directory refuses (disabled, locked, expired, must change), may not
    sign in, as at the password. Nothing is asked for anyone else. DirectoryUnavailable
    when the directory does not answer: no way in without an answer."""
    account = DirectoryAccount.objects.select_related("directory").filter(user=user).first()
    if account is None:
        return
    with client.session(account.directory) as connection:
        entry = _entry(connection, account.directory, user.username)
    if entry is None:
        raise DirectoryAccountRefused(_GONE)  # the next sync blocks them
    state = state_from_entry(entry[1])
    if state:
        raise DirectoryAccountRefused(state)


def _entry(connection, directory, username: str) -> tuple[str, dict] | None:
    """The user's entry (its current DN and state attributes), looked up by the service
    account; None when there is none, or more than one."""
    named = f"({directory.attr_username}={client.escape(username)})"
    search_filter = f"(&{directory.user_filter}{named})"
    found = connection.search_ext_s(
        directory.base_dn,
        ldap.SCOPE_SUBTREE,
        search_filter,
        STATE_ATTRIBUTES,
        timeout=client.OPERATION_TIMEOUT,
        sizelimit=2,
    )
    entries = [(dn, values) for dn, values in found if dn is not None]
    return entries[0] if len(entries) == 1 else None


def check(account: DirectoryAccount, username: str, password: str) -> bool:
    """Whether ``password`` is this directory user's. DirectoryUnavailable when the
    directory does not answer; DirectoryAccountRefused when the password was right (or AD
    says so) but the account may not sign in."""
    if not password:
        return False  # an empty password would be an unauthenticated bind, which succeeds
    with client.session(account.directory) as connection:
        entry = _entry(connection, account.directory, username)
        if entry is None:
            return False  # gone from the directory (the next sync blocks them) or ambiguous
        dn, values = entry
        try:
            connection.simple_bind_s(dn, password)
        except ldap.INVALID_CREDENTIALS as refused:
            details = refused.args[0] if refused.args and isinstance(refused.args[0], dict) else {}
            state = state_from_diagnostic(str(details.get("info", "")))
            if state:
                raise DirectoryAccountRefused(state) from None
            return False
    state = state_from_entry(values)
    if state:
        raise DirectoryAccountRefused(state)
    return True
