"""The demo organisation that `make run` seeds: Contoso, one administrator, two users, an
API client (scope validate) for scripts, an OpenID Connect application for the example
web app in examples/ and a RADIUS client for a VPN on this machine (127.0.0.1).

Seeding is idempotent. Passwords and secrets are generated on the first run and kept
(mode 0600) in the data folder, so every later run prints the same credentials. The
database keeps only hashes of the token and the client secret: a lost file or a copy
that no longer matches gets new ones. (The RADIUS client's secret is kept encrypted, as
the server needs it: it is read back.)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction

from twofold.accounts.models import MfaState, User
from twofold.accounts.services import create_user, set_password
from twofold.api import clients
from twofold.api.models import ApiScope
from twofold.core.crypto import random_letters
from twofold.oidc import services as oidc
from twofold.organisations.models import Organisation
from twofold.organisations.services import create_organisation
from twofold.radius import clients as radius_clients

DOMAIN = "contoso.example"
ADMIN = f"admin@{DOMAIN}"
API_CLIENT_NAME = "Demo VPN"
RADIUS_CLIENT_NAME = "Demo VPN (RADIUS)"
APPLICATION_NAME = "Contoso Example App"
#: Where examples/oidc_app.py listens by default (loopback: http is allowed there).
EXAMPLE_APP = "http://127.0.0.1:8001"


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    is_admin: bool
    mfa_state: str


DEMO_USERS = (
    DemoUser(ADMIN, "Adele Admin", True, MfaState.ENFORCED),
    DemoUser(f"alice@{DOMAIN}", "Alice Example", False, MfaState.ENABLED),
    DemoUser(f"bob@{DOMAIN}", "Bob Example", False, MfaState.DISABLED),
)


def credentials_file() -> Path:
    return Path(settings.BASE_DIR) / "demo-credentials.json"


def _new_password() -> str:
    return "-".join(random_letters(4) for _ in range(4))


def load() -> dict:
    """Everything the demo keeps: {"users": {name: password}, "api_client": {...},
    "application": {...}}. A file from before applications were seeded holds users only."""
    try:
        saved = json.loads(credentials_file().read_text())
    except FileNotFoundError:
        return {"users": {}}
    return saved if "users" in saved else {"users": saved}


def _save_credentials(credentials: dict) -> None:
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(credentials, handle, indent=2)


def _seed_users(organisation: Organisation, passwords: dict[str, str]) -> dict[str, str]:
    for demo in DEMO_USERS:
        user = User.objects.filter(username=demo.username).first()
        password = passwords.get(demo.username) or _new_password()
        if user is None:
            create_user(
                organisation,
                demo.username,
                password,
                display_name=demo.display_name,
                is_admin=demo.is_admin,
                mfa_state=demo.mfa_state,
            )
        elif not user.check_password(password):
            set_password(user, password)
        passwords[demo.username] = password
    return passwords


def _seed_api_client(organisation: Organisation, admin: User, saved: dict) -> dict:
    """The API client with scope validate that README's curl lines and vpn_check.sh use."""
    token = saved.get("token", "")
    client = clients.find(token) if token else None
    if client is None or not client.is_active or client.organisation_id != organisation.pk:
        # Its token is lost (only its hash is stored): retire the old client, make another.
        for stale in clients.clients_of(organisation).filter(
            name=API_CLIENT_NAME, revoked_at__isnull=True
        ):
            clients.revoke(stale, actor=admin)
        _client, token = clients.create(
            organisation, API_CLIENT_NAME, [ApiScope.VALIDATE], actor=admin
        )
    return {"name": API_CLIENT_NAME, "scopes": [ApiScope.VALIDATE], "token": token}


def _seed_application(organisation: Organisation, admin: User, saved: dict) -> dict:
    """The confidential OpenID Connect application that examples/oidc_app.py signs in as."""
    application = (
        oidc.applications_of(organisation)
        .filter(name=APPLICATION_NAME, client_type=oidc.CONFIDENTIAL)
        .first()
    )
    secret = saved.get("client_secret", "")
    if application is None:
        application, secret = oidc.register_application(
            organisation,
            admin,
            name=APPLICATION_NAME,
            client_type=oidc.CONFIDENTIAL,
            redirect_uris=[f"{EXAMPLE_APP}/callback"],
            post_logout_redirect_uris=[f"{EXAMPLE_APP}/"],
        )
    elif not (secret and check_password(secret, application.client_secret)):
        secret = oidc.new_client_secret(application, admin)
    return {
        "name": APPLICATION_NAME,
        "client_id": application.client_id,
        "client_secret": secret,
        "redirect_uri": f"{EXAMPLE_APP}/callback",
    }


def _seed_radius_client(organisation: Organisation, admin: User) -> dict:
    """The RADIUS client for a VPN on this machine, which README's radclient lines use."""
    client = radius_clients.clients_of(organisation).filter(name=RADIUS_CLIENT_NAME).first()
    if client is None:
        client, secret = radius_clients.create(
            organisation, RADIUS_CLIENT_NAME, "127.0.0.1", actor=admin
        )
    else:
        secret = radius_clients.secret_of(client).decode()
    return {"name": RADIUS_CLIENT_NAME, "network": client.network, "secret": secret}


@transaction.atomic
def seed() -> dict[str, str]:
    """Create whatever part of the demo is missing; return user name → password."""
    organisation = Organisation.objects.filter(slug="contoso").first()
    if organisation is None:
        organisation = create_organisation(
            "Contoso", [DOMAIN], slug="contoso", allow_app_passwords=True
        )
    saved = load()
    passwords = _seed_users(organisation, dict(saved["users"]))
    admin = User.objects.get(username=ADMIN)
    credentials = {
        "users": passwords,
        "api_client": _seed_api_client(organisation, admin, saved.get("api_client", {})),
        "application": _seed_application(organisation, admin, saved.get("application", {})),
        "radius_client": _seed_radius_client(organisation, admin),
    }
    _save_credentials(credentials)
    return passwords


def where_to_go(
    address: str, *, outbox: bool, log_file: Path | None, radius: str | None = None
) -> str:
    """What `twofold demo` prints after the credentials: the four addresses a newcomer
    opens, and where the request log goes (so that the credentials stay on screen)."""
    if outbox:
        phone = (
            f"  {address}/dev/outbox        the demo's phone: texts arrive here, answer calls here"
        )
    else:
        phone = "  (no phone: TWOFOLD_DEV_OUTBOX=1 shows texts and calls at /dev/outbox)"
    lines = [
        "",
        f"twofold is at {address}/ - where to go:",
        f"  {address}/signin            sign in as one of the users above",
        phone,
        f"  {address}/authenticator/    the twofold Authenticator, the phone app (a second window)",
        f"  {address}/admin-portal/     the admin portal (sign in as {ADMIN})",
    ]
    if radius:
        lines.append(
            f"  udp://{radius}     twofold radius, for a VPN on this machine "
            f"(RADIUS client {RADIUS_CLIENT_NAME!r}, secret above)"
        )
    if log_file:
        lines.append(f"The request log goes to {log_file}; only warnings and errors show here.")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)
