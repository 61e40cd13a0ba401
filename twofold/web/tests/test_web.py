import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


def test_healthz_answers_while_the_process_lives(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_when_the_database_does(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_readyz_says_unavailable_when_the_database_fails(client, monkeypatch) -> None:
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


def test_pages_carry_the_security_headers(client) -> None:
    response = client.get("/signin")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_cookies_are_httponly_and_samesite(client, user) -> None:
    from conftest import STRONG_PASSWORD

    client.post("/signin", {"username": user.username})
    response = client.post("/signin/password", {"password": STRONG_PASSWORD})
    session_cookie = response.cookies["sessionid"]
    assert session_cookie["httponly"]
    assert session_cookie["samesite"] == "Lax"


# What the Content-Security-Policy (script-src 'self'; style-src 'self') would block.
_INLINE = re.compile(
    r"<script\b(?![^>]*\bsrc\s*=)[^>]*>"  # a script element without src, attributes or not
    r"|<style\b"  # a style element
    r"|\sstyle\s*="  # a style attribute
    r"|\son[a-z]+\s*="  # an inline event handler: onclick=, onload=, onsubmit=, ...
    r"|javascript:",  # a javascript: URL
    re.IGNORECASE,
)


def inline_code(text: str) -> list[str]:
    return [match.group(0) for match in _INLINE.finditer(text)]


@pytest.mark.parametrize(
    "planted",
    [
        "<script>alert(1)</script>",
        '<script type="module">import "./x.js";</script>',
        "<SCRIPT nonce=abc>x()</SCRIPT>",
        "<style>p { color: red }</style>",
        '<p style="color: red">',
        "<button onclick='go()'>",
        '<body onload="go()">',
        '<form onsubmit = "return go()">',
        '<a href="javascript:go()">',
    ],
)
def test_the_inline_code_scanner_finds_what_the_policy_forbids(planted: str) -> None:
    assert inline_code(f"<div>{planted}</div>") != []


@pytest.mark.parametrize(
    "allowed",
    [
        '<script type="module" src="/static/twofold/wait.js"></script>',
        '<link rel="stylesheet" href="/static/twofold/site.css">',
        '<button data-onclick-target="x" class="stylish">Once</button>',
    ],
)
def test_the_inline_code_scanner_lets_external_scripts_and_lookalikes_pass(allowed: str) -> None:
    assert inline_code(allowed) == []


def test_no_template_has_an_inline_script_style_or_event_handler() -> None:
    offenders = {}
    for template in (ROOT / "twofold").rglob("templates/**/*.html"):
        found = inline_code(template.read_text())
        if found:
            offenders[str(template.relative_to(ROOT))] = found
    assert offenders == {}


def test_the_branding_stylesheet_sets_the_accent_colour(client, organisation) -> None:
    organisation.accent_colour = "#aa3300"
    organisation.save()
    response = client.get("/branding/contoso.css")
    assert response["Content-Type"].startswith("text/css")
    assert b"--accent: #aa3300" in response.content


def test_migrations_are_all_applied_and_none_is_missing() -> None:
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)


@pytest.mark.own_servers  # a twofold process on its own SQLite file: once
def test_production_settings_pass_djangos_deployment_checks(tmp_path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWOFOLD_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    env.update(
        TWOFOLD_DATA_DIR=str(tmp_path),
        TWOFOLD_BASE_URL="https://mfa.contoso.example",
        DJANGO_SETTINGS_MODULE="twofold.settings",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "twofold.cli",
            "manage",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.own_servers  # a twofold process on its own SQLite file: once
def test_the_development_outbox_fails_the_deployment_checks(tmp_path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TWOFOLD_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    env.update(
        TWOFOLD_DATA_DIR=str(tmp_path),
        TWOFOLD_BASE_URL="https://mfa.contoso.example",
        TWOFOLD_DEV_OUTBOX="1",
        DJANGO_SETTINGS_MODULE="twofold.settings",
    )
    result = subprocess.run(
        [sys.executable, "-m", "twofold.cli", "manage", "check", "--deploy"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode != 0
    assert "twofold.E001" in result.stderr + result.stdout
