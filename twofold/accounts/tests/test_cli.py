"""`twofold createorg` and `twofold createuser`, run as the real command on a SQLite file:
what they create, and bad input refused with a clear error, an exit code and nothing made."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password

from conftest import STRONG_PASSWORD

pytestmark = pytest.mark.own_servers  # the suite's database plays no part: once

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A data folder with a migrated database and the organisation Contoso (built once)."""
    data = tmp_path_factory.mktemp("twofold-cli")
    run(data, "migrate", "--no-input", "--verbosity", "0", check=True)
    run(data, "createorg", "Contoso", "--domain", "contoso.example", check=True)
    return data


@pytest.fixture
def data(migrated, tmp_path) -> Path:
    """A copy of the migrated data folder for one test."""
    copy = tmp_path / "data"
    shutil.copytree(migrated, copy)
    return copy


def run(data: Path, *args: str, stdin: str = "", check: bool = False):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(TWOFOLD_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "twofold.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=check,
    )


def rows(data: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(data / "twofold.sqlite3") as database:
        return database.execute(sql).fetchall()


def users(data: Path) -> list[tuple]:
    return rows(data, "SELECT username, is_admin, password FROM accounts_user ORDER BY id")


def organisations(data: Path) -> list[str]:
    return [name for (name,) in rows(data, "SELECT name FROM organisations_organisation")]


def assert_refused_clearly(result) -> None:
    assert result.returncode == 1
    assert result.stderr.startswith("CommandError: ")
    assert "Traceback" not in result.stderr


class TestCreateOrg:
    def test_it_creates_an_organisation_with_its_domains(self, data) -> None:
        result = run(
            data, "createorg", "Fabrikam", "--domain", "fabrikam.example", "--domain", "fab.test"
        )
        assert result.returncode == 0
        assert "Created organisation Fabrikam" in result.stdout
        domains = rows(
            data,
            "SELECT d.domain FROM organisations_organisationdomain d "
            "JOIN organisations_organisation o ON o.id = d.organisation_id "
            "WHERE o.name = 'Fabrikam' ORDER BY d.domain",
        )
        assert domains == [("fab.test",), ("fabrikam.example",)]

    def test_without_a_domain_it_shows_the_usage_and_creates_nothing(self, data) -> None:
        result = run(data, "createorg", "Fabrikam")
        assert result.returncode == 2
        assert "--domain" in result.stderr
        assert organisations(data) == ["Contoso"]

    @pytest.mark.parametrize("domain", ["not a domain", "", "contoso.example"])
    def test_a_bad_or_taken_domain_is_a_clear_error_and_creates_nothing(self, data, domain):
        assert_refused_clearly(run(data, "createorg", "Fabrikam", "--domain", domain))
        assert organisations(data) == ["Contoso"]


class TestCreateUser:
    def test_it_creates_a_user_with_the_password_from_stdin_hashed(self, data) -> None:
        result = run(
            data, "createuser", "bob@contoso.example", "--password-stdin", stdin=STRONG_PASSWORD
        )
        assert result.returncode == 0
        assert "Created user bob@contoso.example in Contoso" in result.stdout
        ((username, is_admin, stored),) = users(data)
        assert (username, is_admin) == ("bob@contoso.example", 0)
        assert stored.startswith("argon2$argon2id$")
        assert check_password(STRONG_PASSWORD, stored)
        assert STRONG_PASSWORD not in result.stdout + result.stderr

    def test_admin_makes_the_user_an_administrator(self, data) -> None:
        result = run(
            data,
            "createuser",
            "carol@contoso.example",
            "--admin",
            "--password-stdin",
            stdin=STRONG_PASSWORD + "\n",
        )
        assert result.returncode == 0
        assert [(name, admin) for name, admin, _hash in users(data)] == [
            ("carol@contoso.example", 1)
        ]

    def test_an_administrator_is_created_with_two_step_verification_enforced(self, data) -> None:
        result = run(
            data,
            "createuser",
            "carol@contoso.example",
            "--admin",
            "--password-stdin",
            stdin=STRONG_PASSWORD + "\n",
        )
        assert result.returncode == 0
        assert rows(data, "SELECT mfa_state FROM accounts_user") == [("enforced",)]

    @pytest.mark.parametrize(
        ("username", "password", "says"),
        [
            ("bob@unknown.example", STRONG_PASSWORD, "No organisation owns"),
            ("bob@contoso.example", "short", ""),
            ("bob@contoso.example", "", ""),
            ("password123@contoso.example", "password123", ""),
        ],
    )
    def test_bad_input_is_a_clear_error_and_creates_nothing(
        self, data, username, password, says
    ) -> None:
        result = run(data, "createuser", username, "--password-stdin", stdin=password)
        assert_refused_clearly(result)
        assert says in result.stderr
        assert users(data) == []

    def test_a_user_name_that_exists_is_refused_and_the_first_user_stays(self, data) -> None:
        first = run(
            data, "createuser", "bob@contoso.example", "--password-stdin", stdin=STRONG_PASSWORD
        )
        assert first.returncode == 0
        again = run(
            data,
            "createuser",
            "bob@contoso.example",
            "--admin",
            "--password-stdin",
            stdin="another long passphrase",
        )
        assert_refused_clearly(again)
        assert "already exists" in again.stderr
        ((_name, is_admin, stored),) = users(data)
        assert not is_admin
        assert check_password(STRONG_PASSWORD, stored)
