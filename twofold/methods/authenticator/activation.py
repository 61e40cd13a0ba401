"""Activating the twofold Authenticator app: a one-time link from the settings page.

The settings page issues a random code (ten minutes, single use) inside a link to
/authenticator/. The app opens it, makes a P-256 key pair whose private half never leaves
the phone, and sends the public key; it gets back the account and its TOTP seed, so it
shows codes even offline. Only the code's keyed digest is stored.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditResult
from twofold.audit.services import record
from twofold.core import context, crypto
from twofold.core.errors import InvalidInput, NotAllowed, RateLimited
from twofold.core.ratelimit import Limit
from twofold.methods.authenticator import actions as authenticator_actions
from twofold.methods.authenticator import kinds, services
from twofold.methods.authenticator.models import DEFAULT_NAME, ActivationCode, AuthenticatorDevice

LIFETIME = timedelta(minutes=10)
CODE_DIGITS = 12
_DIGITS_ONLY = re.compile(r"^\d{12}$")
# Wrong activation codes per client address: guessing one of the open codes stays hopeless.
_WRONG_BY_ADDRESS = Limit("activation-address", 20, 15 * 60)


class ActivationRefused(InvalidInput):
    code = "activation_refused"


def may_activate(user: User) -> bool:
    """Notifications are allowed by the organisation and the user has room for an app."""
    return user.organisation.allows(kinds.APP_NOTIFICATION) and services.may_add_device(user)


def grouped(code: str) -> str:
    """The code in groups of four, for typing it into the app."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def link(base_url: str, code: str) -> str:
    """The activation link the QR code carries: the code rides in the fragment, so it
    reaches the app but never a server log."""
    return f"{base_url.rstrip('/')}/authenticator/#activate={code}"


@transaction.atomic
def issue(user: User) -> tuple[ActivationCode, str]:
    """A new activation code for ``user`` (earlier unused ones stop working)."""
    if not may_activate(user):
        raise NotAllowed(_("You cannot add another authenticator app."))
    now = timezone.now()
    ActivationCode.objects.filter(user=user, used_at__isnull=True).update(expires_at=now)
    code = crypto.random_digits(CODE_DIGITS)
    activation = ActivationCode.objects.create(
        user=user, digest=_digest(code), expires_at=now + LIFETIME
    )
    record(authenticator_actions.ACTIVATION_ISSUED, AuditResult.SUCCESS, actor=user, subject=user)
    return activation, code


def _digest(code: str) -> str:
    return crypto.keyed_digest(code, "authenticator-activation")


def _public_key(encoded: str) -> str:
    """The app's public key (base64url of the uncompressed P-256 point), checked, as stored:
    encrypted like every device key, so nobody can swap in their own without the
    encryption key (Fernet is authenticated)."""
    try:
        point = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        crypto.p256_public_key(point)
    except (binascii.Error, ValueError):
        raise InvalidInput(_("The app sent a key that is not valid."), field="public_key") from None
    return crypto.encrypt(point)


def _free_name(user: User, name: str) -> str:
    """The name asked for, made unique among the user's apps ("Phone (2)")."""
    name = " ".join((name or "").split())[:50] or str(DEFAULT_NAME)
    taken = {n.lower() for n in user.authenticator_devices.values_list("name", flat=True)}
    candidate, number = name, 2
    while candidate.lower() in taken:
        candidate, number = f"{name} ({number})", number + 1
    return candidate


def activate(
    code: str, public_key: str, name: str, platform: str
) -> tuple[AuthenticatorDevice, bytes]:
    """Turn an activation code into a device holding ``public_key``; returns it and its seed."""
    address = context.address_bucket_of(context.current().client_address) or "unknown"
    if _WRONG_BY_ADDRESS.exceeded(address):
        raise RateLimited(retry_after=_WRONG_BY_ADDRESS.retry_after())
    key = _public_key(public_key or "")
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    with transaction.atomic():
        activation = (
            ActivationCode.objects.select_for_update()
            .select_related("user__organisation")
            .filter(digest=_digest(code) if _DIGITS_ONLY.match(code) else "")
            .first()
        )
        usable = (
            activation and activation.used_at is None and activation.expires_at > timezone.now()
        )
        if usable:
            return _add_device(activation, key, name, platform)
    _WRONG_BY_ADDRESS.hit(address)
    raise ActivationRefused(
        _("This activation link is not valid any more. Get a new one from the settings page.")
    )


def _add_device(
    activation: ActivationCode, public_key: str, name: str, platform: str
) -> tuple[AuthenticatorDevice, bytes]:
    user = activation.user
    if not may_activate(user):
        raise NotAllowed(_("You cannot add another authenticator app."))
    secret = services.new_secret()
    device = AuthenticatorDevice.objects.create(
        user=user,
        name=_free_name(user, name),
        secret=crypto.encrypt(secret),
        digits=services.DIGITS,
        period=services.PERIOD,
        algorithm=services.ALGORITHM,
        platform=" ".join((platform or "").split())[:20],
        public_key=public_key,
    )
    activation.used_at = timezone.now()
    activation.device = device
    activation.save(update_fields=["used_at", "device"])
    record(
        authenticator_actions.ADDED,
        AuditResult.SUCCESS,
        actor=user,
        subject=user,
        kind="push",
        device=device.pk,
    )
    return device, secret


def activated(user: User, activation_id: int) -> bool:
    """Whether the user's activation ``activation_id`` has been used (the page polls it)."""
    return ActivationCode.objects.filter(
        pk=activation_id, user=user, used_at__isnull=False
    ).exists()
