"""Time the administrators' bulk actions on N generated users (default 100,000).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/twofold_bench \
        .venv/bin/python bench/bulk_actions.py [N]

Creates the database's tables (migrate), seeds one organisation with N users (bulk
inserts, each with an authentication phone and an app password), then times each bulk
action over all of them and prints a Markdown table row per action. The seeded
organisation is removed at the start of every run, so runs repeat; `make bench` gives it
a new database of its own instead (removing a million users costs more than the actions).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twofold.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from twofold.accounts.models import MfaState, User  # noqa: E402
from twofold.accounts.services import set_mfa_state  # noqa: E402
from twofold.administration import services  # noqa: E402
from twofold.methods.app_passwords.models import AppPassword  # noqa: E402
from twofold.methods.phone.models import Phone  # noqa: E402
from twofold.organisations.models import Organisation, OrganisationDomain  # noqa: E402
from twofold.organisations.services import create_organisation  # noqa: E402

SLUG = "bench-bulk"


def seed(count: int) -> Organisation:
    stale = Organisation.objects.filter(slug=SLUG).first()
    if stale is not None:
        Phone.objects.filter(user__organisation=stale).delete()
        User.objects.filter(organisation=stale).delete()
        OrganisationDomain.objects.filter(organisation=stale).delete()
        stale.delete()
    organisation = create_organisation("Bench", ["bench-bulk.example"], slug=SLUG)
    unusable = "!benchmark-users-cannot-sign-in"
    for start in range(0, count, 10_000):
        users = User.objects.bulk_create(
            User(
                organisation=organisation,
                username=f"u{index:07d}@bench-bulk.example",
                password=unusable,
                mfa_state=MfaState.ENABLED,
            )
            for index in range(start, min(start + 10_000, count))
        )
        Phone.objects.bulk_create(
            Phone(user=user, role="authentication", number=f"+1425555{index % 10000:04d}")
            for index, user in enumerate(users)
        )
        AppPassword.objects.bulk_create(
            AppPassword(user=user, name="Mail", password=unusable) for user in users
        )
    return organisation


def timed(label: str, action) -> None:
    started = time.perf_counter()
    changed = action()
    seconds = time.perf_counter() - started
    shown = f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
    print(f"| {label} | {changed:,} | {shown} |")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    organisation = seed(count)
    print(f"seeded {count:,} users in {time.perf_counter() - started:.1f} s on {connection.vendor}")
    admin = User.objects.filter(organisation=organisation).first()
    users = User.objects.filter(organisation=organisation)
    print("| action | users changed | time |\n| --- | ---: | ---: |")
    timed(
        "restore remembered devices",
        lambda: services.restore_remembered_devices(users, actor=admin),
    )
    timed(
        "restore remembered devices, whole organisation (its epoch)",
        lambda: services.restore_remembered_devices_everywhere(organisation, actor=admin) or count,
    )
    timed("delete app passwords", lambda: services.delete_app_passwords(users, actor=admin))
    timed(
        "enforce two-step verification",
        lambda: set_mfa_state(users, MfaState.ENFORCED, actor=admin),
    )
    timed(
        "require contact methods again",
        lambda: services.manage_user_settings(users, actor=admin, reregister=True).reregistered,
    )


if __name__ == "__main__":
    main()
