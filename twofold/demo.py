"""The demo organisation that `make run` seeds: Contoso, one administrator, two users.

Seeding is idempotent. Passwords are generated on the first run and kept (mode 0600)
in the data folder, so every later run prints the same credentials.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from twofold.accounts.models import MfaState, User
from twofold.accounts.services import create_user, set_password
from twofold.core.crypto import random_letters
from twofold.organisations.models import Organisation
from twofold.organisations.services import create_organisation

DOMAIN = "contoso.example"


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    is_admin: bool
    mfa_state: str


DEMO_USERS = (
    DemoUser(f"admin@{DOMAIN}", "Adele Admin", True, MfaState.ENABLED),
    DemoUser(f"alice@{DOMAIN}", "Alice Example", False, MfaState.ENABLED),
    DemoUser(f"bob@{DOMAIN}", "Bob Example", False, MfaState.DISABLED),
)


def _credentials_file() -> Path:
    return Path(settings.BASE_DIR) / "demo-credentials.json"


def _new_password() -> str:
    return "-".join(random_letters(4) for _ in range(4))


def _load_credentials() -> dict[str, str]:
    try:
        return json.loads(_credentials_file().read_text())
    except FileNotFoundError:
        return {}


def _save_credentials(credentials: dict[str, str]) -> None:
    path = _credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(credentials, handle, indent=2)


@transaction.atomic
def seed() -> dict[str, str]:
    """Create whatever part of the demo is missing; return user name → password."""
    organisation = Organisation.objects.filter(slug="contoso").first()
    if organisation is None:
        organisation = create_organisation(
            "Contoso", [DOMAIN], slug="contoso", allow_app_passwords=True
        )
    credentials = _load_credentials()
    for demo in DEMO_USERS:
        user = User.objects.filter(username=demo.username).first()
        password = credentials.get(demo.username) or _new_password()
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
        credentials[demo.username] = password
    _save_credentials(credentials)
    return credentials
