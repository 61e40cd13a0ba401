"""A software authenticator for unit tests: it makes real WebAuthn answers (CBOR, COSE,
ECDSA P-256 signatures) the way an authenticator and a browser would, with knobs for
what a test wants wrong (origin, relying party, user verification, counter)."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import struct
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


class AttestationCA:
    """An authenticator maker's attestation root and one batch certificate under it: a
    packed attestation whose chain leads to ``root_pem``."""

    def __init__(self, maker: str = "Contoso Keys") -> None:
        now = datetime.datetime.now(datetime.UTC)
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{maker} Root CA")])
        self.root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(self.root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(self.root_key, hashes.SHA256())
        )
        self.batch_key = ec.generate_private_key(ec.SECP256R1())
        batch_name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, maker),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{maker} Batch 1"),
            ]
        )
        self.batch = (
            x509.CertificateBuilder()
            .subject_name(batch_name)
            .issuer_name(root_name)
            .public_key(self.batch_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.root_key, hashes.SHA256())
        )

    @property
    def root_pem(self) -> str:
        return self.root.public_bytes(serialization.Encoding.PEM).decode()

    def statement(self, signed: bytes) -> dict:
        signature = self.batch_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        der = self.batch.public_bytes(serialization.Encoding.DER)
        return {"alg": -7, "sig": signature, "x5c": [der]}


@dataclass
class SoftKey:
    rp_id: str = "localhost"
    origin: str = "http://localhost:8000"
    user_verified: bool = True
    sign_count: int = 0
    user_handle: bytes = b""
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    aaguid: bytes = bytes(16)
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    # The attestation a create() answer carries: "none"; "self" (packed, signed with the
    # credential's own key: a claimed model, proven by nothing); or an AttestationCA's
    # packed attestation with its certificate chain.
    attestation: str | AttestationCA = "none"

    def _cose_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _flags(self, extra: int = 0) -> int:
        return UP | (UV if self.user_verified else 0) | extra

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        ).encode()

    def create(self, options: str) -> str:
        """Answer ``navigator.credentials.create()`` for ``options`` (JSON)."""
        challenge = json.loads(options)["challenge"]
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        attested = (
            self.aaguid
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_key()
        )
        auth_data = rp_hash + bytes([self._flags(AT)]) + struct.pack(">I", self.sign_count)
        client_data = self._client_data("webauthn.create", challenge)
        auth_data += attested
        signed = auth_data + hashlib.sha256(client_data).digest()
        if self.attestation == "none":
            fmt, statement = "none", {}
        elif self.attestation == "self":
            signature = self.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
            fmt, statement = "packed", {"alg": -7, "sig": signature}
        else:
            fmt, statement = "packed", self.attestation.statement(signed)
        attestation = cbor2.dumps({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {"credProps": {"rk": True}},
            }
        )

    def get(self, options: str, *, count: int | None = None) -> str:
        """Answer ``navigator.credentials.get()``; the counter moves on by one unless
        ``count`` says what to report."""
        challenge = json.loads(options)["challenge"]
        if count is None:
            self.sign_count += 1
            count = self.sign_count
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        auth_data = rp_hash + bytes([self._flags()]) + struct.pack(">I", count)
        client_data = self._client_data("webauthn.get", challenge)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        response = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(signature),
        }
        if self.user_handle:
            response["userHandle"] = b64url(self.user_handle)
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": response,
                "clientExtensionResults": {},
            }
        )
