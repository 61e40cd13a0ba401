"""The admin portal's directory page against the real slapd: configure, test, synchronise."""

from __future__ import annotations

import pytest

from twofold.accounts.models import User
from twofold.adminportal.tests.conftest import signed_in_admin
from twofold.directory import devslapd
from twofold.directory.models import Directory

pytestmark = [pytest.mark.xdist_group("slapd"), pytest.mark.django_db]


@pytest.fixture
def admin_client(make_user):
    make_user("admin@contoso.example", is_admin=True, display_name="Admin")
    return signed_in_admin("admin@contoso.example")


def form(tree, **changes) -> dict[str, str]:
    values = {
        "preset": "ad",
        "urls": tree.slapd.url,
        "start_tls": "on",
        "ca_bundle": tree.slapd.ca_file.read_text(),
        "bind_dn": devslapd.SERVICE_DN,
        "bind_password": devslapd.SERVICE_PASSWORD,
        "base_dn": tree.people,
        "user_filter": "(objectClass=adLikeUser)",
        "groups": f"enforced={tree.group('MFA enforced')}",
    }
    return {**values, **changes}


def test_an_administrator_configures_tests_and_synchronises_the_directory(  # pages of 500 asked
    admin_client, tree, organisation
) -> None:
    saved = admin_client.post("/admin-portal/directory/save", form(tree))
    assert "The directory is saved." in saved.content.decode()
    directory = Directory.objects.get(organisation=organisation)
    assert directory.bind_password
    assert devslapd.SERVICE_PASSWORD not in directory.bind_password
    page = admin_client.post("/admin-portal/directory/test").content.decode()
    assert f"Connected to {tree.slapd.url}" in page
    assert "adele@contoso.example" in page
    assert "+14255550101" in page
    report = admin_client.post("/admin-portal/directory/sync").content.decode()
    assert "Created 6, updated 0, blocked 0, unchanged 0, refused 2." in report
    assert User.objects.get(username="adele@contoso.example").mfa_state == "enforced"


def test_a_plain_ldap_address_without_starttls_is_refused_and_nothing_saved(
    admin_client, tree
) -> None:
    page = admin_client.post("/admin-portal/directory/save", form(tree, start_tls=""))
    assert "needs StartTLS" in page.content.decode()
    assert not Directory.objects.exists()


def test_a_directory_that_does_not_answer_says_so_with_503(admin_client, tree) -> None:
    dead = f"ldap://127.0.0.1:{devslapd.free_port()}"
    admin_client.post("/admin-portal/directory/save", form(tree, urls=dead))
    answer = admin_client.post("/admin-portal/directory/sync")
    assert answer.status_code == 503
    assert "temporarily unavailable" in answer.content.decode()
