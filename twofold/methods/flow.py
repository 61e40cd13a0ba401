"""The challenge a browser session is working through, kept in its (server-side) session."""

from __future__ import annotations

from django.http import HttpRequest

from twofold.accounts.models import User
from twofold.core.errors import NotFound
from twofold.methods import verification, waits
from twofold.methods.models import Challenge

_KEY = "twofold.challenge"


def remember(request: HttpRequest, challenge: Challenge) -> None:
    request.session[_KEY] = {"id": str(challenge.pk), "purpose": challenge.purpose}


def forget(request: HttpRequest) -> None:
    request.session.pop(_KEY, None)


def current(request: HttpRequest, user: User, purpose: str) -> Challenge | None:
    """The session's challenge for ``purpose``, refreshed (expired if its time ran out)."""
    held = request.session.get(_KEY)
    if not held or held.get("purpose") != purpose:
        return None
    try:
        challenge = verification.get_challenge(user, held["id"])
    except NotFound:
        forget(request)
        return None
    return waits.expire_if_due(challenge)
