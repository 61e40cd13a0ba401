"""Time a directory sync of N people (default 100,000) against a local slapd, first and
incremental, and a password check through the directory beside a local one.

    .venv/bin/python bench/directory_sync.py [N] [--profile FILE]

Needs Debian's slapd (`make slapd`); starts its own (twofold/directory/devslapd.py) in a
temporary folder, with N generated people loaded offline by slapadd. Without DATABASE_URL
it migrates a fresh SQLite database in a temporary folder; with DATABASE_URL it uses that
database and removes the benchmark organisation first, so runs repeat. Every person has a
user name, display name, e-mail and mobile number (each number distinct: each is parsed and
held pending, docs/directory.md). The incremental run follows a change to 1% of them.
``--profile FILE``: cProfile the two syncs only (not the set-up) into FILE, and print
their costliest functions and how many times psycopg waited on the server. Not part of
`make test`.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, its own folder comes first on the path, where bench/profile.py would
# hide the standard library's profile module (which cProfile imports).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import cProfile  # noqa: E402
import pstats  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twofold.settings")
if not os.environ.get("DATABASE_URL"):
    os.environ["TWOFOLD_DATA_DIR"] = tempfile.mkdtemp(prefix="twofold-bench-directory-")
    atexit.register(shutil.rmtree, os.environ["TWOFOLD_DATA_DIR"], ignore_errors=True)

import django  # noqa: E402

django.setup()

import ldap  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from twofold.accounts import services as accounts  # noqa: E402
from twofold.accounts.models import User  # noqa: E402
from twofold.directory import devslapd, services  # noqa: E402
from twofold.directory.sync import synchronise  # noqa: E402
from twofold.methods.phone.models import Phone  # noqa: E402
from twofold.organisations.models import Organisation, OrganisationDomain  # noqa: E402
from twofold.organisations.services import create_organisation  # noqa: E402

SLUG = "bench-directory"
DOMAIN = "bench-directory.example"
LOCAL_PASSWORD = "correct horse battery staple"


def people_ldif(count: int, path: Path) -> None:
    with path.open("w") as out:
        out.write(f"dn: ou=bench,{devslapd.SUFFIX}\nobjectClass: organizationalUnit\nou: bench\n\n")
        for index in range(count):
            uid = f"u{index:07d}"
            out.write(
                f"dn: uid={uid},ou=bench,{devslapd.SUFFIX}\nobjectClass: inetOrgPerson\n"
                f"objectClass: adLikeUser\nuid: {uid}\ncn: User {index}\nsn: {index}\n"
                f"displayName: User {index}\nmail: {uid}@{DOMAIN}\n"
                f"userPrincipalName: {uid}@{DOMAIN}\nuserAccountControl: 512\n"
                f"mobile: +1 425 {300 + index // 10000} {index % 10000:04d}\n"
                f"userPassword: {devslapd.PEOPLE_PASSWORD}\n\n"
            )


def fresh_organisation() -> Organisation:
    stale = Organisation.objects.filter(slug=SLUG).first()
    if stale is not None:
        Phone.objects.filter(user__organisation=stale).delete()
        User.objects.filter(organisation=stale).delete()
        OrganisationDomain.objects.filter(organisation=stale).delete()
        stale.delete()
    return create_organisation("Bench directory", [DOMAIN], slug=SLUG)


def change_some(server: devslapd.Slapd, count: int) -> int:
    connection = ldap.initialize(server.url)
    connection.simple_bind_s(devslapd.ROOT_DN, devslapd.ROOT_PASSWORD)
    changed = 0
    for index in range(0, count, 100):
        dn = f"uid=u{index:07d},ou=bench,{devslapd.SUFFIX}"
        connection.modify_s(dn, [(ldap.MOD_REPLACE, "displayName", [f"Renamed {index}".encode()])])
        changed += 1
    return changed


def password_times(username: str, password: str, rounds: int = 20) -> list[float]:
    times = []
    for _round in range(rounds):
        request = RequestFactory().post("/signin/password", REMOTE_ADDR="127.0.0.1")
        started = time.perf_counter()
        accounts.check_password(request, username, password)
        times.append(time.perf_counter() - started)
    return times


def timed_sync(directory, profiler: cProfile.Profile | None):
    """The sync's report, its time, and this process's CPU time in it (what the load
    average of a shared machine changes least: the database server's is not in it)."""
    started, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    report = synchronise(directory)
    if profiler is not None:
        profiler.disable()
    return report, time.perf_counter() - started, time.process_time() - cpu


def print_profile(profiler: cProfile.Profile, path: str) -> None:
    profiler.dump_stats(path)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"twofold/(directory|accounts|audit|core)/", 25)
    waits = sum(
        calls for (file, _line, name), (calls, *_rest) in stats.stats.items()
        if file.endswith("psycopg/connection.py") and name == "wait"
    )  # fmt: skip
    print(out.getvalue())
    print(f"psycopg waited on the server {waits:,} times (profile in {path})")


def main() -> None:
    arguments = sys.argv[1:]
    profile_path = ""
    if "--profile" in arguments:
        at = arguments.index("--profile")
        profile_path = arguments[at + 1]
        del arguments[at : at + 2]
    profiler = cProfile.Profile() if profile_path else None
    count = int(arguments[0]) if arguments else 100_000
    call_command("migrate", verbosity=0)
    folder = Path(tempfile.mkdtemp(prefix="twofold-bench-slapd-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    people_ldif(count, folder / "people.ldif")
    started = time.perf_counter()
    server = devslapd.start(folder / "server", seed=False, extra=folder / "people.ldif")
    atexit.register(server.stop)
    print(f"slapd with {count:,} people: {time.perf_counter() - started:.1f} s")
    organisation = fresh_organisation()
    directory = services.configure(
        organisation,
        urls=[server.url],
        start_tls=True,
        ca_bundle=server.ca_file.read_text(),
        bind_dn=devslapd.SERVICE_DN,
        bind_password=devslapd.SERVICE_PASSWORD,
        base_dn=f"ou=bench,{devslapd.SUFFIX}",
        preset="ad",
        user_filter="(objectClass=adLikeUser)",
    )
    report, took, cpu = timed_sync(directory, profiler)
    print(
        f"first sync, {count:,} people: {took:.1f} s ({count / took:,.0f} people/s, "
        f"CPU {cpu:.1f} s), {report.counts()}"
    )
    changed = change_some(server, count)
    report, took, cpu = timed_sync(directory, profiler)
    print(
        f"incremental sync after {changed:,} changes: {took:.1f} s (CPU {cpu:.1f} s), "
        f"{report.counts()}"
    )
    accounts.create_user(organisation, f"local@{DOMAIN}", LOCAL_PASSWORD)
    directory_times = password_times(f"u0000001@{DOMAIN}", devslapd.PEOPLE_PASSWORD)
    local_times = password_times(f"local@{DOMAIN}", LOCAL_PASSWORD)
    for name, times in (
        ("directory (StartTLS bind)", directory_times),
        ("local (Argon2id)", local_times),
    ):
        print(
            f"password check, {name}: median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms over {len(times)}"
        )
    if profiler is not None:
        print_profile(profiler, profile_path)


if __name__ == "__main__":
    main()
