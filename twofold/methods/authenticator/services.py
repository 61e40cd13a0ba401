"""The authenticator app: enrolment (secret, QR code, proof), codes at sign-in, deletion.

The seed exists in clear only in memory: encrypted in the session between the enrolment
page and its form, encrypted in the database afterwards, and never shown again.
"""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote, urlencode

import segno
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditResult
from twofold.audit.services import record
from twofold.core import crypto
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods import totp
from twofold.methods.authenticator import actions as authenticator_actions
from twofold.methods.authenticator import kinds
from twofold.methods.authenticator.models import AuthenticatorDevice

#: How many authenticator apps one user may keep.
MAX_DEVICES = 5
# What the QR code asks the app for: the defaults of methods/totp.py.
DIGITS = totp.DIGITS
PERIOD = totp.PERIOD
ALGORITHM = totp.ALGORITHM

log = logging.getLogger(__name__)


class EnrolmentCodeRefused(InvalidInput):
    """The code typed at enrolment does not come from the secret being set up."""

    code = "wrong_code"


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
    step = totp.step_of_new_seed(secret, code)
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
        authenticator_actions.ADDED,
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
        authenticator_actions.DELETED,
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
    devices = AuthenticatorDevice.objects.select_for_update().filter(user=user).order_by("pk")
    return totp.spend(devices, code) is not None


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
