"""What twofold tells applications about a user and about how they signed in.

acr (Authentication Context Class Reference), published in discovery:

- ``phr`` (OpenID Connect EAP ACR Values 1.0: phishing-resistant): a passkey was used in
  this browser session, at sign-in (with or without a password) or on the "confirm it's
  you" page. An application demands it with ``acr_values=phr``; twofold then steps the
  user up to a passkey. It is also a second factor, so it satisfies ``urn:twofold:mfa``.
- ``urn:twofold:mfa``: a second factor was verified in this browser session, at sign-in
  or on the "confirm it's you" page an application sent the user to.
- ``urn:twofold:pwd``: the session rests on the password alone: two-step verification
  off, a trusted address, a one-time bypass, or a trusted device ("don't ask again").
  A trusted device skips the second factor at sign-in only (SECURITY 19), so it never
  earns ``urn:twofold:mfa``; its amr stays ``["pwd", "mfa"]`` as the sign-in recorded it.

amr (RFC 8176): ``pwd``; with a second factor also ``mfa`` and the factor used: ``otp``
(a code from the app), ``sms`` (a texted code), ``tel`` (a call), ``swk`` (the app's
notification), ``hwk`` (a hardware token, or a passkey bound to its device), ``swk`` (a
synced passkey), and ``user`` when the passkey's authenticator verified the person (a PIN,
a fingerprint). A passkey used without a password has no ``pwd``.

sub is the user's primary key as a string: stable for the user's lifetime, never reused,
and the same for every application (public subject type).
"""

from __future__ import annotations

from functools import cache

from twofold.accounts.models import User
from twofold.methods import base

ACR_PHR = "phr"
ACR_MFA = "urn:twofold:mfa"
ACR_PWD = "urn:twofold:pwd"  # noqa: S105 - an acr value, not a password
ACR_VALUES = (ACR_PHR, ACR_MFA, ACR_PWD)
# amr values that say how, not which factor: never a second factor by themselves.
_NOT_FACTORS = frozenset({"pwd", "mfa", "user"})


@cache
def second_factors() -> frozenset[str]:
    """Every amr value an option of a method proves (the methods' catalogue,
    docs/design.md "Methods"): "otp", "sms", "tel", "swk", "hwk", "recovery_code"... A
    method added later counts as a second factor without an edit here."""
    return frozenset(
        value
        for method in base.registry().values()
        for spec in method.catalogue
        for value in spec.amr
        if value not in _NOT_FACTORS
    )


# Which scope releases which claim (merged into django-oauth-toolkit's standard table).
CLAIM_SCOPES = {
    "organisation": "openid",
    "organisation_name": "openid",
    "preferred_username": "profile",
    "name": "profile",
    "email": "email",
}
# Claims about the sign-in itself: in ID tokens only, never from the userinfo endpoint.
SIGN_IN_CLAIMS = ("acr", "amr", "auth_time")


def acr_for(amr: list[str] | tuple[str, ...], *, phishing_resistant: bool = False) -> str:
    """``phr`` when a phishing-resistant option was used (amr alone cannot say: a hardware
    OTP token is ``hwk`` too); else ``urn:twofold:mfa`` when the methods used include a
    second factor."""
    if phishing_resistant:
        return ACR_PHR
    return ACR_MFA if second_factors().intersection(amr) else ACR_PWD


def user_claims(user: User) -> dict[str, str]:
    """The user's claims; each is released only with its scope (CLAIM_SCOPES)."""
    claims = {
        "organisation": user.organisation.slug,
        "organisation_name": user.organisation.shown_name,
        "preferred_username": user.username,
        "name": user.shown_name,
    }
    if user.email:
        claims["email"] = user.email
    return claims


def subject(user: User) -> str:
    return str(user.pk)
