"""``twofold forward``: send audit events to the configured SIEMs (syslog, webhooks)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from twofold.audit import forwarding
from twofold.audit.models import ForwardDestination


class Command(BaseCommand):
    help = (
        "Send audit events to the installation's and the organisations' SIEMs, at least once "
        "and in order; runs until stopped, or one pass with --once (from a timer)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between passes")

    def handle(self, *args: object, **options: object) -> None:
        if not options["once"]:
            forwarding.run_forever(interval=float(options["interval"]))
            return
        while forwarding.forward_due():
            pass
        failing = ForwardDestination.objects.exclude(failures=0).count()
        self.stdout.write(f"done, {failing} destinations failing")
