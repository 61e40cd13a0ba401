"""The admin portal's directory page in Chromium: configure, test the connection and
synchronise against the real slapd (twofold/directory/tests/conftest.py), screenshotted."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Page, expect

from twofold.adminportal.tests.conftest import signed_in_admin
from twofold.directory import devslapd
from twofold.directory.tests.conftest import slapd, tree  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("slapd"),
    pytest.mark.django_db(transaction=True),
]


def test_an_administrator_points_contoso_at_the_directory_and_synchronises(
    page: Page,
    live_server,
    make_user,
    tree,  # noqa: F811 - the fixture imported above
    screenshot,
) -> None:
    make_user("admin@contoso.example", is_admin=True, display_name="Admin")
    cookie = signed_in_admin("admin@contoso.example").cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page.goto(f"{live_server.url}/admin-portal/directory")
    page.get_by_label("Directory addresses").fill(tree.slapd.url)
    page.get_by_label("CA certificates (PEM)").fill(tree.slapd.ca_file.read_text())
    page.get_by_label("Bind DN").fill(devslapd.SERVICE_DN)
    page.get_by_label("Bind password").fill(devslapd.SERVICE_PASSWORD)
    page.get_by_label("Base DN").fill(tree.people)
    page.get_by_label("User filter").fill("(objectClass=adLikeUser)")
    page.get_by_label("Group mappings").fill(f"enforced={tree.group('MFA enforced')}")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("directory-saved")).to_be_visible()
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_test_id("directory-sample").first).to_contain_text("adele@contoso.example")
    screenshot(page, "1-test-connection")
    page.get_by_role("button", name="Synchronise now").click()
    expect(page.get_by_test_id("directory-report")).to_contain_text("Created 6")
    screenshot(page, "2-synchronised")
