from __future__ import annotations

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from twofold.accounts.services import create_user
from twofold.core.errors import InvalidInput
from twofold.organisations.services import find_by_username


class Command(BaseCommand):
    help = "Create a user in the organisation that owns the user name's domain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="e.g. alice@contoso.example")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--admin", action="store_true", help="administrator of the organisation"
        )
        parser.add_argument(
            "--operator",
            action="store_true",
            help="operator of the service: creates and suspends organisations on /operator/ "
            "(an administrator too, two-step verification enforced)",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input (never pass it as an argument)",
        )

    def handle(self, *args: object, **options: object) -> None:
        username = str(options["username"])
        organisation = find_by_username(username)
        if organisation is None:
            raise CommandError("No organisation owns this user name's domain. Create it first.")
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password again: "):
                raise CommandError("The passwords do not match.")
        try:
            user = create_user(
                organisation,
                username,
                password,
                display_name=str(options["display_name"]),
                email=str(options["email"]),
                is_admin=bool(options["admin"]),
                is_operator=bool(options["operator"]),
            )
        except InvalidInput as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Created user {user.username} in {organisation.name}.")
