"""A NUL character in a page's request is a clear 400, never a database error (a 500 on
PostgreSQL, which refuses NUL in text)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/signin?next=a%00b", "/signin/a%00b", "/admin-portal/?q=%00"])
def test_a_nul_in_the_path_or_query_is_400(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 400
    assert "X-Correlation-ID" in response.headers


def test_a_nul_in_a_form_is_400_and_changes_nothing(client, make_user) -> None:
    make_user("alice@contoso.example")
    response = client.post("/signin", {"username": "alice@contoso.example\x00"})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_the_api_keeps_its_own_json_answer(client) -> None:
    response = client.get("/api/v1/users?q=%00")
    assert response.status_code in (400, 401)
    assert response["Content-Type"] == "application/json"


def test_ordinary_requests_pass(client) -> None:
    assert client.get("/signin?next=/account").status_code == 200
