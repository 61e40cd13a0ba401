"""The ``twofold`` command: serve, radius, migrate, createorg, createuser, seed-demo,
notices, clear-sessions, audit, forward, rotate-keys, directory, demo, manage."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from urllib.parse import urlsplit

USAGE = """usage: twofold COMMAND [options]

commands:
  serve       serve with gunicorn            [--host 127.0.0.1] [--port 8000] [--workers N]
  radius      answer RADIUS (VPNs, Wi-Fi)   [--host 127.0.0.1] [--port 1812] [--workers N]
  demo        migrate, seed the demo organisation, serve, and answer RADIUS on
              --radius-port (default 1812; what `make run` does)
  migrate     create or update the database tables
  createorg   create an organisation         NAME --domain DOMAIN [--domain ...]
  createuser  create a user                  USERNAME [--admin] [--password-stdin]
  users       import users from a CSV file   import FILE.csv [--org SLUG] [--links OUT.csv]
  seed-demo   create the demo organisation "Contoso" and its users (idempotent)
  audit       verify the audit log's hash chains  verify [--org SLUG]
  notices     send the queued texts that tell users an administrator reset their methods
  clear-sessions  delete the sessions past their expiry (for a timer or cron)
  forward     send audit events to the configured SIEMs (syslog, webhooks)     [--once]
  rotate-keys re-encrypt every stored secret under the first encryption key [--batch-size N]
  directory   an organisation's LDAP or Active Directory   configure|test|sync --org SLUG ...
  sync-directories  sync every organisation's directory (for a timer or cron)
  manage      any Django management command  (twofold manage help)
"""

# Commands that are Django management commands under another spelling.
_MANAGEMENT = {
    "migrate": "migrate",
    "createorg": "createorg",
    "createuser": "createuser",
    "users": "users",
    "seed-demo": "seed_demo",
    "notices": "send_reset_notices",
    "clear-sessions": "clearsessions",  # Django's, for either session store
    "forward": "forward",
    "rotate-keys": "rotate_keys",
    "audit": "audit",
    "serve": "serve",
    "radius": "radius",
    "directory": "directory",
    "sync-directories": "sync_directories",
}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twofold.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return
    command, rest = args[0], args[1:]
    from twofold.configerrors import ConfigurationError

    try:
        _run(command, rest)
    except ConfigurationError as error:
        # Said in one line, without a traceback: the message names the variable at fault.
        print(f"twofold: configuration error: {error}", file=sys.stderr)
        sys.exit(2)


def _run(command: str, rest: list[str]) -> None:
    from django.core.management import execute_from_command_line

    if command == "manage":
        execute_from_command_line(["twofold", *rest])
    elif command == "demo":
        _demo(rest)
    elif command in _MANAGEMENT:
        execute_from_command_line(["twofold", _MANAGEMENT[command], *rest])
    else:
        print(f"twofold: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        sys.exit(2)


def _demo(rest: list[str]) -> None:
    """Migrate, seed, print the credentials and where to go, then serve. The request log
    goes to a file in the data folder (unless TWOFOLD_LOG_FILE says otherwise), so that
    what was printed stays on screen."""
    os.environ.setdefault("TWOFOLD_LOG_FILE", "twofold.log")  # relative to the data folder
    from django.conf import settings
    from django.core.management import call_command, execute_from_command_line

    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--host", default="127.0.0.1")
    where.add_argument("--port", type=int, default=8000)
    where.add_argument("--radius-port", type=int, default=1812)
    known, _ = where.parse_known_args(rest)
    host = f"[{known.host}]" if ":" in known.host else known.host
    rest = _without_option(rest, "--radius-port")

    execute_from_command_line(["twofold", "migrate", "--no-input", "--verbosity", "0"])
    from twofold import demo  # its models need the apps that migrate has just set up

    call_command("seed_demo")
    # The base URL where it names this port (make run's http://localhost:8000: passkeys
    # need a host name, browsers refuse an IP address as their relying party ID).
    address = settings.TWOFOLD_BASE_URL
    if urlsplit(address).port != known.port:
        address = f"http://{host}:{known.port}"
    # The RADIUS front is a process of its own, as in production; it outlives the exec
    # into gunicorn below and stops with it on Ctrl+C (the terminal signals both).
    radius = f"{host}:{known.radius_port}"
    subprocess.Popen(  # noqa: S603 - this interpreter, twofold's own command
        [sys.executable, "-m", "twofold.cli", "radius", "--host", known.host,
         "--port", str(known.radius_port), "--with-parent", str(os.getpid())],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    print(
        demo.where_to_go(
            address,
            outbox=settings.TWOFOLD["dev_outbox"],
            log_file=settings.TWOFOLD["log_file"],
            radius=radius,
        ),
        flush=True,
    )
    execute_from_command_line(["twofold", "serve", *rest])


def _without_option(args: list[str], name: str) -> list[str]:
    """``args`` without ``name VALUE`` or ``name=VALUE`` (an option serve does not take)."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(f"{name}="):
            kept.append(arg)
    return kept


if __name__ == "__main__":
    main()
