"""An interrupted import and its rerun: links handed over batch by batch as each commits,
and a rerun that gives the users still without a password one working link, the newest."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils.http import urlsafe_base64_decode

from twofold.accounts import services as accounts
from twofold.accounts.models import User
from twofold.administration import importing
from twofold.administration.importing import import_users
from twofold.adminportal.management.commands import users as users_command
from twofold.audit.models import AuditAction, AuditEvent

HEADER = "user name,display name,e-mail,authentication phone,office phone,mfa state"
NEW_PASSWORD = "violet kitchen telescope morning"


def csv_file(*usernames: str) -> bytes:
    rows = [f"{name},,,,," for name in usernames]
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def staff(count: int) -> list[str]:
    return [f"u{index:03d}@contoso.example" for index in range(count)]


def link_works(link: str) -> bool:
    """Whether the set-password link's token is still valid for its user."""
    _root, _set_password, uid, token = urlsplit(link).path.split("/")
    user = User.objects.get(pk=urlsafe_base64_decode(uid).decode())
    return default_token_generator.check_token(user, token)


@pytest.mark.django_db
class TestRerun:
    def test_a_user_left_without_a_password_gets_a_new_link(self, organisation) -> None:
        import_users(organisation, csv_file("carol@contoso.example"))
        report = import_users(organisation, csv_file("carol@contoso.example"))
        assert [made.username for made in report.relinked] == ["carol@contoso.example"]
        assert report.refused == []
        assert link_works(report.relinked[0].link)

    def test_the_earlier_link_stops_working(self, organisation) -> None:
        first = import_users(organisation, csv_file("carol@contoso.example"))
        import_users(organisation, csv_file("carol@contoso.example"))
        assert not link_works(first.created[0].link)

    def test_a_user_who_set_a_password_is_refused_as_existing(self, organisation) -> None:
        import_users(organisation, csv_file("carol@contoso.example"))
        accounts.set_password(User.objects.get(), NEW_PASSWORD, via="test")
        report = import_users(organisation, csv_file("carol@contoso.example"))
        assert report.relinked == []
        assert report.refused[0].reason == "user name: A user with this user name already exists."

    def test_a_user_who_signed_in_is_refused_as_existing(self, organisation, make_user) -> None:
        make_user("carol@contoso.example")
        User.objects.update(password="!not-usable", last_login="2026-12-01T00:00:00Z")
        report = import_users(organisation, csv_file("carol@contoso.example"))
        assert (report.relinked, len(report.refused)) == ([], 1)

    def test_a_password_set_during_the_rerun_is_kept(self, organisation, monkeypatch) -> None:
        import_users(organisation, csv_file("carol@contoso.example"))
        real_waiting = importing._waiting

        def waiting_then_set(usernames, organisation):
            found = real_waiting(usernames, organisation)
            accounts.set_password(User.objects.get(), NEW_PASSWORD, via="test")
            return found

        monkeypatch.setattr(importing, "_waiting", waiting_then_set)
        report = import_users(organisation, csv_file("carol@contoso.example"))
        assert report.relinked == []
        assert User.objects.get().check_password(NEW_PASSWORD)

    def test_each_new_link_is_audited(self, organisation) -> None:
        import_users(organisation, csv_file("carol@contoso.example"))
        import_users(organisation, csv_file("carol@contoso.example"))
        events = AuditEvent.objects.filter(action=AuditAction.PASSWORD_LINK_ISSUED)
        assert list(events.values_list("subject_label", flat=True)) == ["carol@contoso.example"]

    def test_the_results_csv_marks_the_rows_given_a_new_link(self, organisation) -> None:
        import_users(organisation, csv_file("carol@contoso.example"))
        report = import_users(
            organisation, csv_file("bob@contoso.example", "carol@contoso.example")
        )
        out = io.StringIO()
        importing.write_results_csv(report, out)
        results = [line[:3] for line in csv.reader(io.StringIO(out.getvalue()))][1:]
        assert results == [
            ["2", "bob@contoso.example", "created"],
            ["3", "carol@contoso.example", "new link"],
        ]

    def test_the_page_shows_the_new_links_of_a_second_upload(self, organisation, admin_client):
        def upload() -> SimpleUploadedFile:
            return SimpleUploadedFile("staff.csv", csv_file("carol@contoso.example"))

        admin_client.post("/admin-portal/import/", {"file": upload()})
        response = admin_client.post("/admin-portal/import/", {"file": upload()})
        body = response.content.decode()
        assert '<dd data-testid="import-relinked">1</dd>' in body
        link = response.context["report"].relinked[0].link
        assert f'data-testid="import-link">{link}<' in body


