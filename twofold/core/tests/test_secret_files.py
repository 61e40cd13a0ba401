"""Every secret setting may come from a file named by NAME_FILE (container secrets,
systemd credentials); errors name the variable and the file, never what it holds."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from twofold.config import SECRET_VARIABLES, ConfigurationError, load

# One value that each secret variable accepts, so load() can be run with it from a file.
_VALID = {
    "TWOFOLD_SECRET_KEY": "s" * 50,
    "TWOFOLD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgres://twofold@127.0.0.1:5432/twofold",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "TWOFOLD_TWILIO_AUTH_TOKEN": "twilio-token-from-a-file",
    "TWOFOLD_METRICS_TOKEN": "metrics-token-from-a-file",
    "TWOFOLD_WEBHOOK_SECRET": "webhook-secret-from-a-file",
}
_FIELD = {
    "TWOFOLD_SECRET_KEY": "secret_key",
    "DATABASE_URL": "database_url",
    "REDIS_URL": "redis_url",
    "TWOFOLD_TWILIO_AUTH_TOKEN": "twilio_auth_token",
    "TWOFOLD_WEBHOOK_SECRET": "webhook_secret",
}


def _secret(tmp_path: Path, content: str, name: str = "secret") -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


@pytest.mark.parametrize("name", sorted(_FIELD))
def test_a_secret_is_read_from_the_file_its_file_variable_names(tmp_path: Path, name: str) -> None:
    path = _secret(tmp_path, _VALID[name] + "\n")
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path), f"{name}_FILE": str(path)})
    assert getattr(config, _FIELD[name]) == _VALID[name]


def test_encryption_keys_are_read_from_a_file_without_the_trailing_newline(
    tmp_path: Path,
) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    path = _secret(tmp_path, f"{new},{old}\r\n")
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_ENCRYPTION_KEYS_FILE": str(path)})
    assert config.encryption_keys == (new, old)
    assert not (tmp_path / "encryption.keys").exists()


def test_oidc_signing_keys_are_read_from_a_file(tmp_path: Path) -> None:
    pem = load({"TWOFOLD_DATA_DIR": str(tmp_path / "a")}).oidc_keys[0]
    path = _secret(tmp_path, pem + "\n")
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path / "b"), "TWOFOLD_OIDC_KEYS_FILE": str(path)})
    assert config.oidc_keys == (pem,)


def test_every_secret_setting_is_declared_for_files() -> None:
    """The metrics token (added beside this) and the secrets above all take NAME_FILE."""
    assert set(_VALID) | {"TWOFOLD_OIDC_KEYS"} <= set(SECRET_VARIABLES)


@pytest.mark.parametrize("name", SECRET_VARIABLES)
def test_setting_a_secret_and_its_file_both_is_refused(tmp_path: Path, name: str) -> None:
    path = _secret(tmp_path, "from-the-file\n")
    env = {"TWOFOLD_DATA_DIR": str(tmp_path), name: "direct", f"{name}_FILE": str(path)}
    with pytest.raises(ConfigurationError, match=f"{name} or {name}_FILE, not both"):
        load(env)


@pytest.mark.parametrize("content", ["", "\n", "  \n"])
def test_an_empty_secret_file_is_refused_naming_the_variable(tmp_path: Path, content: str) -> None:
    path = _secret(tmp_path, content)
    with pytest.raises(ConfigurationError, match=r"TWOFOLD_SECRET_KEY_FILE: .* is empty"):
        load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_SECRET_KEY_FILE": str(path)})


@pytest.mark.parametrize("where", ["missing", "folder", "nothing"])
def test_an_unreadable_secret_file_is_refused_naming_the_variable(
    tmp_path: Path, where: str
) -> None:
    path = {"missing": str(tmp_path / "absent"), "folder": str(tmp_path), "nothing": ""}[where]
    with pytest.raises(ConfigurationError, match=r"^REDIS_URL_FILE"):
        load({"TWOFOLD_DATA_DIR": str(tmp_path), "REDIS_URL_FILE": path})


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_secret_file_without_read_permission_is_refused(tmp_path: Path) -> None:
    path = _secret(tmp_path, "redis://127.0.0.1:6379/0\n")
    path.chmod(0)
    with pytest.raises(ConfigurationError, match="REDIS_URL_FILE: cannot read"):
        load({"TWOFOLD_DATA_DIR": str(tmp_path), "REDIS_URL_FILE": str(path)})


def test_a_secret_file_that_is_not_text_is_refused_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "binary"
    path.write_bytes(b"\xff\xfehunter2")
    with pytest.raises(ConfigurationError) as refused:
        load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_SECRET_KEY_FILE": str(path)})
    assert "TWOFOLD_SECRET_KEY_FILE" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_a_variable_not_declared_secret_ignores_a_file_variable(tmp_path: Path) -> None:
    path = _secret(tmp_path, "1\n")
    assert not load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_DEBUG_FILE": str(path)}).debug


def test_the_twofold_command_says_a_configuration_error_plainly_without_the_secret(
    tmp_path: Path,
) -> None:
    path = _secret(tmp_path, "hunter2-the-secret\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TWOFOLD_")
        and key.removesuffix("_FILE") not in {"DATABASE_URL", "REDIS_URL"}
    }
    env |= {
        "TWOFOLD_DATA_DIR": str(tmp_path),
        "TWOFOLD_SECRET_KEY": "hunter2-the-other",
        "TWOFOLD_SECRET_KEY_FILE": str(path),
    }
    done = subprocess.run(
        [sys.executable, "-c", "from twofold.cli import main; main(['migrate'])"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "twofold: configuration error: set TWOFOLD_SECRET_KEY or TWOFOLD_SECRET_KEY_FILE, not both"
    )
    assert "hunter2" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "url",
    [
        "mysqlx://twofold:hunter2@db/twofold",
        "hunter2@db/twofold",
        "postgres://twofold:hunter2@db:port/twofold",
        "mysql://twofold:hunter2@db/twofold",
    ],
)
def test_a_database_url_twofold_cannot_use_is_refused_without_repeating_it(
    tmp_path: Path, url: str
) -> None:
    path = _secret(tmp_path, url + "\n")
    with pytest.raises(ConfigurationError, match=r"^DATABASE_URL must be") as refused:
        load({"TWOFOLD_DATA_DIR": str(tmp_path), "DATABASE_URL_FILE": str(path)})
    assert "hunter2" not in str(refused.value)


def test_a_redis_url_twofold_cannot_use_is_refused_without_repeating_it(tmp_path: Path) -> None:
    path = _secret(tmp_path, "hunter2@cache:6379\n")
    with pytest.raises(ConfigurationError, match=r"^REDIS_URL must be") as refused:
        load({"TWOFOLD_DATA_DIR": str(tmp_path), "REDIS_URL_FILE": str(path)})
    assert "hunter2" not in str(refused.value)
