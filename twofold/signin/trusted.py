"""Trusted devices: "don't ask again for N days" as a random cookie whose digest we keep.

The cookie holds 256 random bits. The database keeps only their SHA-256, with the user,
an expiry and the user's and organisation's trusted-device epochs at the time. A device
counts while it hasn't expired, both epochs are unchanged and its user may sign in: so
"restore" (by the user or an administrator) is one UPDATE of one epoch, in constant time.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from twofold.accounts.models import User
from twofold.core.crypto import digest, random_token
from twofold.signin.models import TrustedDevice

_SECURE_NAME = "__Host-twofold-trusted"  # https: Secure, Path=/, no Domain, by the prefix
_PLAIN_NAME = "twofold-trusted"  # http (the local demo): browsers refuse __Host- without https


def cookie_name(request: HttpRequest) -> str:
    return _SECURE_NAME if request.is_secure() else _PLAIN_NAME


def _label(user_agent: str) -> str:
    """ "Chrome on Windows": enough for a person to recognise a browser, nothing more."""
    browsers = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
                ("Safari/", "Safari"))  # fmt: skip
    systems = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iPhone"),
               ("Mac OS X", "macOS"), ("Linux", "Linux"))  # fmt: skip
    browser = next((name for key, name in browsers if key in user_agent), "")
    system = next((name for key, name in systems if key in user_agent), "")
    return re.sub(
        r"\s+", " ", f"{browser} on {system}" if browser and system else browser or system
    )


def remember(request: HttpRequest, response: HttpResponse, user: User) -> TrustedDevice | None:
    """Trust this browser for the organisation's number of days (none when that is 0)."""
    days = user.organisation.remember_device_days
    if days <= 0:
        return None
    token = random_token(32)
    device = TrustedDevice.objects.create(
        user=user,
        token_digest=digest(token),
        user_epoch=user.trusted_device_epoch,
        organisation_epoch=user.organisation.trusted_device_epoch,
        label=_label(request.META.get("HTTP_USER_AGENT", ""))[:120],
        expires_at=timezone.now() + timedelta(days=days),
    )
    response.set_cookie(
        cookie_name(request),
        token,
        max_age=days * 24 * 3600,
        path="/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return device


def recognises(request: HttpRequest, user: User) -> bool:
    """Whether this browser carries a trusted-device cookie that still counts for ``user``."""
    return recognised(request, user) is not None


def recognised(request: HttpRequest, user: User) -> TrustedDevice | None:
    """The remembered device this browser's cookie stands for, if it still counts for
    ``user`` (its ID and age go into the sign-in's "why")."""
    token = request.COOKIES.get(cookie_name(request), "")
    days = user.organisation.remember_device_days
    if not token or len(token) > 100 or days <= 0:  # the policy may have turned it off since
        return None
    now = timezone.now()
    found = TrustedDevice.objects.filter(
        token_digest=digest(token),
        user=user,
        expires_at__gt=now,
        created_at__gt=now - timedelta(days=days),  # a shortened policy applies at once
        user_epoch=user.trusted_device_epoch,
        organisation_epoch=user.organisation.trusted_device_epoch,
    )
    device = found.first()
    if device is None or not found.update(last_used_at=now) or not user.can_sign_in:
        return None
    return device


def forget_cookie(request: HttpRequest, response: HttpResponse) -> None:
    response.delete_cookie(cookie_name(request), path="/")


def days_offered(user: User) -> int:
    """N in "don't ask again for N days" (0: the checkbox is not offered)."""
    return user.organisation.remember_device_days
