"""Asking users to provide their contact methods again, for one user or very many.

Set-based: a handful of statements whatever the number of users, so an administrator's
bulk action on 100,000 people finishes in seconds.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, QuerySet

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record_many
from twofold.methods import base


@transaction.atomic
def require_reregistration(users: QuerySet[User], *, actor: User | None = None) -> int:
    """Make ``users`` register new methods at their next sign-in; the old ones stop counting.

    Their registrations are removed, their trusted devices forgotten (epoch), and one
    audit event per user is written. Returns how many users were changed.
    """
    # A subquery, not a list of ids: no limit on how many users one action reaches.
    ids = users.order_by().values("pk")
    changed = User.objects.filter(pk__in=ids).count()
    if not changed:
        return 0
    for method in base.registry().values():
        if method.second_factor:
            method.forget(ids)
    User.objects.filter(pk__in=ids).update(
        must_reregister=True,
        preferred_option="",
        trusted_device_epoch=F("trusted_device_epoch") + 1,
    )
    subjects = User.objects.filter(pk__in=ids).values_list("pk", "username", "organisation_id")
    record_many(
        AuditAction.REREGISTRATION_REQUIRED,
        AuditResult.SUCCESS,
        subjects.iterator(chunk_size=5000),
        actor=actor,
    )
    return changed
