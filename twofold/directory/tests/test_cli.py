"""``twofold directory configure|test|sync`` against the real slapd."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from twofold.accounts.models import User
from twofold.core import crypto
from twofold.directory import devslapd
from twofold.directory.models import Directory

pytestmark = [pytest.mark.xdist_group("slapd"), pytest.mark.django_db]


def run(*arguments: str, stdin: str = "", monkeypatch=None) -> str:
    out = io.StringIO()
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("directory", *arguments, stdout=out)
    return out.getvalue()


def test_configure_test_and_sync_from_the_command_line(organisation, tree, monkeypatch) -> None:
    said = run(
        "configure", "--org", "contoso", "--url", tree.slapd.tls_url, "--preset", "ad",
        "--bind-dn", devslapd.SERVICE_DN, "--base-dn", tree.people,
        "--ca-file", str(tree.slapd.ca_file), "--user-filter", "(objectClass=adLikeUser)",
        "--group", f"admin={tree.group('twofold administrators')}", "--bind-password-stdin",
        stdin=devslapd.SERVICE_PASSWORD + "\n", monkeypatch=monkeypatch,
    )  # fmt: skip
    assert "directory configured" in said
    directory = Directory.objects.get(organisation=organisation)
    assert crypto.decrypt(directory.bind_password).decode() == devslapd.SERVICE_PASSWORD
    tested = run("test", "--org", "contoso")
    assert f"connected to {tree.slapd.tls_url}" in tested
    assert "user name: adele@contoso.example" in tested
    assert "phone: +14255550101" in tested
    dry = run("sync", "--org", "contoso", "--dry-run")
    assert "full sync (dry run: nothing changed): created 6" in dry
    assert not User.objects.filter(username="adele@contoso.example").exists()
    synced = run("sync", "--org", "contoso")
    assert "created 6" in synced
    assert "refused lee@fabrikam.example: the user name's domain is not the organisation's" in (
        synced
    )
    assert User.objects.get(username="bianca@contoso.example").is_admin


def test_a_plain_ldap_url_without_starttls_is_a_clear_error(organisation, tree) -> None:
    with pytest.raises(CommandError, match="needs StartTLS"):
        run(
            "configure", "--org", "contoso", "--url", tree.slapd.url, "--preset", "ad",
            "--bind-dn", devslapd.SERVICE_DN, "--base-dn", tree.people,
        )  # fmt: skip
    assert not Directory.objects.exists()


def test_sync_directories_syncs_each_one_and_names_those_that_did_not_answer(
    organisation, other_organisation, tree
) -> None:
    from twofold.directory.tests.test_directory import configure

    configure(organisation, tree)
    down = configure(other_organisation, tree)
    down.urls = f"ldap://127.0.0.1:{devslapd.free_port()}"
    down.save()
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match=f"not synchronised: {other_organisation.slug}"):
        call_command("sync_directories", stdout=out, stderr=err)
    assert "contoso: full sync: created 6" in out.getvalue()
    assert f"{other_organisation.slug}: not synchronised: " in err.getvalue()
    assert User.objects.filter(username="adele@contoso.example").exists()
