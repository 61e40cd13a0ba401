"""Time a CSV import of N generated users (default 100,000) and print rows per second.

    .venv/bin/python bench/import_users.py [N]

Without DATABASE_URL it migrates a fresh SQLite database in a temporary folder, so the
demo's database is never touched; with DATABASE_URL it uses that database and removes
the benchmark organisation first, so runs repeat. Every row has a display name, an
e-mail, an authentication phone and an office phone, all numbers distinct (the worst
case: nothing is parsed twice); the time covers reading, checking,
creating (users, phones, audit events) and building the set-password links.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twofold.settings")
if not os.environ.get("DATABASE_URL"):
    os.environ["TWOFOLD_DATA_DIR"] = tempfile.mkdtemp(prefix="twofold-bench-import-")
    atexit.register(shutil.rmtree, os.environ["TWOFOLD_DATA_DIR"], ignore_errors=True)

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from twofold.accounts.models import User  # noqa: E402
from twofold.administration.importing import import_users, write_links_csv  # noqa: E402
from twofold.methods.phone.models import Phone  # noqa: E402
from twofold.organisations.models import Organisation, OrganisationDomain  # noqa: E402
from twofold.organisations.services import create_organisation  # noqa: E402

SLUG = "bench-import"
STATES = ("disabled", "enabled", "enforced", "")


def fresh_organisation() -> Organisation:
    stale = Organisation.objects.filter(slug=SLUG).first()
    if stale is not None:
        Phone.objects.filter(user__organisation=stale).delete()
        User.objects.filter(organisation=stale).delete()
        OrganisationDomain.objects.filter(organisation=stale).delete()
        stale.delete()
    return create_organisation("Bench", ["bench-import.example"], slug=SLUG)


def generated(count: int) -> bytes:
    lines = ["User name,Display name,E-mail,Authentication phone,Office phone,MFA state"]
    lines += [
        f"u{index:07d}@bench-import.example,User {index},u{index}@mail.example,"
        f"+1 425 {300 + index // 10000} {index % 10000:04d},"
        f"(206) {300 + index // 10000}-{index % 10000:04d},{STATES[index % 4]}"
        for index in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()


def main(count: int) -> None:
    call_command("migrate", verbosity=0)
    organisation = fresh_organisation()
    data = generated(count)
    started = time.perf_counter()
    report = import_users(organisation, data)
    write_links_csv(report, io.StringIO())
    elapsed = time.perf_counter() - started
    print(f"{len(report.created):,} users created, {len(report.refused):,} refused")
    print(f"import_users, {count:,} rows: {elapsed:.1f} s ({count / elapsed:,.0f} rows/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
