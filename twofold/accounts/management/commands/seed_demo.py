from django.core.management.base import BaseCommand

from twofold import demo


class Command(BaseCommand):
    help = (
        'Create the demo organisation "Contoso", its users, an API client, an '
        "application for examples/ and a RADIUS client (idempotent)."
    )

    def handle(self, *args: object, **options: object) -> None:
        demo.seed()
        saved = demo.load()
        self.stdout.write('Demo organisation "Contoso" (contoso.example). Sign in with:')
        for username, password in saved["users"].items():
            self.stdout.write(f"  {username:<28} {password}")
        client, application = saved["api_client"], saved["application"]
        radius = saved["radius_client"]
        self.stdout.write(
            f"API client {client['name']!r} (scope validate), for examples/vpn_check.sh:\n"
            f"  token  {client['token']}\n"
            f"OpenID Connect application {application['name']!r}, for examples/oidc_app.py "
            f"at {application['redirect_uri'].removesuffix('/callback')}:\n"
            f"  client ID      {application['client_id']}\n"
            f"  client secret  {application['client_secret']}\n"
            f"RADIUS client {radius['name']!r} for a VPN at {radius['network']} "
            f"(twofold radius, RADIUS_PORT):\n"
            f"  shared secret  {radius['secret']}\n"
            f"All of these are kept in {demo.credentials_file()} (the database keeps hashes, "
            "and the RADIUS secret encrypted)."
        )
