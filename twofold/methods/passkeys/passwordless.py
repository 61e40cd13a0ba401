"""Passwordless sign-in: a discoverable passkey that verified its user is both factors.

The challenge waits in the (not yet signed-in) session and is spent by the first answer.
Failures count towards the address's limit of second-factor failures, never towards
the user's lockout: whoever sends a bad answer here has not shown the password, and
must not be able to lock a person out.
"""

from __future__ import annotations

import time

from django.db import transaction
from django.utils.translation import gettext as _

from twofold.accounts.backends import AccountBlocked, confirm_standing
from twofold.accounts.models import User
from twofold.core.errors import RateLimited
from twofold.core.ratelimit import AddressLimits, resume_time
from twofold.methods import verification
from twofold.methods.passkeys import services
from twofold.methods.passkeys.services import PasskeyRefused

_SIGNING_IN = "twofold.passkeys.signin"


def begin(session) -> str:
    """Options for ``get()`` with any discoverable passkey (user verification required)."""
    options, challenge = services.assertion_options(None)
    session[_SIGNING_IN] = {"challenge": challenge, "at": int(time.time())}
    return options


def finish(session, response: str) -> services.Used:
    """The passkey's user, if its answer holds and they may sign in now; else raise."""
    addresses = AddressLimits.current(verification.by_address())
    if addresses.exceeded():
        seconds = addresses.retry_after()
        raise RateLimited(
            _("Too many failed attempts from your network. Try again after %(time)s.")
            % {"time": resume_time(seconds)},
            retry_after=seconds,
        )
    held = session.pop(_SIGNING_IN, None)
    if not held or time.time() - held["at"] > services.CEREMONY_SECONDS:
        raise PasskeyRefused(_("Signing in with the passkey took too long. Try again."))
    refused = None
    with transaction.atomic():  # committed either way: a clone's audit event must stay
        try:
            used = services.use(response, challenge=held["challenge"], user=None)
        except PasskeyRefused as error:
            refused = error
    if refused is not None:
        addresses.hit()
        raise refused
    _refuse_unless_may_sign_in(used.passkey.user)
    return used


def _refuse_unless_may_sign_in(user: User) -> None:
    """The rules a password sign-in applies before a second factor, applied here too."""
    user = User.objects.select_related("organisation").get(pk=user.pk)
    if not user.can_sign_in or user.must_reregister or not services.allowed(user):
        raise PasskeyRefused(
            _("You can't sign in with this passkey now. Sign in with your user name instead.")
        )
    try:
        # Its directory's word on the account (disabled, gone), which a password would have had.
        confirm_standing(user)
    except AccountBlocked as refused:
        raise PasskeyRefused(refused.message) from None
    verification.refuse_if_locked(user)
