"""privacyIDEA 3.14 beside twofold: installed into its own virtualenv under .bench/, on the
same PostgreSQL in its own database, users from its SQL resolver (a table there).

Two configurations, both with privacyIDEA's gunicorn at the same worker count:
``installed`` (what its install guide sets up) and ``tuned`` (its performance FAQ's
switches: no audit signatures, no response signatures, the configuration re-read at most
once a minute, a Redis user cache, no token details on success).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

from bench import proc

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / ".bench" / "privacyidea"
VENV = HOME / "venv"
DATABASE = "privacyidea_bench"
VERSION = "3.14"
PIN_TEXT = "4711"  # the PIN pi_seed.py gives tokens that have one

TUNED = """
PI_AUDIT_NO_SIGN = True
PI_NO_RESPONSE_SIGN = True
PI_CHECK_RELOAD_CONFIG = 60
PI_REDIS_URL = 'redis://127.0.0.1:6379/6'
PI_REDIS_CACHE_USERS = True
"""


def install(log=print) -> None:
    marker = VENV / f".installed-{VERSION}"
    if marker.exists():
        return
    log(f"  installing privacyIDEA {VERSION} into {VENV.relative_to(ROOT)} ...")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, f"privacyidea=={VERSION}", "gunicorn", "psycopg2-binary"], check=True)
    marker.touch()


def _secrets() -> dict[str, str]:
    path = HOME / "secrets.json"
    if not path.exists():
        path.write_text(
            json.dumps({"secret_key": secrets.token_hex(32), "pepper": secrets.token_hex(16)})
        )
    return json.loads(path.read_text())


def config_file(mode: str) -> Path:
    """Write (each run) and return the configuration file of ``mode``."""
    keys = _secrets()
    text = f"""
SUPERUSER_REALM = ['super']
SQLALCHEMY_DATABASE_URI = 'postgresql+psycopg2://postgres@127.0.0.1:5432/{DATABASE}'
SECRET_KEY = '{keys["secret_key"]}'
PI_PEPPER = '{keys["pepper"]}'
PI_ENCFILE = '{HOME / "enckey"}'
PI_AUDIT_KEY_PRIVATE = '{HOME / "private.pem"}'
PI_AUDIT_KEY_PUBLIC = '{HOME / "public.pem"}'
PI_AUDIT_SQL_TRUNCATE = True
PI_LOGLEVEL = 30
PI_LOGFILE = '{HOME / "privacyidea.log"}'
"""
    if mode == "tuned":
        text += TUNED
    path = HOME / f"pi-{mode}.cfg"
    path.write_text(text)
    return path


def _manage(*args: str) -> None:
    env = {"PRIVACYIDEA_CONFIGFILE": str(config_file("installed")), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(VENV / "bin" / "pi-manage"), *args], check=True, env=env, cwd=HOME)


def initialise(users: int, log=print) -> None:
    """Database, keys, tables (once) and the resolver's user table (grown to ``users``)."""
    proc.create_database(DATABASE)
    if not (HOME / "enckey").exists():
        _manage("setup", "create_enckey")
    if not (HOME / "private.pem").exists():
        _manage("setup", "create_audit_keys")
    if not (HOME / ".tables").exists():
        _manage("setup", "create_tables")
        (HOME / ".tables").touch()
    proc.psql(
        DATABASE,
        "CREATE TABLE IF NOT EXISTS benchusers (id integer PRIMARY KEY, username text UNIQUE, "
        "password text, email text, givenname text, surname text, mobile text)",
    )
    have = int(proc.psql(DATABASE, "SELECT count(*) FROM benchusers"))
    if have < users:
        proc.psql(
            DATABASE,
            # ids from 1: its SQL resolver takes a user id of 0 for none.
            "INSERT INTO benchusers SELECT i + 1, 'u' || lpad(i::text, 7, '0'), '', "
            f"'u' || i || '@bench.example', 'User', i::text, '' "
            f"FROM generate_series({have}, {users - 1}) AS i; ANALYZE benchusers",
        )
        log(f"  privacyIDEA: resolver table grown to {users:,} users")


def _python(*args: str) -> str:
    command = [str(VENV / "bin" / "python"), str(ROOT / "bench" / "pi_seed.py"), *args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=HOME)
    if done.returncode:
        raise SystemExit(f"{' '.join(args[1:2])} in privacyIDEA failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def seed_tokens(specs: list[dict]) -> str:
    """One TOTP token per user of each range: {"start", "stop", "pin": "" | default | equal}."""
    return _python(str(config_file("installed")), "seed", json.dumps(specs))


def start(mode: str, port: int, workers: int) -> proc.Server:
    _python(str(config_file(mode)), "policies", "on" if mode == "tuned" else "off")
    wsgi = HOME / f"wsgi_{mode}.py"
    config = str(config_file(mode))
    wsgi.write_text(
        "from privacyidea.app import create_app\n"
        f"application = create_app(config_name='production', config_file={config!r}, silent=True)\n"
    )
    command = [
        str(VENV / "bin" / "gunicorn"),
        f"wsgi_{mode}:application",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(HOME),
        "--timeout",
        "120",
    ]
    return proc.Server.start(f"privacyIDEA ({mode})", command, port, env={}, cwd=HOME)
