"""The sync report's refusal reasons are said in the reader's language (zh-Hans beside
English), wherever the report is read: the admin portal, the command. Against the real
slapd of conftest.py."""

from __future__ import annotations

import pytest
from django.utils import translation

from twofold.accounts import services as accounts
from twofold.adminportal.tests.conftest import signed_in_admin
from twofold.directory.sync import synchronise
from twofold.directory.tests.test_directory import configure

pytestmark = [pytest.mark.xdist_group("slapd"), pytest.mark.django_db]

# What the seeded directory's refusals say (diego is disabled there), in both languages.
DISABLED = ("disabled in the directory", "已在目录中禁用")
TAKEN = ("a user with this user name exists already", "已存在使用此用户名的用户")


def test_the_reports_reasons_are_said_in_the_language_read_in(organisation, tree) -> None:
    accounts.create_user(organisation, "isaiah@contoso.example")
    report = synchronise(configure(organisation, tree))
    reasons = dict(report.refused)
    with translation.override("zh-hans"):
        assert str(reasons["diego@contoso.example"]) == DISABLED[1]
        assert str(reasons["isaiah@contoso.example"]) == TAKEN[1]
    with translation.override("en"):
        assert str(reasons["diego@contoso.example"]) == DISABLED[0]


def test_an_administrator_reading_chinese_gets_the_reasons_in_chinese(
    organisation, tree, make_user
) -> None:
    admin = make_user("admin@contoso.example", is_admin=True, display_name="Admin")
    accounts.set_preferences(admin, language="zh-hans", time_zone="")
    configure(organisation, tree)
    client = signed_in_admin("admin@contoso.example")
    page = client.post("/admin-portal/directory/sync").content.decode()
    assert f"diego@contoso.example</span>: {DISABLED[1]}" in page
    assert DISABLED[0] not in page
