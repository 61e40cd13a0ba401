"""`twofold seed-demo`: the demo's users, its API client and its OpenID Connect application
are made once, kept in the data folder's demo-credentials.json, and work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client

from twofold import demo
from twofold.accounts.models import MfaState, User
from twofold.api.models import ApiClient
from twofold.oidc.models import Application

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path: Path) -> Path:
    settings.BASE_DIR = tmp_path
    return tmp_path


def saved(data_dir: Path) -> dict:
    return json.loads((data_dir / "demo-credentials.json").read_text())


def check_call(token: str) -> int:
    response = Client().post(
        "/api/v1/validate/check",
        {"user": "bob@contoso.example", "password": "wrong password here"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    return response.status_code


def test_seeding_twice_keeps_the_same_passwords_token_and_client_secret(data_dir) -> None:
    demo.seed()
    first = saved(data_dir)
    demo.seed()
    assert saved(data_dir) == first
    assert ApiClient.objects.count() == 1
    assert Application.objects.count() == 1


def test_the_demo_administrator_always_needs_a_second_factor(data_dir) -> None:
    demo.seed()
    assert User.objects.get(username=demo.ADMIN).mfa_state == MfaState.ENFORCED


def test_the_saved_token_is_a_validate_client_of_contoso(data_dir) -> None:
    demo.seed()
    token = saved(data_dir)["api_client"]["token"]
    client = ApiClient.objects.get()
    assert client.organisation.slug == "contoso"
    assert client.scopes == ["validate"]
    assert token not in client.secret_digest
    assert check_call(token) == 200


def test_the_saved_client_secret_is_the_example_apps_and_only_its_hash_is_stored(
    data_dir,
) -> None:
    demo.seed()
    application = saved(data_dir)["application"]
    stored = Application.objects.get(client_id=application["client_id"])
    assert stored.client_type == Application.CLIENT_CONFIDENTIAL
    assert stored.redirect_uris == "http://127.0.0.1:8001/callback"
    assert stored.post_logout_redirect_uris == "http://127.0.0.1:8001/"
    assert stored.client_secret != application["client_secret"]
    assert check_password(application["client_secret"], stored.client_secret)


def test_a_lost_file_gets_a_new_token_and_secret_and_the_old_token_stops(data_dir) -> None:
    demo.seed()
    old = saved(data_dir)
    (data_dir / "demo-credentials.json").unlink()
    demo.seed()
    new = saved(data_dir)
    assert new["api_client"]["token"] != old["api_client"]["token"]
    assert check_call(old["api_client"]["token"]) == 401
    assert check_call(new["api_client"]["token"]) == 200
    stored = Application.objects.get()
    assert new["application"]["client_id"] == old["application"]["client_id"]
    assert check_password(new["application"]["client_secret"], stored.client_secret)
    assert not check_password(old["application"]["client_secret"], stored.client_secret)


def test_a_file_from_before_applications_keeps_its_users_passwords(data_dir) -> None:
    demo.seed()
    users = saved(data_dir)["users"]
    (data_dir / "demo-credentials.json").write_text(json.dumps(users))
    assert demo.seed() == users
    assert saved(data_dir)["users"] == users


def test_the_file_is_readable_by_its_owner_only(data_dir) -> None:
    demo.seed()
    assert (data_dir / "demo-credentials.json").stat().st_mode & 0o077 == 0


def test_the_saved_radius_secret_is_the_demo_radius_clients_and_kept(data_dir) -> None:
    from twofold.radius import clients as radius_clients
    from twofold.radius.models import RadiusClient

    demo.seed()
    first = saved(data_dir)["radius_client"]
    demo.seed()
    client = RadiusClient.objects.get()
    assert (client.network, client.organisation.slug) == ("127.0.0.1/32", "contoso")
    assert radius_clients.secret_of(client).decode() == first["secret"]
    assert saved(data_dir)["radius_client"] == first
