"""The authenticator app: enrolment (secret, QR code, proof), codes at sign-in, deletion.

The seed exists in clear only in memory: encrypted in the session between the enrolment
page and its form, encrypted in the database afterwards, and never shown again.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from urllib.parse import quote, urlencode

import segno
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditAction, AuditResult
from twofold.audit.services import record
from twofold.core import crypto
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods.authenticator import kinds
from twofold.methods.authenticator.models import AuthenticatorDevice

#: How many authenticator apps one user may keep.
MAX_DEVICES = 5
DIGITS = 6
PERIOD = 30
ALGORITHM = "sha1"
_SIX_DIGITS = re.compile(r"^\d{6}$")

log = logging.getLogger(__name__)


class EnrolmentCodeRefused(InvalidInput):
    """The code typed at enrolment does not come from the secret being set up."""

    code = "wrong_code"


def clock() -> float:
    """Server time in Unix seconds: the only clock TOTP codes are checked against."""
    return time.time()


# --- Enrolment ---------------------------------------------------------------------------


def new_secret() -> bytes:
    """A fresh 160-bit seed for one enrolment."""
    return crypto.random_otp_secret(20)


def base32(secret: bytes) -> str:
    """The seed as authenticator apps take it: Base32 without padding."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def grouped(secret: bytes) -> str:
    """The Base32 seed in groups of four, for typing it in by hand."""
    text = base32(secret)
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def provisioning_uri(user: User, secret: bytes) -> str:
    """The Key URI (otpauth://totp/Issuer:account?…) the QR code carries.

    The issuer is the organisation's name, not its display name (branding that may
    change): the entry in the app keeps the name it was set up with."""
    issuer = user.organisation.name
    label = f"{quote(issuer, safe='')}:{quote(user.username, safe='@')}"
    query = urlencode(
        {
            "secret": base32(secret),
            "issuer": issuer,
            "algorithm": ALGORITHM.upper(),
            "digits": DIGITS,
            "period": PERIOD,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def qr_code_svg(uri: str) -> SafeString:
    """The URI as an inline SVG QR code: presentation attributes only, no style (CSP)."""
    svg = segno.make(uri, error="m", micro=False).svg_inline(
        scale=1, omitsize=True, svgclass="qr-svg", lineclass="qr-line", light="#fff"
    )
    # Safe: segno writes only path data and fixed attributes; no user text is embedded.
    return mark_safe(svg)  # noqa: S308


def allowed(user: User) -> bool:
    """Whether the user's organisation allows any use of the app (codes or, later, push)."""
    organisation = user.organisation
    return organisation.allows(kinds.APP_CODE) or organisation.allows(kinds.APP_NOTIFICATION)


def may_add_device(user: User) -> bool:
    """The organisation allows the app and the user has room for another one."""
    return allowed(user) and user.authenticator_devices.count() < MAX_DEVICES


def _clean_name(user: User, name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the app a name, such as the phone it is on."))
    if len(name) > 60:
        raise InvalidInput(_("Use at most 60 characters."))
    if user.authenticator_devices.filter(name__iexact=name).exists():
        raise InvalidInput(_("You already have an authenticator app with this name."))
    return name


@transaction.atomic
def add_device(user: User, name: str, secret: bytes, code: str) -> AuthenticatorDevice:
    """Save the device once ``code`` proves the app holds ``secret`` (current step ±1).

    The proving step is remembered, so the same code cannot be used again to sign in.
    """
    if not may_add_device(user):
        raise NotAllowed(_("You cannot add another authenticator app."))
    name = _clean_name(user, name)
    code = (code or "").replace(" ", "")
    step = crypto.totp_match(secret, code, now=clock()) if _SIX_DIGITS.match(code) else None
    if step is None:
        raise EnrolmentCodeRefused(
            _("That code didn't work. Enter the 6-digit code the app shows now.")
        )
    device = AuthenticatorDevice.objects.create(
        user=user,
        name=name,
        secret=crypto.encrypt(secret),
        digits=DIGITS,
        period=PERIOD,
        algorithm=ALGORITHM,
        last_used_step=step,
    )
    record(
        AuditAction.AUTHENTICATOR_ADDED,
        AuditResult.SUCCESS,
        actor=user,
        subject=user,
        kind="totp",
        device=device.pk,
    )
    return device


# --- Using and removing devices ------------------------------------------------------------


def devices(user: User) -> list[AuthenticatorDevice]:
    return list(user.authenticator_devices.order_by("created_at", "id"))


def get_device(user: User, device_id: int) -> AuthenticatorDevice:
    """The user's own device; anybody else's is "not found"."""
    device = AuthenticatorDevice.objects.filter(pk=device_id, user=user).first()
    if device is None:
        raise NotFound(_("This authenticator app no longer exists."))
    return device


@transaction.atomic
def delete_device(user: User, device_id: int, *, actor: User | None = None) -> None:
    """Remove one of the user's devices: its codes are refused from the next check on."""
    device = get_device(user, device_id)
    device_pk = device.pk
    device.delete()
    record(
        AuditAction.AUTHENTICATOR_DELETED,
        AuditResult.SUCCESS,
        actor=actor or user,
        subject=user,
        kind="totp",
        device=device_pk,
    )


def check_code(user: User, code: str) -> bool:
    """Whether ``code`` comes from one of the user's devices, at a step not used before.

    Must run inside a transaction: the devices are locked, so two submissions of one code
    (in two challenges or two requests) cannot both succeed.
    """
    now = clock()
    for device in AuthenticatorDevice.objects.select_for_update().filter(user=user).order_by("pk"):
        try:
            secret = crypto.decrypt(device.secret)
        except crypto.DecryptionError:
            log.error("authenticator secret unreadable", extra={"device": device.pk})
            continue
        step = crypto.totp_match(
            secret,
            code,
            now=now,
            after_step=device.last_used_step,
            period=device.period,
            digits=device.digits,
            algorithm=device.algorithm,
        )
        if step is not None:
            device.last_used_step = step
            device.last_used_at = timezone.now()
            device.save(update_fields=["last_used_step", "last_used_at"])
            return True
    return False


# --- The seed between the enrolment page and its form -------------------------------------

_PENDING_ENROLMENT = "twofold.authenticator.pending_secret"


def enrolment_secret(session: SessionBase) -> bytes:
    """The seed of the enrolment in progress, made on first use; kept encrypted in the session.

    It stays the same across page loads and wrong codes until the enrolment succeeds or
    the user starts over, so an app that already scanned it keeps working.
    """
    stored = session.get(_PENDING_ENROLMENT)
    if stored:
        try:
            return crypto.decrypt(stored)
        except crypto.DecryptionError:
            log.warning("pending authenticator secret unreadable; starting a new enrolment")
    secret = new_secret()
    session[_PENDING_ENROLMENT] = crypto.encrypt(secret)
    return secret


def forget_enrolment_secret(session: SessionBase) -> None:
    """End the enrolment in progress: the next visit starts with a fresh seed."""
    session.pop(_PENDING_ENROLMENT, None)
