"""Push approvals with number matching: what the app polls for and how it decides.

Every request from the app is signed by its device key (ECDSA P-256), over a canonical
byte string that names what it is for, and carries the phone's time: a signature made
for polling cannot approve, a stale or replayed one is refused. The sign-in screen shows
a two-digit number that the app is never told; approving needs it typed on the phone.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditResult
from twofold.audit.services import record
from twofold.core import context, crypto
from twofold.core.errors import InvalidInput, NotFound, RateLimited, TwofoldError
from twofold.core.ratelimit import Limit, resume_time
from twofold.methods import verification, waits
from twofold.methods.authenticator import actions as authenticator_actions
from twofold.methods.authenticator.models import AuthenticatorDevice, PushNotice
from twofold.methods.models import Challenge, ChallengeState

APP_NOTIFICATION = "app_notification"
LIFETIME = timedelta(seconds=90)
#: How far a signed request's time may be from the server's, either way (seconds).
CLOCK_SKEW = 120
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
DECISIONS = ("approve", "deny", "fraud")


class BadSignature(TwofoldError):
    status = 401
    code = "bad_signature"


class DeviceRemoved(TwofoldError):
    status = 410
    code = "device_removed"

    def __init__(self) -> None:
        super().__init__(_("This account was removed from your organisation's records."))


class WrongNumber(InvalidInput):
    code = "wrong_number"


class PushPending(RateLimited):
    code = "push_pending"


# --- Starting a push --------------------------------------------------------------------


def _pushes(user: User) -> Limit:
    return Limit("push-user", settings.TWOFOLD.get("pushes_per_user_per_hour", 10), 3600)


def refuse_start(user: User) -> None:
    """MFA fatigue: one pending push per user, and at most K pushes an hour.

    Called inside the transaction that then creates the push: the user's row stays locked
    until it commits, so of pushes started at once only the first finds none waiting.
    """
    # NO KEY: inserts that merely refer to the user (audit events) are not held up.
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk").get()
    waiting = Challenge.objects.filter(
        user=user,
        option=APP_NOTIFICATION,
        state=ChallengeState.PENDING,
        expires_at__gt=timezone.now(),
    )
    if waiting.exists():
        raise PushPending(
            _(
                "A notification is already waiting on your phone. Answer it, wait for it "
                "to expire (90 seconds), or use another way."
            ),
            retry_after=int(LIFETIME.total_seconds()),
        )
    limit = _pushes(user)
    if limit.hit(str(user.pk)) > limit.limit:
        seconds = limit.retry_after(str(user.pk))
        raise RateLimited(
            _(
                "Too many notifications were sent to your phone. Use another way, or try "
                "again after %(time)s."
            )
            % {"time": resume_time(seconds)},
            retry_after=seconds,
        )


def start(challenge: Challenge) -> None:
    """Give the push its number and its 90 seconds; the app finds it when it next polls."""
    organisation = challenge.user.organisation
    PushNotice.objects.create(
        challenge=challenge,
        number=str(crypto.random_number(10, 99)),
        application=(context.application() or organisation.display_name or "twofold")[:120],
    )
    challenge.expires_at = challenge.created_at + LIFETIME
    challenge.save(update_fields=["expires_at"])


def end_reason(challenge: Challenge) -> str:
    """ "wrong_number" for a push refused because the app chose another number."""
    if challenge.state != ChallengeState.DENIED or challenge.option != APP_NOTIFICATION:
        return ""
    mismatched = PushNotice.objects.filter(challenge=challenge, wrong_number=True).exists()
    return "wrong_number" if mismatched else ""


def number_for(challenge: Challenge) -> str:
    notice = PushNotice.objects.filter(challenge=challenge).first()
    return notice.number if notice else ""


# --- Signed requests from the app --------------------------------------------------------


def poll_message(method: str, path: str, device_id: int, timestamp: int, nonce: str) -> bytes:
    return f"twofold-poll\n{method}\n{path}\n{device_id}\n{timestamp}\n{nonce}".encode()


def decision_message(
    device_id: int, challenge_id: str, decision: str, number: str, timestamp: int
) -> bytes:
    return (
        f"twofold-decision\n{device_id}\n{challenge_id}\n{decision}\n{number}\n{timestamp}"
    ).encode()


def now() -> int:
    """Server time in Unix seconds, against which the app's signed times are checked."""
    return int(time.time())


def _device(device_id: object) -> AuthenticatorDevice:
    device = (
        AuthenticatorDevice.objects.select_related("user__organisation")
        .exclude(public_key="")
        .filter(pk=device_id if isinstance(device_id, int) else -1)
        .first()
    )
    if device is None:
        raise DeviceRemoved()
    return device


# Refused requests of one device that are audited each hour; beyond that they are still
# refused, but leave no more events (a flood of forged requests cannot fill the log).
_AUDITED_REFUSALS = Limit("push-refused", 30, 3600)


