"""Telling users that an administrator asked them to register their methods again.

``queue`` runs inside the reset's transaction, before the phones go: one INSERT … SELECT
whatever the number of users, nothing loaded into Python. ``send_soon`` runs after the
commit: a few notices are sent at once, more by a background thread, so the
administrator's request never waits on a gateway 100,000 times. ``send_due`` (the
`twofold notices` command) sends whatever a restart left behind. Every text passes the
delivery caps and is audited there with the masked number, like any other.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.core.errors import RateLimited, TwofoldError
from twofold.delivery import services as delivery
from twofold.delivery.base import DeliveryFailed
from twofold.methods.models import ResetNotice
from twofold.organisations.models import Organisation

log = logging.getLogger(__name__)

SENT_AT_ONCE = 10  # up to this many notices go out in the request that queued them
MAX_ATTEMPTS = 3  # gateway failures before a notice is given up (and logged)
RETRY_AFTER = timedelta(minutes=5)
GIVEN_UP_KEPT = timedelta(days=30)  # how long a given-up notice is still counted, then purged
MAX_SETBACKS_IN_A_ROW = 20  # a gateway down or a country cap reached: stop, try later
# Notices fill at most half of a country's hourly cap on texts: a bulk reset of 100,000
# people must not leave no room for the sign-in codes of everyone else.
COUNTRY_SHARE = 0.5


def queue(numbers: QuerySet) -> int:
    """One notice per ``(user_id, number)`` row, in the recipient's own language (theirs,
    else their organisation's, else the default: no browser is asking)."""
    rows_sql, rows_params = numbers.query.sql_with_params()
    codes = [code for code, _name in settings.LANGUAGES]
    marks = ", ".join(["%s"] * len(codes))
    now = timezone.now()
    sql = (
        f"INSERT INTO {ResetNotice._meta.db_table} "  # noqa: S608 - table names, no input
        "(user_id, number, language, created_at, not_before, attempts) "
        f"SELECT n.user_id, n.number, CASE WHEN u.language IN ({marks}) THEN u.language "
        f"WHEN o.default_language IN ({marks}) THEN o.default_language ELSE %s END, %s, %s, 0 "
        f"FROM ({rows_sql}) n JOIN {User._meta.db_table} u ON u.id = n.user_id "
        f"JOIN {Organisation._meta.db_table} o ON o.id = u.organisation_id"
    )
    params = [*codes, *codes, settings.LANGUAGE_CODE, now, now, *rows_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


@dataclass(frozen=True)
class Progress:
    """Where one reset's notices stand, for the page that reports the reset."""

    sent: int = 0
    sending: int = 0  # due now: going out in the background as the page is shown
    given_up: int = 0  # never going out: the gateway failed too often, or cannot reach it
    waiting: int = 0  # held back by a cap or a gateway failure until ``first_at``
    first_at: datetime | None = None
    last_at: datetime | None = None


def progress(nonce: str, queued: int) -> Progress:
    """How many of the ``queued`` notices to the users marked by ``nonce`` went out, how
    many are still being sent, and how many wait (and until when)."""
    if not nonce or queued <= 0:
        return Progress()
    notices = ResetNotice.objects.filter(user__reregister_nonce=nonce)
    given_up = notices.filter(given_up_at__isnull=False).count()
    owed = notices.filter(given_up_at__isnull=True)
    now = timezone.now()
    later = owed.filter(not_before__gt=now).aggregate(
        count=Count("id"), first=Min("not_before"), last=Max("not_before")
    )
    sending = owed.filter(not_before__lte=now).count()
    return Progress(
        sent=max(queued - sending - later["count"] - given_up, 0),
        sending=sending,
        given_up=given_up,
        waiting=later["count"],
        first_at=later["first"],
        last_at=later["last"],
    )


def owed_to(nonce: str) -> int:
    """How many notices are owed to the users one reset marked (inside its transaction)."""
    if not nonce:
        return 0
    owed = ResetNotice.objects.filter(user__reregister_nonce=nonce, given_up_at__isnull=True)
    return owed.count()


def send_soon(queued: int) -> threading.Thread | None:
    """After the reset's commit: send a few notices now, many in a background thread
    (returned, so a caller may wait for it)."""
    if queued <= 0:
        return None
    if queued <= SENT_AT_ONCE:
        send_due(limit=queued)
        return None
    # In a copy of this request's context: the audit events of the texts it sends carry
    # the reset's correlation ID and address, as every audit event must.
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(_send_in_background,), name="reset-notices", daemon=True
    )
    thread.start()
    return thread


def _send_in_background() -> None:
    try:
        send_due()
    finally:
        connection.close()  # this thread's own connection


def send_due(limit: int | None = None) -> int:
    """Send the notices that are due, oldest first; returns how many went out.

    Stops early after many refusals or failures in a row (a country cap, a gateway down):
    those notices stay queued for the next run.
    """
    ResetNotice.objects.filter(given_up_at__lt=timezone.now() - GIVEN_UP_KEPT).delete()
    sent = setbacks = handled = 0
    while (limit is None or handled < limit) and setbacks < MAX_SETBACKS_IN_A_ROW:
        outcome = _send_next()
        if outcome is None:
            break
        handled += 1
        sent += outcome
        setbacks = 0 if outcome else setbacks + 1
    return sent


@transaction.atomic
def _send_next() -> bool | None:
    """Send the oldest due notice (locked, so two senders never send it twice); None when
    nothing is due, else whether it went out."""
    notice = (
        ResetNotice.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("user__organisation")
        .filter(not_before__lte=timezone.now(), given_up_at__isnull=True)
        .order_by("not_before", "id")
        .first()
    )
    if notice is None:
        return None
    try:
        _send(notice)
    except RateLimited as refused:  # over a cap: nothing went out, try after it
        notice.not_before = timezone.now() + timedelta(seconds=refused.retry_after or 3600)
        notice.save(update_fields=["not_before"])
        return False
    except DeliveryFailed:
        _failed(notice)
        return False
    except TwofoldError as refused:  # not a number any gateway can reach: give it up
        log.warning("reset notice %s given up: %s", notice.pk, refused.code)
        _give_up(notice)
        return False
    notice.delete()
    return True


def _send(notice: ResetNotice) -> None:
    user = notice.user
    with translation.override(notice.language):
        body = _(
            "An administrator of %(organisation)s asked you to register your verification "
            "methods again. If you did not expect this, contact your help desk."
        ) % {"organisation": user.organisation.shown_name}
    delivery.send_text(
        notice.number,
        body,
        reference=f"notice-{user.pk}",
        # Their own count: neither the person's texts earlier in the hour nor the texts
        # of registering again (the reset's allowance) hold a notice back, and repeated
        # resets still text a person at most the per-user cap in an hour.
        user_key=f"{user.pk}:reset-notices",
        subject=user,
        country_share=COUNTRY_SHARE,
    )


def _failed(notice: ResetNotice) -> None:
    notice.attempts += 1
    if notice.attempts >= MAX_ATTEMPTS:
        log.warning("reset notice %s given up after %d failures", notice.pk, notice.attempts)
        _give_up(notice)
        return
    notice.not_before = timezone.now() + RETRY_AFTER * notice.attempts
    notice.save(update_fields=["attempts", "not_before"])


def _give_up(notice: ResetNotice) -> None:
    """Never try ``notice`` again, and forget its number; the row stays a while so that
    the reset's page says it was not sent (``progress``)."""
    notice.given_up_at = timezone.now()
    notice.number = ""
    notice.save(update_fields=["attempts", "given_up_at", "number"])
