from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from twofold.core.errors import InvalidInput
from twofold.organisations.services import create_organisation


class Command(BaseCommand):
    help = "Create an organisation that owns one or more domains."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--domain", action="append", required=True, dest="domains")
        parser.add_argument("--slug", default="")

    def handle(
        self, *args: object, name: str, domains: list[str], slug: str, **options: object
    ) -> None:
        try:
            organisation = create_organisation(name, domains, slug=slug)
        except InvalidInput as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Created organisation {organisation.name} ({organisation.slug}).")
