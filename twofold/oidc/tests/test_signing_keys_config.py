"""TWOFOLD_OIDC_KEYS: PEM private keys from the environment, or one generated once."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from twofold.config import ConfigurationError, _new_oidc_key, load


def pem_of(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_with_nothing_set_one_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = load({"TWOFOLD_DATA_DIR": str(tmp_path)})
    second = load({"TWOFOLD_DATA_DIR": str(tmp_path)})
    assert len(first.oidc_keys) == 1
    assert first.oidc_keys == second.oidc_keys
    assert (tmp_path / "oidc-signing-key.pem").stat().st_mode & 0o777 == 0o600


def test_several_keys_are_read_in_order_the_first_signs(tmp_path: Path) -> None:
    new, old = _new_oidc_key(), _new_oidc_key()
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_OIDC_KEYS": f"{new}\n{old}"})
    assert config.oidc_keys == (new.strip(), old.strip())
    assert not (tmp_path / "oidc-signing-key.pem").exists()


def test_keys_on_one_line_with_escaped_newlines_are_accepted(tmp_path: Path) -> None:
    key = _new_oidc_key().strip()
    one_line = key.replace("\n", "\\n")
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_OIDC_KEYS": one_line})
    assert config.oidc_keys == (key,)


@pytest.mark.parametrize(
    "value",
    [
        "not a key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        pem_of(ec.generate_private_key(ec.SECP256R1())),
        pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505
    ],
    ids=["not-pem", "garbled", "not-rsa", "too-short"],
)
def test_a_key_that_cannot_sign_rs256_safely_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigurationError, match="TWOFOLD_OIDC_KEYS"):
        load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_OIDC_KEYS": value})
