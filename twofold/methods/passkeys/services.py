"""Passkeys: registering, renaming and deleting them, and judging their answers.

A ceremony's challenge is kept server-side (in the session for registering and for
passwordless sign-in, in the challenge's ``payload`` as a second factor) and is spent by
the first answer, right or wrong. A counter that goes backwards refuses the passkey,
writes a high-severity audit event and raises the same alert as a fraud report
(docs/security.md 12).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from twofold.accounts.models import User
from twofold.audit.models import AuditResult
from twofold.audit.services import record, safe_text
from twofold.core import context
from twofold.core.crypto import random_token
from twofold.core.errors import InvalidInput, NotAllowed, NotFound
from twofold.methods.passkeys import ceremony
from twofold.methods.passkeys.aaguids import model_name
from twofold.methods.passkeys.models import (
    Attestation,
    Passkey,
    PasskeyAccount,
    PasskeyPolicy,
    UserVerification,
)
from twofold.organisations.models import Organisation

alerts = logging.getLogger("twofold.alerts")

POLICY_KIND = "passkey"
OPTION = "passkey"
CLONE_SEVERITY = "high"  # as a fraud report's (methods/waits.py)
MAX_PASSKEYS = 20
NAME_LENGTH = 64
CEREMONY_SECONDS = ceremony.TIMEOUT_MS // 1000 + 60

ADDED = "passkey.added"
RENAMED = "passkey.renamed"
DELETED = "passkey.deleted"
CLONED = "passkey.cloned"
REFUSED = "passkey.refused"
POLICY_CHANGED = "passkey.policy"

_REGISTERING = "twofold.passkeys.registering"


class PasskeyRefused(InvalidInput):
    code = "passkey_refused"


def policy_for(organisation: Organisation) -> PasskeyPolicy:
    """The organisation's passkey policy; the defaults (unsaved) where it set none."""
    found = PasskeyPolicy.objects.filter(organisation=organisation).first()
    return found or PasskeyPolicy(organisation=organisation)


@transaction.atomic
def set_policy(
    organisation: Organisation,
    *,
    actor: User,
    user_verification: str,
    attestation: str,
    allowed_aaguids: list[str],
    attestation_roots: str = "",
) -> bool:
    """Save the organisation's passkey rules; audited with what changed. Returns whether
    anything did."""
    policy, _created = PasskeyPolicy.objects.select_for_update().get_or_create(
        organisation=organisation
    )
    after = {
        "user_verification": user_verification,
        "attestation": attestation,
        "allowed_aaguids": allowed_aaguids,
        "attestation_roots": attestation_roots,
    }
    changes = {name: value for name, value in after.items() if getattr(policy, name) != value}
    if not changes:
        return False
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.save()
    record(
        POLICY_CHANGED,
        AuditResult.SUCCESS,
        actor=actor,
        organisation=organisation,
        fields=sorted(changes),
    )
    return True


def allowed(user: User) -> bool:
    return user.organisation.allows(POLICY_KIND)


def passkeys(user: User) -> list[Passkey]:
    return list(user.passkeys.all())


def handle_for(user: User) -> str:
    """The user's random WebAuthn user handle, made on first use."""
    account = PasskeyAccount.objects.filter(user=user).first()
    if account is None:
        try:
            with transaction.atomic():
                account = PasskeyAccount.objects.create(user=user, handle=random_token(32))
        except IntegrityError:  # made meanwhile by a second tab
            account = PasskeyAccount.objects.get(user=user)
    return account.handle


# --- Registering ----------------------------------------------------------------------------


def begin_registration(session, user: User) -> str:
    """The options for ``create()`` (JSON); the challenge waits in the session."""
    if not allowed(user):
        raise NotAllowed(_("Your organisation does not allow passkeys."))
    if user.passkeys.count() >= MAX_PASSKEYS:
        raise NotAllowed(_("You cannot add more passkeys. Delete one first."))
    policy = policy_for(user.organisation)
    options, challenge = ceremony.registration_options(
        handle=handle_for(user),
        user_name=user.username,
        display_name=user.display_name,
        existing=list(user.passkeys.values_list("credential_id", "transports")),
        user_verification=policy.user_verification,
        attestation=policy.attestation,
    )
    session[_REGISTERING] = {"user": user.pk, "challenge": challenge, "at": int(time.time())}
    return options


