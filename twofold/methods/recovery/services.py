"""Making a set of recovery codes, spending one, counting what is left, forgetting them.

Every change runs in one transaction that takes the user's row first (the lock order of
docs/design.md) and writes its audit event last; the person is told by text after the
commit (a notice must never undo, nor hold the locks of, the change it reports).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditResult
from twofold.audit.services import record
from twofold.core import languages
from twofold.core.errors import NotAllowed, TwofoldError
from twofold.delivery import services as delivery
from twofold.methods import base, verification
from twofold.methods.recovery import codes
from twofold.methods.recovery.models import RecoveryCode

log = logging.getLogger(__name__)

# The method's key, its option's key and its policy kind (method.py imports this module).
RECOVERY_METHOD = "recovery_codes"
OPTION = "recovery_code"
POLICY_KIND = "recovery_code"
MADE = "recovery_codes.made"
USED = "recovery_codes.used"


@dataclass(frozen=True)
class Standing:
    """Where a user's set stands, for the settings page and the admin's user page."""

    total: int = 0
    left: int = 0
    made_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def has_set(self) -> bool:
        return self.total > 0


def standing(user: User) -> Standing:
    """How many codes the user's set has and how many are left (one query)."""
    found = RecoveryCode.objects.filter(user=user).aggregate(
        total=Count("id"),
        left=Count("id", filter=Q(used_at__isnull=True)),
        made_at=Max("created_at"),
        last_used_at=Max("used_at"),
    )
    return Standing(**found) if found["total"] else Standing()


def left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def may_make(user: User) -> bool:
    """Whether ``user`` may make a set: only beside another way to verify. Recovery codes
    stand in for a method that is out of reach; alone they would be a method of their
    own, made without ever proving a phone or an app (and with no second factor to ask
    before making them, docs/security.md 14). And only if the organisation allows them."""
    if not user.organisation.allows(POLICY_KIND):
        return False
    return any(option.method != RECOVERY_METHOD for option in base.options_for(user))


def make_set(user: User) -> list[str]:
    """A new set of ``codes.SET_SIZE`` codes for ``user``, replacing any older set at once;
    returns the codes (grouped) to be shown this one time. Only their digests are kept.
    NotAllowed without another way to verify (``may_make``)."""
    if not user.organisation.allows(POLICY_KIND):
        raise NotAllowed(_("Your organisation does not allow recovery codes."))
    if not may_make(user):
        raise NotAllowed(_("Register a way to verify first: a phone or the authenticator app."))
    new = [codes.new_code() for _ in range(codes.SET_SIZE)]
    with transaction.atomic():
        user = verification.lock_user(user.pk) or user
        replaced, _detail = RecoveryCode.objects.filter(user=user).delete()
        now = timezone.now()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, digest=codes.digest(user.pk, code), created_at=now)
            for code in new
        )
        record(
            MADE, AuditResult.SUCCESS, actor=user, subject=user, count=len(new), replaced=replaced
        )
        transaction.on_commit(lambda: tell(user, made_notice(user), "made"))
    return [codes.grouped(code) for code in new]


def spend(user: User, code: str) -> bool:
    """Use ``code`` (normalised) if it is one of the user's unused codes; whether it was.

    Called by the one verification path inside its transaction, which already holds the
    user's row: two checks of one code queue there, and the conditional UPDATE below is
    what makes the second find nothing left to use even without it. The row is found by
    its keyed digest (an indexed lookup): the time it takes tells nothing an attacker could
    use, since they cannot compute a digest without the secret key.
    """
    used = RecoveryCode.objects.filter(
        user=user, digest=codes.digest(user.pk, code), used_at__isnull=True
    ).update(used_at=timezone.now())
    if not used:
        return False
    remaining = left(user)
    record(USED, AuditResult.SUCCESS, actor=user, subject=user, left=remaining)
    transaction.on_commit(lambda: tell(user, used_notice(user, remaining), "used"))
    return True


def forget(user_ids: QuerySet) -> int:
    """Remove these users' codes in one statement (an administrator's reset)."""
    deleted, _detail = RecoveryCode.objects.filter(user_id__in=user_ids).delete()
    return deleted


def made_notice(user: User) -> str:
    with languages.speaking_to(user):
        return _(
            "%(organisation)s: new recovery codes were made for your account; the old ones "
            "no longer work. Not you? Contact your help desk."
        ) % {"organisation": user.organisation.shown_name}


def used_notice(user: User, remaining: int) -> str:
    with languages.speaking_to(user):
        return _(
            "%(organisation)s: one of your recovery codes was used (%(left)d left). "
            "Not you? Contact your help desk."
        ) % {"organisation": user.organisation.shown_name, "left": remaining}


def tell(user: User, body: str, kind: str) -> bool:
    """Text ``body`` to the phone the user relies on to sign in, if they have one (found
    through the methods' ``notice_numbers``, as an administrator's reset finds it).

    twofold sends no e-mail, so a person without a phone gets no notice; the audit trail
    still holds the event. Returns whether a text went out. Each ``kind`` of notice counts
    against its own allowance (as reset notices do): neither the person's sign-in texts
    nor the other notice, seconds earlier, holds it back; the per-number caps still count.
    """
    number = _notice_number(user)
    if number is None:
        return False
    try:
        delivery.send_text(
            number,
            body,
            reference=f"notice-{user.pk}",
            user_key=f"{user.pk}:recovery-{kind}",
            subject=user,
        )
    except TwofoldError as failed:  # a notice never undoes what it reports
        log.warning("could not send a recovery-code notice: %s", failed.code)
        return False
    return True


def _notice_number(user: User) -> str | None:
    ids = User.objects.filter(pk=user.pk).values("pk")
    for method in base.registry().values():
        rows = method.notice_numbers(ids)
        found = rows.first() if rows is not None else None
        if found is not None:
            return found[1]
    return None
