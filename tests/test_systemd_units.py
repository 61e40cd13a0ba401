"""The systemd units in deploy/systemd/ are checked by systemd's own tools, as shipped.

``systemd-analyze verify`` loads each unit as systemd would (every directive, specifier
and ExecStart binary; warnings included), on a copy whose ExecStart points at this
checkout's ``twofold`` (the shipped /opt/twofold path does not exist here). The machine
needs no running systemd for it. ``systemd-analyze security --offline`` scores the
hardening from the files alone. Then the units' own command lines and environment are
run against twofold, so the secrets they hand over really are read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from twofold.cli import _MANAGEMENT
from twofold.config import SECRET_VARIABLES

pytestmark = pytest.mark.own_servers  # the suite's database plays no part: once

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "deploy" / "systemd"
SHIPPED_BINARY = "/opt/twofold/.venv/bin/twofold"
TWOFOLD = Path(sys.executable).parent / "twofold"
SERVICES = (
    "twofold.service",
    "twofold@.service",
    "twofold-forward.service",
    "twofold-radius.service",
)
# What systemd loads: the web service, the timer, and the command template's instances the
# timer and README use.
LOADED = (
    "twofold.service",
    "twofold-forward.service",
    "twofold-radius.service",
    "twofold-notices.timer",
    "twofold@notices.service",
    "twofold-sync-directories.timer",
    "twofold@sync-directories.service",
    "twofold-clear-sessions.timer",
    "twofold@clear-sessions.service",
    "twofold@migrate.service",
    "twofold@rotate-keys.service",
)
HARDENING = {
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "CapabilityBoundingSet=",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter=@system-service",
    "ReadWritePaths=/var/lib/twofold",
    "User=twofold",
}


def analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is missing: `make test` installs Debian's systemd package")
    return found


def directives(name: str) -> list[str]:
    lines = (UNITS / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and line[0] not in "#;["]


def runnable_copy(tmp_path: Path) -> Path:
    """The units with ExecStart pointing at this checkout's twofold command."""
    copy = tmp_path / "units"
    copy.mkdir()
    for unit in UNITS.iterdir():
        (copy / unit.name).write_text(unit.read_text().replace(SHIPPED_BINARY, str(TWOFOLD)))
    return copy


def verify(folder: Path, *names: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [analyze(), "verify", "--man=no", *(f"./{name}" for name in names)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_units_pass_systemd_analyze_verify_without_a_warning(tmp_path: Path) -> None:
    done = verify(runnable_copy(tmp_path), *LOADED)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "")


def test_verify_as_run_here_catches_a_mistake(tmp_path: Path) -> None:
    """The check above is not vacuous: a misspelt directive is reported."""
    folder = runnable_copy(tmp_path)
    unit = folder / "twofold.service"
    unit.write_text(unit.read_text().replace("ProtectHome=yes", "ProtectHomes=yes"))
    assert "Unknown key 'ProtectHomes'" in verify(folder, "twofold.service").stderr


def test_verify_as_run_here_catches_a_command_that_does_not_exist(tmp_path: Path) -> None:
    folder = runnable_copy(tmp_path)
    unit = folder / "twofold.service"
    unit.write_text(unit.read_text().replace(str(TWOFOLD), "/nonexistent/twofold"))
    assert verify(folder, "twofold.service").returncode != 0


@pytest.mark.parametrize(
    "name",
    [
        "twofold.service",
        "twofold@notices.service",
        "twofold-forward.service",
        "twofold-radius.service",
    ],
)
def test_systemd_rates_each_service_well_hardened(tmp_path: Path, name: str) -> None:
    """An overall exposure of at most 2.0 on systemd's 0-10 scale (20 of 100 for --threshold)."""
    done = subprocess.run(
        [analyze(), "security", "--offline=true", "--threshold=20", f"./{name}"],
        cwd=runnable_copy(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-400:]


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_carries_the_required_hardening(name: str) -> None:
    assert set(directives(name)) >= HARDENING


@pytest.mark.parametrize(
    ("timer", "command"),
    [
        ("twofold-notices.timer", "notices"),
        ("twofold-sync-directories.timer", "sync-directories"),
        ("twofold-clear-sessions.timer", "clear-sessions"),
    ],
)
def test_each_timer_starts_a_shipped_unit_running_a_twofold_command(timer, command) -> None:
    (target,) = [line.split("=", 1)[1] for line in directives(timer) if line.startswith("Unit=")]
    assert target == f"twofold@{command}.service"
    assert command in _MANAGEMENT


def test_the_web_service_runs_twofold_serve() -> None:
    (start,) = [line for line in directives("twofold.service") if line.startswith("ExecStart=")]
    assert start.startswith(f"ExecStart={SHIPPED_BINARY} serve ")


@pytest.mark.parametrize("name", SERVICES)
def test_every_credential_is_handed_to_a_secret_twofold_reads_from_a_file(name: str) -> None:
    lines = directives(name)
    loaded = {
        line.split("=", 1)[1].split(":", 1)[0]
        for line in lines
        if line.startswith("LoadCredential=")
    }
    handed = dict(re.findall(r"^Environment=(\w+)_FILE=%d/([\w-]+)$", "\n".join(lines), re.M))
    assert set(handed) <= set(SECRET_VARIABLES)
    assert set(handed.values()) == loaded
    assert {"TWOFOLD_SECRET_KEY", "TWOFOLD_ENCRYPTION_KEYS", "DATABASE_URL"} <= set(handed)


def test_the_command_unit_environment_runs_twofold_with_the_credentials(tmp_path: Path) -> None:
    """What systemd would do for twofold@migrate and twofold@notices: the unit's own
    Environment= lines, with %d the credentials folder holding the secrets as files."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    data = tmp_path / "data"
    (credentials / "secret-key").write_text("k" * 50 + "\n")
    (credentials / "encryption-keys").write_text(Fernet.generate_key().decode() + "\n")
    (credentials / "database-url").write_text(f"sqlite:///{tmp_path / 'db.sqlite3'}\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TWOFOLD_")
        and key.removesuffix("_FILE") not in {"DATABASE_URL", "REDIS_URL"}
    }
    for line in directives("twofold@.service"):
        if line.startswith("Environment="):
            key, value = line.removeprefix("Environment=").split("=", 1)
            env[key] = value.replace("%d", str(credentials)).replace("/var/lib/twofold", str(data))
    (start,) = [line for line in directives("twofold@.service") if line.startswith("ExecStart=")]
    for command in ("migrate", "notices"):
        argv = start.removeprefix("ExecStart=").replace("%i", command).split()
        argv[0] = str(TWOFOLD)
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-600:]
    assert done.stdout.strip() == "0 sent, 0 still waiting"
    assert (tmp_path / "db.sqlite3").exists()