def finish_registration(session, user: User, response: str, name: str) -> Passkey:
    """Check the authenticator's answer and keep the new passkey under ``name``."""
    name = clean_name(name)
    held = session.pop(_REGISTERING, None)
    if not held or held["user"] != user.pk or time.time() - held["at"] > CEREMONY_SECONDS:
        raise PasskeyRefused(_("Adding the passkey took too long. Try again."))
    policy = policy_for(user.organisation)
    try:
        made = ceremony.verify_registration(
            response,
            challenge=held["challenge"],
            require_uv=policy.user_verification == UserVerification.REQUIRED,
            roots=_roots(policy),
        )
    except ceremony.CeremonyFailed as failed:
        _record_refusal(user, failed.reason)
        raise PasskeyRefused(_("Your browser's answer could not be checked. Try again.")) from None
    _check_model(user, policy, made)
    return _keep(user, made, name, _transports(response))


def _roots(policy: PasskeyPolicy) -> list[bytes]:
    """Under direct attestation, the roots a new passkey's certificate chain must lead to."""
    if policy.attestation != Attestation.DIRECT or not policy.attestation_roots:
        return []
    return [
        root.public_bytes(serialization.Encoding.PEM)
        for root in x509.load_pem_x509_certificates(policy.attestation_roots.encode())
    ]


def _check_model(user: User, policy: PasskeyPolicy, made: ceremony.Registered) -> None:
    """Under direct attestation only the listed authenticator models are accepted, and only
    when the authenticator proved its model: a certificate chain to one of the policy's
    roots (checked by the ceremony). A model named without one (self-attestation, or
    none) is only a claim, which anyone can make."""
    if policy.attestation != Attestation.DIRECT:
        return
    listed = {aaguid.lower() for aaguid in policy.allowed_aaguids}
    if not made.attested or made.aaguid.lower() not in listed:
        _record_refusal(user, "authenticator model not allowed")
        raise PasskeyRefused(_("Your organisation does not allow this kind of authenticator."))


@transaction.atomic
def _keep(user: User, made: ceremony.Registered, name: str, transports: list[str]) -> Passkey:
    if Passkey.objects.filter(credential_id=made.credential_id).exists():
        raise PasskeyRefused(_("This passkey is already registered."))
    passkey = Passkey.objects.create(
        user=user,
        credential_id=made.credential_id,
        public_key=made.public_key,
        sign_count=made.sign_count,
        aaguid=made.aaguid,
        transports=transports,
        name=name,
        backed_up=made.backed_up,
        backup_eligible=made.backup_eligible,
        discoverable=made.discoverable,
        user_verified=made.user_verified,
    )
    record(ADDED, AuditResult.SUCCESS, actor=user, subject=user, method=OPTION, kind=_kind(made))
    return passkey


def _kind(made: ceremony.Registered) -> str:
    return model_name(made.aaguid) or ("synced" if made.backup_eligible else "device-bound")


def _transports(response: str) -> list[str]:
    """The transports the browser reported for the new passkey (hints for later)."""
    try:
        found = json.loads(response)["response"].get("transports") or []
    except (ValueError, KeyError, TypeError, AttributeError):
        return []
    return [str(item)[:16] for item in found if isinstance(item, str)][:8]


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the passkey a name."), field="name")
    if len(name) > NAME_LENGTH:
        raise InvalidInput(
            _("A name has at most %(count)d characters.") % {"count": NAME_LENGTH}, field="name"
        )
    return name


def own_passkey(user: User, passkey_id: int) -> Passkey:
    found = Passkey.objects.filter(user=user, pk=passkey_id).first()
    if found is None:
        raise NotFound(_("This passkey no longer exists."))
    return found


def user_of_organisation(organisation: Organisation, user_id: int) -> User:
    """A user of ``organisation`` (an administrator's reach); NotFound for anyone else."""
    found = User.objects.filter(organisation=organisation, pk=user_id).first()
    if found is None:
        raise NotFound(_("This user no longer exists."))
    return found


@transaction.atomic
def rename(user: User, passkey_id: int, name: str) -> Passkey:
    passkey = own_passkey(user, passkey_id)
    passkey.name = clean_name(name)
    passkey.save(update_fields=["name"])
    record(RENAMED, AuditResult.SUCCESS, actor=user, subject=user, method=OPTION)
    return passkey