def _refuse(device: AuthenticatorDevice, reason: str, message: str) -> BadSignature:
    if _AUDITED_REFUSALS.exceeded(str(device.pk)):
        return BadSignature(message)
    _AUDITED_REFUSALS.hit(str(device.pk))
    record(
        authenticator_actions.REQUEST_REFUSED,
        AuditResult.DENIED,
        actor=device.user,
        subject=device.user,
        reason=reason,
        device=device.pk,
    )
    return BadSignature(message)


def _check_signature(
    device: AuthenticatorDevice, message: bytes, signature: str, timestamp: object
) -> None:
    if not isinstance(timestamp, int) or abs(now() - timestamp) > CLOCK_SKEW:
        raise _refuse(device, "stale time", _("Your phone's clock is off. Check its time."))
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError, TypeError):
        raw = b""
    # Unreadable: the keys' fault, not the app's, so an outage (503), not a refusal.
    point = crypto.open_stored(device.public_key, what=f"authenticator device {device.pk}")
    if not crypto.p256_verify(point, message, raw):
        raise _refuse(device, "bad signature", _("This request is not signed by this app."))


def authenticate_poll(
    device_id: object, method: str, path: str, timestamp: object, nonce: str, signature: str
) -> AuthenticatorDevice:
    """The device whose key signed this poll, once; a replayed nonce is refused."""
    device = _device(device_id)
    if not _NONCE.match(nonce or ""):
        raise InvalidInput(_("The request is not valid."), field="nonce")
    message = poll_message(method, path, device.pk, timestamp, nonce)  # type: ignore[arg-type]
    _check_signature(device, message, signature or "", timestamp)
    seen = f"push-nonce:{device.pk}:{crypto.keyed_digest(nonce, 'push-nonce')}"
    if not cache.add(seen, 1, timeout=2 * CLOCK_SKEW + 60):
        raise _refuse(device, "replayed", _("This request was already used."))
    return device


def pending_for(device: AuthenticatorDevice) -> list[dict[str, object]]:
    """The user's pushes waiting for an answer: what the app shows, never the number."""
    waiting = Challenge.objects.filter(
        user_id=device.user_id,
        option=APP_NOTIFICATION,
        state=ChallengeState.PENDING,
        expires_at__gt=timezone.now(),
    ).select_related("push_notice")
    return [
        {
            "id": str(challenge.pk),
            "organisation": device.user.organisation.shown_name,
            "user": device.user.username,
            "application": challenge.push_notice.application,
            "address": challenge.client_address or "",
            "time": challenge.created_at.isoformat(),
            "expires_at": challenge.expires_at.isoformat(),
        }
        for challenge in waiting
        if hasattr(challenge, "push_notice")
    ]


def decide(
    device_id: object,
    challenge_id: str,
    decision: str,
    number: str,
    timestamp: object,
    signature: str,
) -> Challenge:
    """Apply the app's signed answer to a pending push; raise why not."""
    if decision not in DECISIONS or not isinstance(number, str) or len(number) > 4:
        raise InvalidInput(_("The request is not valid."))
    try:
        challenge_id = str(UUID(str(challenge_id)))
    except ValueError:
        raise InvalidInput(_("The request is not valid."), field="challenge") from None
    device = _device(device_id)
    message = decision_message(device.pk, challenge_id, decision, number, timestamp)  # type: ignore[arg-type]
    _check_signature(device, message, signature or "", timestamp)
    outcome = _apply(device, challenge_id, decision, number)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


@transaction.atomic
def _apply(
    device: AuthenticatorDevice, challenge_id: str, decision: str, number: str
) -> Challenge | Exception:
    # A wrong number is counted and committed; its error is raised after the transaction.
    # The user's row first, then the challenge (verification.py's lock order): a lockout
    # or a fraud report below updates a row this transaction already holds.
    user = verification.lock_user(device.user_id)
    challenge = (
        Challenge.objects.select_for_update()
        .filter(pk=challenge_id, user_id=device.user_id, option=APP_NOTIFICATION)
        .first()
    )
    if user is None or challenge is None:
        return NotFound(_("This sign-in request no longer exists."))
    if not challenge.is_open:
        expired = challenge.state == ChallengeState.PENDING
        if expired:
            challenge.state, challenge.completed_at = ChallengeState.EXPIRED, timezone.now()
            challenge.save(update_fields=["state", "completed_at"])
        return verification.ChallengeExpired(
            _("This sign-in request expired.")
            if expired
            else _("This sign-in request is finished.")
        )
    challenge.user = user
    AuthenticatorDevice.objects.filter(pk=device.pk).update(last_used_at=timezone.now())
    if decision == "approve" and not crypto.constant_time_equals(
        number, challenge.push_notice.number
    ):
        failure = verification.count_failure(user, challenge.option, challenge.purpose)
        PushNotice.objects.filter(challenge=challenge).update(wrong_number=True)
        waits.settle(challenge, approved=False)
        if isinstance(failure, verification.SecondFactorLocked):
            return failure
        return WrongNumber(
            _(
                "That number doesn't match the one on the sign-in screen, "
                "so the sign-in was refused."
            )
        )
    resolved = waits.settle(challenge, approved=decision == "approve", fraud=decision == "fraud")
    if resolved.state == ChallengeState.APPROVED:
        _pushes(user).reset(str(user.pk))
    return resolved
