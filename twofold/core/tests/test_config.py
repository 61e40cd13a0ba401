import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from twofold.config import ConfigurationError, load


def test_with_nothing_set_twofold_runs_on_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'twofold.sqlite3'}"
    assert config.redis_url is None
    assert not config.debug
    assert not config.https


def test_passwords_are_hashed_with_argon2id_at_owasps_recommended_cost_by_default(
    tmp_path: Path,
) -> None:
    """Time 2, 19 MiB, one lane (OWASP's password storage cheat sheet); the test suite
    itself hashes at the lowest accepted cost (conftest.TEST_ARGON2), so this pins the
    default that installations get."""
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path)})
    assert (config.argon2_time_cost, config.argon2_memory_kib, config.argon2_parallelism) == (
        2,
        19456,
        1,
    )


def test_the_secret_key_is_generated_once_into_the_data_folder(tmp_path: Path) -> None:
    first = load({"TWOFOLD_DATA_DIR": str(tmp_path)})
    second = load({"TWOFOLD_DATA_DIR": str(tmp_path)})
    assert len(first.secret_key) >= 50
    assert first.secret_key == second.secret_key
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_a_generated_encryption_key_is_a_valid_fernet_key_kept_private(tmp_path: Path) -> None:
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path)})
    Fernet(config.encryption_keys[0])
    assert (tmp_path / "encryption.keys").stat().st_mode & 0o777 == 0o600


def test_several_encryption_keys_are_read_in_order_for_rotation(tmp_path: Path) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_ENCRYPTION_KEYS": f"{new}, {old}"})
    assert config.encryption_keys == (new, old)
    assert not (tmp_path / "encryption.keys").exists()


def test_a_malformed_encryption_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TWOFOLD_ENCRYPTION_KEYS"):
        load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_ENCRYPTION_KEYS": "not-a-key"})


def test_an_https_base_url_turns_on_secure_cookies(tmp_path: Path) -> None:
    config = load(
        {"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_BASE_URL": "https://mfa.contoso.example/"}
    )
    assert config.https
    assert config.base_url == "https://mfa.contoso.example"
    assert "mfa.contoso.example" in config.allowed_hosts


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TWOFOLD_DEBUG", "maybe"),
        ("TWOFOLD_BASE_URL", "ftp://example"),
        ("TWOFOLD_TRUSTED_PROXIES", "many"),
        ("TWOFOLD_ARGON2_MEMORY_KIB", "1"),
        ("TWOFOLD_FAILURES_PER_API_CLIENT", "0"),
    ],
)
def test_a_bad_value_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        load({"TWOFOLD_DATA_DIR": str(tmp_path), name: value})


def test_each_api_client_may_fail_6000_times_a_window_unless_set(tmp_path: Path) -> None:
    assert load({"TWOFOLD_DATA_DIR": str(tmp_path)}).failures_per_api_client == 6000
    busier = load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_FAILURES_PER_API_CLIENT": "20000"})
    assert busier.failures_per_api_client == 20000


def test_allowed_hosts_come_from_the_variable_when_set(tmp_path: Path) -> None:
    config = load(
        {"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_ALLOWED_HOSTS": "a.example, b.example"}
    )
    assert config.allowed_hosts == ("a.example", "b.example")


def test_without_a_log_file_log_lines_go_to_standard_output(tmp_path: Path) -> None:
    assert load({"TWOFOLD_DATA_DIR": str(tmp_path)}).log_file is None


def test_a_relative_log_file_is_in_the_data_folder(tmp_path: Path) -> None:
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_LOG_FILE": "twofold.log"})
    assert config.log_file == tmp_path / "twofold.log"


def test_an_absolute_log_file_is_taken_as_it_is_and_its_folder_made(tmp_path: Path) -> None:
    wanted = tmp_path / "logs" / "twofold.log"
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path / "data"), "TWOFOLD_LOG_FILE": str(wanted)})
    assert (config.log_file, wanted.parent.is_dir()) == (wanted, True)


def test_a_log_file_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TWOFOLD_LOG_FILE"):
        load({"TWOFOLD_DATA_DIR": str(tmp_path), "TWOFOLD_LOG_FILE": str(tmp_path)})


def test_no_module_but_config_reads_the_environment() -> None:
    package = Path(__file__).resolve().parents[2]
    readers = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if "tests" not in path.parts and "os.environ" in path.read_text()
    ]
    # wsgi.py and cli.py name Django's settings module, as every Django project does; cli.py
    # also gives the demo its default log file. Neither reads a setting.
    assert sorted(readers) == ["cli.py", "config.py", "wsgi.py"]


def test_no_generated_key_is_committed() -> None:
    """Keys generated into a data folder belong to one installation, never to the source."""
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")  # an installed package has nothing committed
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    generated = {"secret.key", "encryption.keys", "oidc-signing-key.pem"}
    assert [path for path in tracked if Path(path).name in generated] == []


@pytest.mark.parametrize(
    ("environment", "allowed"),
    [
        ({}, False),
        ({"TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES": "1"}, True),
        ({"TWOFOLD_WEBHOOKS_TO_PRIVATE_ADDRESSES": "1"}, True),  # its earlier name
        ({"TWOFOLD_SIEM_TO_PRIVATE_ADDRESSES": "0"}, False),
    ],
)
def test_private_siem_addresses_are_allowed_by_either_name(tmp_path, environment, allowed):
    config = load({"TWOFOLD_DATA_DIR": str(tmp_path), **environment})
    assert config.siem_to_private_addresses is allowed
