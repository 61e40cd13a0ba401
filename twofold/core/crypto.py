"""twofold's security primitives, kept in one small module to be reviewed in one sitting.

Random tokens and codes, one-way digests of tokens, constant-time comparison, and
encryption of secrets at rest with key rotation. No other module imports ``secrets``,
``hmac`` or ``random``. HOTP/TOTP arrive here as a thin seam over ``django_otp.oath``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# Letters only, without the ones people confuse when copying (I, L, O) — for app passwords.
_LETTERS = "".join(ch for ch in string.ascii_lowercase if ch not in "ilo")


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def random_token(nbytes: int = 32) -> str:
    """A URL-safe random token with ``nbytes`` bytes of entropy (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def random_digits(length: int = 6) -> str:
    """A uniformly random numeric code; leading zeros are kept."""
    return "".join(secrets.choice(string.digits) for _ in range(length))


def random_letters(length: int) -> str:
    return "".join(secrets.choice(_LETTERS) for _ in range(length))


def digest(value: str) -> str:
    """SHA-256 of a high-entropy token, for storing tokens we only ever look up.

    Only for random tokens: anything a person chose goes through the password hasher.
    """
    return hashlib.sha256(value.encode()).hexdigest()


def keyed_digest(value: str, purpose: str) -> str:
    """HMAC-SHA256 keyed by the secret key, for low-entropy values we must look up (cache keys)."""
    key = hashlib.sha256(f"twofold:{purpose}:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


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


def reencrypt(ciphertext: str) -> str:
    """Re-encrypt under the newest key, for rotating keys over stored secrets."""
    try:
        return _keys().rotate(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise DecryptionError("no configured encryption key opens this secret") from None