@transaction.atomic
def delete(user: User, passkey_id: int, *, actor: User | None = None) -> None:
    """Remove one passkey (by its owner on the settings page, or by an administrator)."""
    passkey = own_passkey(user, passkey_id)
    passkey.delete()
    record(DELETED, AuditResult.SUCCESS, actor=actor or user, subject=user, method=OPTION)


# --- Using one ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Used:
    passkey: Passkey
    user_verified: bool

    @property
    def amr(self) -> list[str]:
        """RFC 8176: ``swk`` for a synced passkey (software-held key), ``hwk`` for one
        bound to its device; ``user`` when the authenticator verified the person."""
        key = "swk" if self.passkey.backup_eligible or self.passkey.backed_up else "hwk"
        return [key, "user"] if self.user_verified else [key]


def assertion_options(user: User | None) -> tuple[str, str]:
    """Options for ``get()`` and their challenge: for ``user``'s passkeys (a second
    factor), or for any discoverable one (passwordless: user verification required)."""
    if user is None:
        return ceremony.authentication_options(allowed=[], user_verification="required")
    policy = policy_for(user.organisation)
    allowed_ids = list(user.passkeys.values_list("credential_id", "transports"))
    return ceremony.authentication_options(
        allowed=allowed_ids, user_verification=policy.user_verification
    )


def use(response: str, *, challenge: str, user: User | None) -> Used:
    """Judge a ``get()`` answer. ``user``: whose passkey it must be (a second factor), or
    None for passwordless sign-in, where the passkey names its user and must have
    verified them. Locks the passkey's row (after the user's, where the caller holds it)."""
    credential_id = ceremony.credential_id_of(response)
    passkeys = Passkey.objects.select_for_update().select_related("user__organisation")
    passkey = passkeys.filter(credential_id=credential_id).first() if credential_id else None
    if passkey is None or (user is not None and passkey.user_id != user.pk):
        raise PasskeyRefused(_("This passkey is not registered here."))
    owner = passkey.user
    if user is None and ceremony.user_handle_of(response) != _handle_of(owner):
        raise PasskeyRefused(_("This passkey is not registered here."))
    policy = policy_for(owner.organisation)
    require_uv = user is None or policy.user_verification == UserVerification.REQUIRED
    try:
        checked = ceremony.verify_assertion(
            response,
            challenge=challenge,
            public_key=bytes(passkey.public_key),
            sign_count=passkey.sign_count,
            require_uv=require_uv,
        )
    except ceremony.CeremonyFailed as failed:
        _record_refusal(owner, failed.reason)
        raise PasskeyRefused(_("Your passkey's answer could not be checked. Try again.")) from None
    if checked.cloned:
        _take_clone(owner, passkey, checked.sign_count)
        raise PasskeyRefused(
            _("This passkey was refused: it may have been copied. Contact your help desk.")
        )
    passkey.sign_count = checked.sign_count
    passkey.backed_up = checked.backed_up
    passkey.last_used_at = timezone.now()
    passkey.save(update_fields=["sign_count", "backed_up", "last_used_at"])
    return Used(passkey, checked.user_verified)


def _handle_of(user: User) -> str:
    return PasskeyAccount.objects.filter(user=user).values_list("handle", flat=True).first() or ""


def _take_clone(user: User, passkey: Passkey, reported: int) -> None:
    """A counter that did not move forward: audited as high severity and alerted as a
    fraud report is. Callers commit it before raising the refusal (``use`` raises after
    recording; its callers catch the refusal inside their transaction)."""
    reason = f"signature counter went backwards ({reported} after {passkey.sign_count})"
    record(
        CLONED,
        AuditResult.DENIED,
        actor=user,
        subject=user,
        method=OPTION,
        reason=reason,
        severity=CLONE_SEVERITY,
    )
    alerts.warning(
        "passkey_cloned",
        extra={
            "event": "passkey_cloned",
            "severity": CLONE_SEVERITY,
            "organisation": user.organisation.slug,
            "user_id": user.pk,
            "method": OPTION,
            "method_kind": POLICY_KIND,
            "passkey_id": passkey.pk,
            "correlation_id": context.current().correlation_id,
        },
    )


def _record_refusal(user: User, reason: str) -> None:
    record(
        REFUSED,
        AuditResult.FAILURE,
        actor=user,
        subject=user,
        method=OPTION,
        reason=safe_text(reason, 120),
    )
