"""What may be stored of a value someone typed into a user-name field (docs/security.md 31).

People type passwords into the user-name box, and clients send them in ``user``. Such a
value must never reach an audit event, a log line or any other stored record, so every
entry path (sign-in, the REST API's validate and user endpoints, the admin API) names
the subject of its events through ``typed_user_name`` and nothing else. The sign-in page
must keep what was typed between its two steps (to show it, then check it): it keeps it
in the session only sealed (``seal``), so the session store never holds it in clear.

A value is kept only if it is the user name of an existing user of the organisation
concerned; anything else becomes one fixed placeholder. Not a keyed fingerprint: a fast
digest of a mistyped password, kept in an audit export, is a password verifier for anyone
who also holds the key, and the help desk correlates attempts by correlation ID, address
and time instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twofold.accounts.models import User, normalise_username
from twofold.core import crypto

if TYPE_CHECKING:
    from twofold.organisations.models import Organisation

#: Stored instead of whatever was typed when it is not one of the organisation's user names.
NOT_A_USER_NAME = "(not a user name of this organisation)"


def typed_user_name(typed: str | None, organisation: Organisation | None) -> str:
    """The user name to store for ``typed``: the user's own name if ``typed`` names an
    existing user of ``organisation`` (case and surrounding space ignored), else the
    placeholder. No organisation known: always the placeholder."""
    if organisation is None or not typed or "\x00" in typed:  # PostgreSQL refuses NUL
        return NOT_A_USER_NAME
    found = (
        User.objects.filter(username=normalise_username(typed), organisation=organisation)
        .values_list("username", flat=True)
        .first()
    )
    return found or NOT_A_USER_NAME


def seal(typed: str) -> str:
    """``typed`` encrypted with the configured key, for keeping in the session."""
    return crypto.encrypt(typed.encode())


def unseal(sealed: str | None) -> str:
    """What ``seal`` sealed; "" if nothing was, or it cannot be opened (a retired key)."""
    if not sealed:
        return ""
    try:
        return crypto.decrypt(sealed).decode()
    except (crypto.DecryptionError, UnicodeError):
        return ""
