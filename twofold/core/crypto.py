"""twofold's security primitives, kept in one small module to be reviewed in one sitting.

Random tokens and codes, one-way digests of tokens, constant-time comparison,
encryption of secrets at rest with key rotation, and HOTP/TOTP (a thin seam over
``django_otp.oath``). No other module imports ``secrets``, ``hmac`` or ``random``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
import struct
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings
from django_otp import oath

from twofold.core.errors import DependencyUnavailable

log = logging.getLogger(__name__)

# Letters only, without the ones people confuse when copying (I, L, O) — for app passwords.
_LETTERS = "".join(ch for ch in string.ascii_lowercase if ch not in "ilo")


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


class StoredSecretUnreadable(DependencyUnavailable):
    """A secret kept in the database that no configured key opens.

    The installation's fault, never the person's: its keys are another installation's, or
    one was taken out before ``twofold rotate-keys`` had finished with it. So it is not a
    wrong code (which would count towards every user's lockout) but an outage: 503, no
    RADIUS answer, nothing counted against anyone, and ``/readyz`` says so (docs/security.md
    35).
    """

    def __init__(self) -> None:
        super().__init__(dependency="encryption_keys")


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random token with ``nbytes`` bytes of entropy (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def random_digits(length: int = 6) -> str:
    """A uniformly random numeric code; leading zeros are kept."""
    return "".join(secrets.choice(string.digits) for _ in range(length))


def random_number(low: int, high: int) -> int:
    """A uniformly random integer with ``low <= n <= high`` (push number matching)."""
    return low + secrets.randbelow(high - low + 1)


def random_letters(length: int) -> str:
    return "".join(secrets.choice(_LETTERS) for _ in range(length))


def random_alphanumeric(length: int) -> str:
    """Letters and digits only (log2(62), about 5.95 bits a character): for secrets typed
    into other systems' forms and command lines, where a leading "-" reads as an option
    and "_" or "-" may not be accepted at all."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def digest(value: str) -> str:
    """SHA-256 of a high-entropy token, for storing tokens we only ever look up.

    Only for random tokens: anything a person chose goes through the password hasher.
    """
    return hashlib.sha256(value.encode()).hexdigest()


def keyed_digest(value: str, purpose: str) -> str:
    """HMAC-SHA256 keyed by the secret key, for low-entropy values we must look up (cache keys)."""
    key = hashlib.sha256(f"twofold:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def signature(secret: str, message: bytes) -> str:
    """HMAC-SHA256 of ``message`` under a shared secret (a webhook's), hex: what a receiver
    recomputes to know the message came from us unchanged."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def message_authenticator(secret: bytes, packet: bytes) -> bytes:
    """HMAC-MD5 of a RADIUS packet under its client's shared secret (RFC 3579 3.2): the
    packet's Message-Authenticator, computed over the packet with that attribute's value
    zeroed. MD5 here is the protocol's, not a choice of ours."""
    return hmac.new(secret, packet, hashlib.md5).digest()


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare two secrets without leaking, through timing, where they first differ."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _keys() -> MultiFernet:
    return _fernet(tuple(settings.TWOFOLD["encryption_keys"]))


def encrypt(plaintext: bytes) -> str:
    """Encrypt with the first configured key (authenticated: AES-128-CBC + HMAC, Fernet)."""
    return _keys().encrypt(plaintext).decode("ascii")


def decrypt(ciphertext: str) -> bytes:
    """Decrypt with whichever configured key encrypted it (old keys stay readable)."""
    try:
        return _keys().decrypt(ciphertext.encode("ascii"))
    except InvalidToken:
        raise DecryptionError("no configured encryption key opens this secret") from None


def open_stored(ciphertext: str, *, what: str) -> bytes:
    """``decrypt`` for a secret kept in the database (``what``: its column and row, for the
    operator's log): StoredSecretUnreadable if no configured key opens it."""
    try:
        return decrypt(ciphertext)
    except DecryptionError:
        log.error(
            "stored secret unreadable: no configured encryption key opens it",
            extra={"secret": what},
        )
        raise StoredSecretUnreadable() from None


def reencrypt(ciphertext: str) -> str:
    """Re-encrypt under the newest key, for rotating keys over stored secrets."""
    try:
        return _keys().rotate(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise DecryptionError("no configured encryption key opens this secret") from None


def key_id(key: str) -> str:
    """A short name for an encryption key that says which one it is but nothing of it: the
    first 12 hex digits of the SHA-256 of the key as configured (``sha256sum`` of the key
    without its newline gives the same). For the audit trail and the operator's output,
    where a key itself never goes."""
    return "k-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def key_ids() -> list[str]:
    """The configured encryption keys' IDs, the first (the one new secrets use) first."""
    return [key_id(key) for key in settings.TWOFOLD["encryption_keys"]]


def under_first_key(ciphertext: str) -> bool:
    """Whether ``ciphertext`` was encrypted with the first configured key (nothing to rotate)."""
    first = Fernet(settings.TWOFOLD["encryption_keys"][0])
    try:
        first.decrypt(ciphertext.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


# --- HOTP / TOTP -------------------------------------------------------------------------
# SHA-1 goes through django_otp.oath, the implementation every enrolment uses. SHA-256 and
# SHA-512 (some hardware tokens) use the same RFC 4226 dynamic truncation below, pinned by
# the RFC 6238 known-answer vectors.

_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def hotp(key: bytes, counter: int, digits: int = 6, algorithm: str = "sha1") -> str:
    """The RFC 4226 one-time password for ``counter``, zero-padded to ``digits``."""
    if algorithm == "sha1":
        value = oath.hotp(key, counter, digits)
    else:
        mac = hmac.new(key, struct.pack(">Q", counter), _DIGESTS[algorithm]).digest()
        offset = mac[-1] & 0x0F
        value = (int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % 10**digits
    return str(value).zfill(digits)


def totp_step(now: float, period: int = 30) -> int:
    """The RFC 6238 time step (T) that ``now`` (Unix seconds, T0 = 0) falls in."""
    return int(now) // period


def totp(
    key: bytes, now: float, *, period: int = 30, digits: int = 6, algorithm: str = "sha1"
) -> str:
    return hotp(key, totp_step(now, period), digits, algorithm)


def totp_match(
    key: bytes,
    code: str,
    *,
    now: float,
    after_step: int = -1,
    window: int = 1,
    period: int = 30,
    digits: int = 6,
    algorithm: str = "sha1",
) -> int | None:
    """The time step whose code equals ``code``, or None.

    Looks at the current step and ``window`` steps either side, and only at steps later
    than ``after_step`` (the last step this secret was accepted for), so a code, or an
    older one, is never accepted twice. Every candidate is compared in constant time.
    """
    current = totp_step(now, period)
    matched = None
    for step in range(current - window, current + window + 1):
        if step <= after_step or step < 0:
            continue
        if constant_time_equals(hotp(key, step, digits, algorithm), code) and matched is None:
            matched = step
    return matched


def random_otp_secret(nbytes: int = 20) -> bytes:
    """A fresh OTP seed: 160 bits by default (RFC 4226's recommended length)."""
    return secrets.token_bytes(nbytes)


# --- Device keys (ECDSA P-256) -------------------------------------------------------------
# The authenticator app signs with WebCrypto, whose ECDSA signatures are IEEE P1363 (r || s,
# 32 bytes each), not the DER that ``cryptography`` verifies: converted here.

P256_POINT_LENGTH = 65  # an uncompressed point: 0x04 || x || y


def p256_public_key(point: bytes) -> ec.EllipticCurvePublicKey:
    """The public key for an uncompressed P-256 point; ValueError if it is not one."""
    if len(point) != P256_POINT_LENGTH or point[0] != 4:
        raise ValueError("not an uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)


def p256_verify(point: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (P1363 r || s) is the key's ECDSA-SHA256 signature of ``message``."""
    if len(signature) != 64:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    try:
        p256_public_key(point).verify(
            encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, ValueError):
        return False
    return True
