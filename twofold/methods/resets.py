"""Asking users to provide their contact methods again, for one user or very many.

Set-based: a handful of statements whatever the number of users, so an administrator's
bulk action on 100,000 people finishes in seconds.

So that a stolen password alone cannot register an attacker's phone, the new
registration needs a one-time access code the administrator hands over, unless the
organisation allows re-registering within a number of days. Codes are derived from the
secret key, the user and a random nonce stored with the user (one UPDATE for everyone);
the database never holds a code, and completing the registration clears the nonce.
"""

from __future__ import annotations

import base64
from datetime import timedelta

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record_for_users
from twofold.core.crypto import constant_time_equals, keyed_digest, random_token
from twofold.methods import base, reset_notices
from twofold.methods.models import Challenge, ChallengeState

CODE_VALIDITY = timedelta(days=7)


def access_code(user_id: int, nonce: str) -> str:
    """The one-time access code for ``user_id`` under ``nonce``: 12 letters and digits."""
    raw = bytes.fromhex(keyed_digest(f"{user_id}:{nonce}", "reregistration"))
    text = base64.b32encode(raw).decode()[:12]
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))


def access_code_matches(user: User, code: str) -> bool:
    if not user.reregister_nonce or not user.reregister_until:
        return False
    if user.reregister_until <= timezone.now():
        return False
    typed = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    expected = access_code(user.pk, user.reregister_nonce).replace("-", "")
    return constant_time_equals(typed, expected)


def needs_access_code(user: User) -> bool:
    """Whether re-registering needs a code now (no open window without one)."""
    grace = user.organisation.reregistration_grace_days
    open_window = grace and user.reregister_until and user.reregister_until > timezone.now()
    return user.must_reregister and not open_window


@transaction.atomic
def require_reregistration(
    users: QuerySet[User], *, actor: User | None = None, actor_label: str = ""
) -> tuple[int, str]:
    """Make ``users`` register new methods at their next sign-in; the old ones stop counting.

    Their registrations are removed, their open challenges expired, their trusted devices
    forgotten (epoch), one audit event per user is written, and each user with an
    authentication phone is texted there after the commit (reset_notices). Returns how
    many users changed and the nonce their access codes derive from
    (``access_code(user_id, nonce)``), to show the administrator once.
    """
    # Mark the selection first, with this action's nonce: removing methods may change
    # what ``users`` selects (a "has methods" filter), so everything after works on the
    # marked users, not on ``users`` again.
    nonce = random_token(16)
    changed = User.objects.filter(pk__in=users.order_by().values("pk")).update(
        must_reregister=True,
        preferred_option="",
        trusted_device_epoch=F("trusted_device_epoch") + 1,
        reregister_nonce=nonce,
    )
    if not changed:
        return 0, ""
    marked = User.objects.filter(reregister_nonce=nonce)
    grace_days = marked.first().organisation.reregistration_grace_days
    window = timedelta(days=grace_days) if grace_days else CODE_VALIDITY
    marked.update(reregister_until=timezone.now() + window)
    ids = marked.values("pk")
    queued = _queue_notices(ids)
    for method in base.registry().values():
        if method.second_factor:
            method.forget(ids)
    # A code already sent, a call ringing, a new number waiting for its proof: none of
    # them may complete once the methods they belong to are gone.
    Challenge.objects.filter(user_id__in=ids, state=ChallengeState.PENDING).update(
        state=ChallengeState.EXPIRED, completed_at=timezone.now()
    )
    record_for_users(
        AuditAction.REREGISTRATION_REQUIRED,
        AuditResult.SUCCESS,
        marked,
        actor=actor,
        actor_label=actor_label,
    )
    # robust: whatever happens to the notices, the reset is done and the page says so.
    transaction.on_commit(lambda: reset_notices.send_soon(queued), robust=True)
    return changed, nonce


def _queue_notices(ids: QuerySet) -> int:
    """Queue the texts that tell these users (docs/security.md 16), before their phones go."""
    queued = 0
    for method in base.registry().values():
        numbers = method.notice_numbers(ids)
        if numbers is not None:
            queued += reset_notices.queue(numbers)
    return queued


def is_told_by_text(user: User) -> bool:
    """Whether a reset of ``user`` would text them (they have a phone a notice goes to):
    the admin portal promises the text only then."""
    return told_by_text_count(User.objects.filter(pk=user.pk).values("pk")) > 0


def told_by_text_count(ids: QuerySet) -> int:
    """How many of these users a reset would text (one notice each at most)."""
    told = 0
    for method in base.registry().values():
        numbers = method.notice_numbers(ids)
        if numbers is not None:
            told += numbers.count()
    return told


def complete(user: User) -> None:
    """The user registered again: the flag and the access code are spent."""
    User.objects.filter(pk=user.pk).update(
        must_reregister=False, reregister_nonce="", reregister_until=None
    )
