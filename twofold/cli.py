"""The ``twofold`` command: serve, migrate, createorg, createuser, seed-demo, notices, demo,
manage."""

from __future__ import annotations

import os
import sys

USAGE = """usage: twofold COMMAND [options]

commands:
  serve       serve with gunicorn            [--host 127.0.0.1] [--port 8000] [--workers N]
  demo        migrate, seed the demo organisation and serve (what `make run` does)
  migrate     create or update the database tables
  createorg   create an organisation         NAME --domain DOMAIN [--domain ...]
  createuser  create a user                  USERNAME [--admin] [--password-stdin]
  users       import users from a CSV file   import FILE.csv [--org SLUG] [--links OUT.csv]
  seed-demo   create the demo organisation "Contoso" and its users (idempotent)
  notices     send the queued texts that tell users an administrator reset their methods
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
    "serve": "serve",
}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twofold.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return
    command, rest = args[0], args[1:]

    from django.core.management import call_command, execute_from_command_line

    if command == "manage":
        execute_from_command_line(["twofold", *rest])
    elif command == "demo":
        execute_from_command_line(["twofold", "migrate", "--no-input", "--verbosity", "0"])
        call_command("seed_demo")
        execute_from_command_line(["twofold", "serve", *rest])
    elif command in _MANAGEMENT:
        execute_from_command_line(["twofold", _MANAGEMENT[command], *rest])
    else:
        print(f"twofold: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
