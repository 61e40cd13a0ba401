"""What may be stored of a value someone typed into a user-name field (docs/security.md 31).

People type passwords into the user-name box, and clients send them in ``user``. Such a
value must never reach an audit event, a log line or any other stored record, so every
entry path (sign-in, the REST API's validate and user endpoints, the admin API) names
the subject of its events through ``typed_user_name`` and nothing else.

A value is kept only if it is the user name of an existing user of the organisation
concerned; anything else becomes one fixed placeholder. Not a keyed fingerprint: a fast
digest of a mistyped password, kept in an audit export, is a password verifier for anyone
who also holds the key, and the help desk correlates attempts by correlation ID, address
and time instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twofold.accounts.models import User, normalise_username

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
