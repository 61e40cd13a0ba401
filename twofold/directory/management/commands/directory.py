"""``twofold directory configure|test|sync``: an organisation's LDAP or Active Directory
directory from the command line (docs/directory.md). ``sync`` is what cron runs."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from twofold.core.errors import TwofoldError
from twofold.directory import services, sync
from twofold.directory.models import Directory, Effect
from twofold.organisations.models import Organisation


class Command(BaseCommand):
    help = "Configure, test and synchronise an organisation's directory."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        configure = actions.add_parser("configure", help="set the connection")
        configure.add_argument("--org", required=True)
        configure.add_argument("--url", action="append", required=True, help="again for failover")
        configure.add_argument("--bind-dn", required=True)
        configure.add_argument("--base-dn", required=True)
        configure.add_argument("--preset", choices=["ad", "openldap"], required=True)
        configure.add_argument("--bind-password-stdin", action="store_true")
        configure.add_argument("--start-tls", action="store_true")
        configure.add_argument("--ca-file")
        configure.add_argument("--user-filter", default="")
        for name in ("username", "display-name", "email", "phone", "office-phone"):
            configure.add_argument(f"--attr-{name}", default="")
        configure.add_argument(
            "--group",
            action="append",
            default=[],
            metavar="EFFECT=DN",
            help=f"map a group: EFFECT is one of {', '.join(Effect.values)}",
        )
        test = actions.add_parser("test", help="bind and show the first users found")
        test.add_argument("--org", required=True)
        run = actions.add_parser("sync", help="create, update and block users")
        run.add_argument("--org", required=True)
        run.add_argument("--dry-run", action="store_true")
        run.add_argument("--full", action="store_true", help="read everyone, not only changes")
        run.add_argument("--every", type=int, default=0, help="repeat every N seconds")

    def handle(self, *args: object, **options) -> None:
        organisation = Organisation.objects.filter(slug=options["org"]).first()
        if organisation is None:
            raise CommandError(f"no organisation {options['org']!r}")
        try:
            getattr(self, f"_{options['action']}")(organisation, options)
        except TwofoldError as failed:
            raise CommandError(failed.message) from None

    def _configure(self, organisation: Organisation, options: dict) -> None:
        password = sys.stdin.read().rstrip("\n") if options["bind_password_stdin"] else None
        ca = None
        if options["ca_file"]:
            with open(options["ca_file"], encoding="ascii") as source:
                ca = source.read()
        attributes = {
            "user_filter": options["user_filter"],
            **{
                f"attr_{name}": options[f"attr_{name}"]
                for name in ("username", "display_name", "email", "phone", "office_phone")
            },
        }
        directory = services.configure(
            organisation,
            urls=options["url"],
            bind_dn=options["bind_dn"],
            base_dn=options["base_dn"],
            preset=options["preset"],
            bind_password=password,
            start_tls=options["start_tls"],
            ca_bundle=ca,
            actor_label="command line",
            **attributes,
        )
        for spec in options["group"]:
            effect, _sep, dn = spec.partition("=")
            services.map_group(directory, dn, effect)
        self.stdout.write(f"{organisation.slug}: directory configured ({directory.base_dn})")

    def _test(self, organisation: Organisation, options: dict) -> None:
        url, samples = services.check_connection(_directory(organisation))
        self.stdout.write(f"connected to {url}")
        for sample in samples:
            self.stdout.write(
                f"{sample.dn}\n  user name: {sample.username}\n  display name: "
                f"{sample.display_name}\n  e-mail: {sample.email}\n  phone: {sample.phone}\n"
                f"  office phone: {sample.office_phone}\n  state: {sample.state or 'active'}"
            )

    def _sync(self, organisation: Organisation, options: dict) -> None:
        while True:
            report = sync.synchronise(
                _directory(organisation), dry_run=options["dry_run"], full=options["full"]
            )
            for line in report_lines(organisation.slug, report):
                self.stdout.write(line)
            if not options["every"]:
                return
            time.sleep(options["every"])


def report_lines(slug: str, report: sync.Report) -> list[str]:
    """A sync's report as the commands print it: its counts, then each refusal."""
    counts = ", ".join(f"{name} {count}" for name, count in report.counts().items())
    kind = "incremental" if report.incremental else "full"
    dry = " (dry run: nothing changed)" if report.dry_run else ""
    return [f"{slug}: {kind} sync{dry}: {counts}"] + [
        f"  refused {name}: {reason}" for name, reason in report.refused
    ]


def _directory(organisation: Organisation) -> Directory:
    directory = Directory.objects.filter(organisation=organisation).first()
    if directory is None:
        raise CommandError(f"{organisation.slug} has no directory: twofold directory configure")
    return directory
