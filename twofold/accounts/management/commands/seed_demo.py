from django.core.management.base import BaseCommand

from twofold import demo


class Command(BaseCommand):
    help = 'Create the demo organisation "Contoso" and its users (idempotent).'

    def handle(self, *args: object, **options: object) -> None:
        credentials = demo.seed()
        self.stdout.write('Demo organisation "Contoso" (contoso.example). Sign in with:')
        for username, password in credentials.items():
            self.stdout.write(f"  {username:<28} {password}")
