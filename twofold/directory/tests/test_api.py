"""The validate API with directory users: the same password path as the pages."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from twofold.api import clients
from twofold.directory import devslapd
from twofold.directory.sync import synchronise
from twofold.directory.tests.test_directory import configure

pytestmark = [pytest.mark.xdist_group("slapd"), pytest.mark.django_db]


@pytest.fixture
def token(organisation, make_user) -> str:
    admin = make_user("admin@contoso.example", is_admin=True)
    _client, token = clients.create(organisation, "VPN", ["validate"], actor=admin)
    return token


@pytest.fixture
def synced(organisation, tree):
    directory = configure(organisation, tree)
    synchronise(directory)
    return directory


def check(token: str, user: str, password: str):
    return Client(raise_request_exception=False).post(
        "/api/v1/validate/check",
        json.dumps({"user": user, "password": password}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_directory_password_is_accepted_by_the_validate_api(synced, token) -> None:
    # Isaiah is in "MFA disabled": his directory password alone is accepted.
    answer = check(token, "isaiah@contoso.example", devslapd.PEOPLE_PASSWORD)
    assert answer.status_code == 200
    assert answer.json()["result"] == "accept"
    wrong = check(token, "isaiah@contoso.example", "not the password")
    assert wrong.json()["result"] == "reject"


def test_a_directory_that_does_not_answer_is_a_503_in_the_api(synced, token) -> None:
    synced.urls = f"ldap://127.0.0.1:{devslapd.free_port()}"
    synced.save()
    answer = check(token, "isaiah@contoso.example", devslapd.PEOPLE_PASSWORD)
    assert answer.status_code == 503
    assert answer.json()["error"] == "temporarily_unavailable"
    assert "directory" in answer.json()["message"]
