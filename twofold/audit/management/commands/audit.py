from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from twofold.audit import chain
from twofold.organisations.models import Organisation


class Command(BaseCommand):
    help = "Verify the audit log's hash chains: `audit verify [--org SLUG]`."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        verify = commands.add_parser("verify", help="check every event's digest and link")
        verify.add_argument("--org", default="", help="only this organisation (its slug)")

    def handle(self, *args: object, org: str = "", **options: object) -> None:
        if org:
            organisation = Organisation.objects.filter(slug=org).first()
            if organisation is None:
                raise CommandError(f"No organisation {org!r}.")
            keys = [organisation.pk]
        else:
            keys = list(chain.chains())
        names = dict(Organisation.objects.values_list("pk", "slug"))
        broken = 0
        for key in keys:
            verdict = chain.verify(key)
            chain.record_verdict(verdict)
            name = names.get(key, "installation" if key == chain.INSTALLATION else f"#{key}")
            if verdict.ok:
                self.stdout.write(f"{name}: {verdict.events} events, chain intact")
                continue
            broken += 1
            where = f"event {verdict.broken_at}" if verdict.broken_at else "the end"
            self.stdout.write(f"{name}: BROKEN at {where}: {verdict.reason}")
        if broken:
            raise CommandError(f"{broken} chain(s) broken.")