@pytest.mark.django_db(transaction=True)
class TestLinksAsBatchesCommit:
    def test_each_batchs_links_are_handed_over_after_its_commit(self, organisation) -> None:
        seen = []

        def keep(links: list[importing.CreatedUser]) -> None:
            committed = User.objects.filter(username__in=[made.username for made in links])
            seen.append((connection.in_atomic_block, committed.count(), len(links)))

        import_users(organisation, csv_file(*staff(5)), on_batch=keep, batch_size=2)
        assert seen == [(False, 2, 2), (False, 2, 2), (False, 1, 1)]

    def test_a_batch_that_fails_hands_over_no_link(self, organisation, monkeypatch) -> None:
        real_create, calls, seen = importing._create, [], []

        def fail_the_second(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise RuntimeError("the database went away")
            return real_create(*args, **kwargs)

        monkeypatch.setattr(importing, "_create", fail_the_second)
        with pytest.raises(RuntimeError):
            import_users(organisation, csv_file(*staff(4)), on_batch=seen.extend, batch_size=2)
        assert [made.username for made in seen] == staff(2)

    def test_an_interrupted_command_keeps_the_links_of_its_committed_batches(
        self, organisation, tmp_path, monkeypatch
    ) -> None:
        source, links = tmp_path / "staff.csv", tmp_path / "links.csv"
        source.write_bytes(csv_file(*staff(4)))
        real_create, calls = importing._create, []

        def interrupted_at_the_second(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return real_create(*args, **kwargs)

        monkeypatch.setattr(importing, "_create", interrupted_at_the_second)
        with pytest.raises(KeyboardInterrupt):
            call_command(
                "users", "import", str(source), "--links", str(links), "--batch-size", "2",
                stdout=io.StringIO(), stderr=io.StringIO(),
            )  # fmt: skip
        names = [row[0] for row in csv.reader(links.open())]
        assert names == ["user name", *staff(2)]

    def test_an_interrupted_command_says_where_the_links_are_and_what_to_do(
        self, organisation, tmp_path, monkeypatch
    ) -> None:
        source, links, err = tmp_path / "staff.csv", tmp_path / "links.csv", io.StringIO()
        source.write_bytes(csv_file(*staff(4)))
        real_import = importing.import_users

        def import_then_stop(*args, on_batch, **kwargs):
            def keep_then_stop(links_of_a_batch):
                on_batch(links_of_a_batch)
                raise KeyboardInterrupt  # Ctrl-C after the first batch's links are kept

            return real_import(*args, on_batch=keep_then_stop, **kwargs)

        monkeypatch.setattr(users_command, "import_users", import_then_stop)
        with pytest.raises(KeyboardInterrupt):
            call_command(
                "users", "import", str(source), "--links", str(links), "--batch-size", "2",
                stdout=io.StringIO(), stderr=err,
            )  # fmt: skip
        assert f"The links of the users created so far are in {links}." in err.getvalue()


# The real command, killed (SIGKILL) halfway through a real import, then run again.

ROOT = Path(__file__).resolve().parents[3]

# Run in the command's own process: for each user, whether its password is usable and how
# many of the links in the given files still work for it; and the links whose user is not
# in the database (a link for a row whose batch did not commit).
CHECK = """
import csv, json, os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "twofold.settings"
django.setup()
from django.contrib.auth.tokens import default_token_generator
from django.utils.http import urlsafe_base64_decode
from twofold.accounts.models import User
users = {user.pk: user for user in User.objects.all()}
working = {user.username: 0 for user in users.values()}
strays = []
for name in sys.argv[1:]:
    for username, link in list(csv.reader(open(name)))[1:]:
        uid, token = link.rsplit("/", 2)[1:]
        user = users.get(int(urlsafe_base64_decode(uid).decode()))
        if user is None or user.username != username:
            strays.append(username)
        elif default_token_generator.check_token(user, token):
            working[username] += 1
usable = [user.username for user in users.values() if user.has_usable_password()]
print(json.dumps({"working": working, "usable": usable, "strays": strays}))
"""


def twofold(data: Path, *args: str, **popen: object) -> subprocess.Popen:
    """``twofold ARGS`` (or ``python -c SCRIPT ARGS`` for args starting with -c) on ``data``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(TWOFOLD_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    command = [sys.executable, *(args if args[0] == "-c" else ["-m", "twofold.cli", *args])]
    return subprocess.Popen(command, env=env, cwd=ROOT, text=True, **popen)


def finished(data: Path, *args: str) -> str:
    process = twofold(data, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    return out


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def kill_partway(process: subprocess.Popen, links: Path, enough: int) -> None:
    """SIGKILL the import once its links file has ``enough`` lines (batches committed)."""
    deadline = time.monotonic() + 120
    while lines(links) < enough and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert process.poll() is None, "the import ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


@pytest.mark.own_servers  # its own twofold processes on their own SQLite file: once
def test_a_killed_import_and_its_rerun_leave_each_user_exactly_one_working_link(
    tmp_path,
) -> None:
    data = tmp_path / "data"
    finished(data, "migrate", "--no-input", "--verbosity", "0")
    finished(data, "createorg", "Contoso", "--domain", "contoso.example")
    source, first, second = tmp_path / "staff.csv", tmp_path / "first.csv", tmp_path / "second.csv"
    source.write_bytes(csv_file(*staff(1500)))
    importing_ = twofold(
        data, "users", "import", str(source), "--links", str(first), "--batch-size", "10",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    kill_partway(importing_, first, enough=101)
    assert importing_.returncode == -signal.SIGKILL
    rerun = finished(data, "users", "import", str(source), "--links", str(second))
    assert "0 of 1,500 rows refused" in rerun
    found = json.loads(finished(data, "-c", CHECK, str(first), str(second)))
    assert found["strays"] == []
    assert found["usable"] == []
    assert sorted(found["working"]) == sorted(staff(1500))
    assert set(found["working"].values()) == {1}
