"""The pending sign-in: a user whose password was right, waiting for their second step.

The session holds the user as *pending* for at most ten minutes; only the second-step
pages accept them (``twofold/signin/``). The session's language middleware reads the
same entry to speak the person's language on those pages. Both import it from here, below
both of them (docs/design.md, "Packages and the direction of their imports").
"""

from __future__ import annotations

import time

from django.http import HttpRequest

from twofold.accounts.models import User

PENDING = "twofold.signin.pending"  # the session key (its name predates this module)
PENDING_SECONDS = 10 * 60


def remember(request: HttpRequest, user: User) -> None:
    """Hold ``user`` as pending in this session (the caller has just cycled its key)."""
    # The session epoch too: "sign out everywhere" ends a sign-in halfway through as well.
    request.session[PENDING] = {
        "user": user.pk,
        "at": int(time.time()),
        "epoch": user.session_epoch,
    }


def is_pending(request: HttpRequest) -> bool:
    """Whether the session holds a pending sign-in at all (valid or not)."""
    return PENDING in request.session


def pending_user(request: HttpRequest, *, even_blocked: bool = False) -> User | None:
    """The user whose password was right in the last ten minutes, if they may still sign in.

    ``even_blocked`` is for telling the waiting page how its own challenge ended (a fraud
    report blocks the user while the page still waits).
    """
    held = request.session.get(PENDING)
    if not held or time.time() - held["at"] > PENDING_SECONDS:
        return None
    user = _read(request, held["user"])
    if user is None or not (user.can_sign_in or even_blocked):
        return None
    if held.get("epoch", 0) != user.session_epoch:
        return None  # signed out everywhere since the password was checked
    return user


def _read(request: HttpRequest, pk: int) -> User | None:
    """The pending user's row, read once per request: the language middleware and the
    page both ask for it."""
    read = getattr(request, "_twofold_pending_row", None)
    if read is None or read[0] != pk:
        user = User.objects.select_related("organisation").filter(pk=pk).first()
        read = request._twofold_pending_row = (pk, user)
    return read[1]


def forget(request: HttpRequest) -> None:
    """The second step is over (signed in, or started again): nobody is pending any more."""
    request.session.pop(PENDING, None)
