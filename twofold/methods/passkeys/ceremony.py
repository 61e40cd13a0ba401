"""The two WebAuthn ceremonies (registering a passkey, using one), through py_webauthn.

Nothing here touches the database: the services hand in what is stored and keep what
comes out. The relying party is twofold itself: its ID is the base URL's host and the
only origin accepted is the base URL's (docs/security.md 36). Browsers refuse an IP
address as a relying party ID, which is why the demo serves on ``localhost``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_attestation_object
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

TIMEOUT_MS = 120_000


class CeremonyFailed(ValueError):
    """The browser's answer does not hold: wrong origin, relying party, challenge,
    signature, user verification, or simply malformed. ``reason`` is for the audit log
    (never the answer itself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RelyingParty:
    id: str  # the base URL's host: "localhost", "mfa.contoso.example"
    origin: str  # the base URL's scheme, host and port: "https://mfa.contoso.example"
    name: str


def relying_party() -> RelyingParty:
    """Twofold as a WebAuthn relying party, from its configured base URL."""
    parts = urlsplit(settings.TWOFOLD_BASE_URL)
    return RelyingParty(
        id=parts.hostname or "", origin=f"{parts.scheme}://{parts.netloc}", name="twofold"
    )


@dataclass(frozen=True)
class Registered:
    credential_id: str  # base64url
    public_key: bytes
    sign_count: int
    aaguid: str
    attested: bool  # its certificate chain led to one of the given roots
    user_verified: bool
    backed_up: bool
    backup_eligible: bool
    discoverable: bool  # the browser said so (credProps); False when it did not say


@dataclass(frozen=True)
class Asserted:
    credential_id: str  # base64url
    sign_count: int
    user_verified: bool
    backed_up: bool
    cloned: bool  # the signature counter did not move forward: a copied authenticator


def registration_options(
    *,
    handle: str,
    user_name: str,
    display_name: str,
    existing: list[tuple[str, list[str]]],
    user_verification: str,
    attestation: str,
) -> tuple[str, str]:
    """The options for ``navigator.credentials.create()`` as JSON, and their challenge
    (base64url) to keep until the answer comes. ``existing``: the user's passkeys as
    (credential ID, transports), which the authenticator must not register twice."""
    rp = relying_party()
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=handle.encode(),
        user_name=user_name,
        user_display_name=display_name or user_name,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference(attestation),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,  # passwordless where it can
            user_verification=UserVerificationRequirement(user_verification),
        ),
        exclude_credentials=[_descriptor(cid, transports) for cid, transports in existing],
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def authentication_options(
    *, allowed: list[tuple[str, list[str]]], user_verification: str
) -> tuple[str, str]:
    """The options for ``navigator.credentials.get()`` as JSON, and their challenge.
    ``allowed`` empty: any discoverable passkey for this site (passwordless sign-in)."""
    options = generate_authentication_options(
        rp_id=relying_party().id,
        timeout=TIMEOUT_MS,
        allow_credentials=[_descriptor(cid, transports) for cid, transports in allowed],
        user_verification=UserVerificationRequirement(user_verification),
    )
    return options_to_json(options), bytes_to_base64url(options.challenge)


def verify_registration(
    response: str, *, challenge: str, require_uv: bool, roots: list[bytes] | None = None
) -> Registered:
    """Check a ``create()`` answer against its challenge, origin and relying party.
    ``roots`` (PEM): an attestation's certificate chain must lead to one of them, whatever
    its format; ``attested`` then says a chain did."""
    rp = relying_party()
    by_format = {fmt: roots for fmt in AttestationFormat if fmt != AttestationFormat.NONE}
    try:
        verified = verify_registration_response(
            credential=response,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=require_uv,
            pem_root_certs_bytes_by_fmt=by_format if roots else None,
        )
        chain = parse_attestation_object(verified.attestation_object).att_stmt.x5c or []
    except (WebAuthnException, ValueError, TypeError, KeyError) as refused:
        raise CeremonyFailed(_reason(refused)) from None
    return Registered(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        attested=bool(roots) and verified.fmt != AttestationFormat.NONE and bool(chain),
        user_verified=verified.user_verified,
        backed_up=verified.credential_backed_up,
        backup_eligible=verified.credential_device_type == "multi_device",
        discoverable=_resident_key(response),
    )


def verify_assertion(
    response: str,
    *,
    challenge: str,
    public_key: bytes,
    sign_count: int,
    require_uv: bool,
) -> Asserted:
    """Check a ``get()`` answer: origin, relying party, challenge, signature, and user
    verification when required. The counter is compared here rather than by py_webauthn,
    after the signature holds, so that a counter going backwards is told apart from a
    forgery: it is the sign of a cloned authenticator (WebAuthn 6.1.1)."""
    rp = relying_party()
    try:
        verified = verify_authentication_response(
            credential=response,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=public_key,
            credential_current_sign_count=0,  # compared below
            require_user_verification=require_uv,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as refused:
        raise CeremonyFailed(_reason(refused)) from None
    new = verified.new_sign_count
    return Asserted(
        credential_id=bytes_to_base64url(verified.credential_id),
        sign_count=new,
        user_verified=verified.user_verified,
        backed_up=verified.credential_backed_up,
        cloned=(new > 0 or sign_count > 0) and new <= sign_count,
    )


def credential_id_of(response: str) -> str:
    """The credential ID a ``get()`` answer names (base64url), to find the passkey by;
    "" when the answer is not JSON with one."""
    try:
        found = json.loads(response).get("rawId", "")
    except (ValueError, AttributeError):
        return ""
    return found if isinstance(found, str) and 0 < len(found) <= 1400 else ""


def user_handle_of(response: str) -> str:
    """The user handle a discoverable passkey returned with its answer, decoded; ""."""
    try:
        handle = json.loads(response)["response"].get("userHandle") or ""
        return base64url_to_bytes(handle).decode() if isinstance(handle, str) else ""
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""


def _resident_key(response: str) -> bool:
    """Whether the browser reported a discoverable credential (the credProps extension,
    which the page's script asks for)."""
    try:
        found = json.loads(response)["clientExtensionResults"]["credProps"]["rk"]
    except (ValueError, KeyError, TypeError):
        return False
    return found is True


def _descriptor(credential_id: str, transports: list[str]) -> PublicKeyCredentialDescriptor:
    known = {transport.value for transport in AuthenticatorTransport}
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(credential_id),
        transports=[AuthenticatorTransport(t) for t in transports if t in known],
    )


def _reason(refused: Exception) -> str:
    """A short reason for the audit log: py_webauthn's message, digits masked elsewhere."""
    return str(refused).split(". See")[0][:120] or refused.__class__.__name__
