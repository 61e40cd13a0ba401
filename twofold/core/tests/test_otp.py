"""HOTP/TOTP pinned by the RFC 4226 and RFC 6238 known-answer vectors."""

import base64

import pytest
from django_otp import oath
from hypothesis import given
from hypothesis import strategies as st

from twofold.core import crypto

RFC_KEY = b"12345678901234567890"
RFC_KEYS = {
    "sha1": RFC_KEY,
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC4226 = ["755224", "287082", "359152", "969429", "338314",
           "254676", "287922", "162583", "399871", "520489"]  # fmt: skip
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226)))
def test_hotp_matches_rfc_4226(counter: int, expected: str) -> None:
    assert crypto.hotp(RFC_KEY, counter) == expected


@pytest.mark.parametrize(("now", "sha1", "sha256", "sha512"), RFC6238)
def test_totp_matches_rfc_6238_for_every_algorithm(now, sha1, sha256, sha512) -> None:
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert crypto.totp(RFC_KEYS[algorithm], now, digits=8, algorithm=algorithm) == expected


def test_codes_keep_their_leading_zeros() -> None:
    assert crypto.totp(RFC_KEY, 1111111109, digits=8) == "07081804"


@given(st.binary(min_size=10, max_size=64), st.integers(min_value=0, max_value=2**40))
def test_the_sha256_truncation_agrees_with_django_otp_for_sha1(key: bytes, counter: int) -> None:
    # The hand-written truncation path, forced onto SHA-1, must equal django_otp's HOTP.
    import hashlib
    import hmac
    import struct

    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    ours = (int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % 10**6
    assert ours == oath.hotp(key, counter)


def test_the_current_step_and_one_either_side_are_accepted() -> None:
    now = 1_700_000_000
    step = crypto.totp_step(now)
    for offset in (-1, 0, 1):
        code = crypto.hotp(RFC_KEY, step + offset)
        assert crypto.totp_match(RFC_KEY, code, now=now) == step + offset


def test_two_steps_away_is_refused() -> None:
    now = 1_700_000_000
    step = crypto.totp_step(now)
    for offset in (-2, 2):
        assert crypto.totp_match(RFC_KEY, crypto.hotp(RFC_KEY, step + offset), now=now) is None


def test_a_step_at_or_before_the_last_accepted_one_is_refused() -> None:
    now = 1_700_000_000
    step = crypto.totp_step(now)
    code = crypto.hotp(RFC_KEY, step)
    assert crypto.totp_match(RFC_KEY, code, now=now, after_step=step) is None
    older = crypto.hotp(RFC_KEY, step - 1)
    assert crypto.totp_match(RFC_KEY, older, now=now, after_step=step) is None


@given(
    now=st.integers(min_value=100_000, max_value=2**34),
    offset=st.integers(min_value=-1000, max_value=1000),
)
def test_no_code_outside_the_window_is_ever_accepted(now: int, offset: int) -> None:
    step = crypto.totp_step(now)
    code = crypto.hotp(RFC_KEY, step + offset)
    matched = crypto.totp_match(RFC_KEY, code, now=now)
    if matched is not None:
        assert abs(matched - step) <= 1
        assert crypto.hotp(RFC_KEY, matched) == code


@given(now=st.integers(min_value=60, max_value=2**34))
def test_no_code_is_accepted_twice(now: int) -> None:
    code = crypto.totp(RFC_KEY, now)
    first = crypto.totp_match(RFC_KEY, code, now=now)
    assert first is not None
    assert crypto.totp_match(RFC_KEY, code, now=now, after_step=first) is None


def test_a_fresh_secret_has_160_bits_and_base32_encodes_without_padding() -> None:
    secret = crypto.random_otp_secret()
    assert len(secret) == 20
    assert "=" not in base64.b32encode(secret).decode()
    assert secret != crypto.random_otp_secret()
