import re

import pytest
from cryptography.fernet import Fernet

from twofold.core import crypto


def test_random_tokens_carry_256_bits_by_default() -> None:
    token = crypto.random_token()
    assert len(token) >= 43  # 32 bytes in url-safe base64
    assert token != crypto.random_token()


def test_random_digit_codes_have_the_asked_length_and_only_digits() -> None:
    codes = {crypto.random_digits(6) for _ in range(200)}
    assert all(re.fullmatch(r"\d{6}", code) for code in codes)
    assert len(codes) > 190


def test_constant_time_equals_compares_text_and_bytes() -> None:
    assert crypto.constant_time_equals("123456", "123456")
    assert crypto.constant_time_equals(b"abc", "abc")
    assert not crypto.constant_time_equals("123456", "123457")
    assert not crypto.constant_time_equals("123456", "1234567")


def test_a_secret_survives_encryption_and_is_not_stored_in_clear() -> None:
    ciphertext = crypto.encrypt(b"12345678901234567890")
    assert b"12345678901234567890" not in ciphertext.encode()
    assert crypto.decrypt(ciphertext) == b"12345678901234567890"


def test_a_secret_encrypted_with_an_old_key_stays_readable_after_rotation(settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (old,)}
    ciphertext = crypto.encrypt(b"seed")
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (new, old)}
    assert crypto.decrypt(ciphertext) == b"seed"
    rotated = crypto.reencrypt(ciphertext)
    settings.TWOFOLD = {**settings.TWOFOLD, "encryption_keys": (new,)}
    assert crypto.decrypt(rotated) == b"seed"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(ciphertext)


def test_keyed_digests_differ_by_purpose() -> None:
    assert crypto.keyed_digest("alice", "a") != crypto.keyed_digest("alice", "b")
    assert crypto.keyed_digest("alice", "a") == crypto.keyed_digest("alice", "a")


def test_only_core_crypto_imports_the_randomness_and_hmac_modules() -> None:
    from pathlib import Path

    package = Path(crypto.__file__).resolve().parents[1]
    pattern = re.compile(r"^\s*(import|from)\s+(secrets|hmac|random)\b", re.MULTILINE)
    offenders = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if "tests" not in path.parts and pattern.search(path.read_text())
    ]
    assert offenders == ["core/crypto.py"]


def test_the_radius_message_authenticator_is_hmac_md5() -> None:
    """RFC 2104's first HMAC-MD5 test vector (RFC 3579 3.2 names HMAC-MD5)."""
    mac = crypto.message_authenticator(bytes([0x0B] * 16), b"Hi There")
    assert mac.hex() == "9294727a3638bb1c13f48ef8158bfc9d"
