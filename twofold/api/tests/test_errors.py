"""Every failure of the API is one JSON shape with the right 4xx, never a 500 or an HTML
page (docs/security.md: bad input gets a clear error, never a 500)."""

from __future__ import annotations

import pytest

from twofold.api.errors import MAX_BODY_BYTES

pytestmark = pytest.mark.django_db(transaction=True)

SHAPE = {"error", "message", "correlation_id"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == SHAPE
    assert body["error"] == code
    assert body["message"]
    return body


def test_the_error_carries_the_requests_correlation_id(validator) -> None:
    response = validator.post("/validate/check", {"user": 7})
    body = assert_error(response, 400, "invalid_input")
    assert body["correlation_id"] == response.headers["X-Correlation-ID"]


def test_malformed_json_is_400(validator) -> None:
    response = validator.call(
        "POST",
        "/validate/check",
        data=b'{"user": "alice@contoso.example", "password": ',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalid_json")


def test_a_body_that_is_not_utf8_is_400(validator) -> None:
    response = validator.call("POST", "/validate/check", data=b"\xff\xfe{")
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize(
    "body",
    [
        {"user": 123, "password": "x"},
        {"user": ["alice@contoso.example"], "password": "x"},
        {"user": "alice@contoso.example", "password": {"a": 1}},
        {"user": "alice@contoso.example", "password": "x", "challenge_id": "not-a-uuid"},
        {"password": "x"},
        {"user": "a" * 300, "password": "x"},
    ],
    ids=["int", "list", "object", "uuid", "missing", "too long"],
)
def test_wrong_types_and_shapes_are_400_naming_the_field(validator, body) -> None:
    response = validator.post("/validate/check", body)
    assert_error(response, 400, "invalid_input")


@pytest.mark.parametrize("body", [[1, 2, 3], "just a string"], ids=["array", "string"])
def test_a_body_that_is_not_a_json_object_is_422(validator, body) -> None:
    response = validator.post("/validate/check", body)
    assert_error(response, 422, "invalid_body")


def test_the_validation_message_names_the_field(validator) -> None:
    response = validator.post("/validate/check", {"user": 123, "password": "x"})
    assert "user" in response.json()["message"]


def test_an_empty_body_is_400(validator) -> None:
    assert_error(validator.call("POST", "/validate/check"), 400, "invalid_input")


def test_a_body_over_64_kb_is_refused_with_413_unread(validator) -> None:
    big = {"user": "alice@contoso.example", "password": "x" * (MAX_BODY_BYTES + 10)}
    assert_error(validator.post("/validate/check", big), 413, "too_large")


def test_a_body_just_under_the_limit_is_read(validator) -> None:
    body = b'{"user": "alice@contoso.example", "padding": "' + b" " * 60_000 + b'"}'
    response = validator.call("POST", "/validate/check", data=body)
    assert_error(response, 400, "invalid_input")  # read, then the missing password noticed


def test_a_large_body_to_an_unknown_path_is_413_too(validator) -> None:
    response = validator.call("POST", "/no-such-thing", data=b"x" * (MAX_BODY_BYTES + 1))
    assert_error(response, 413, "too_large")


def test_an_unknown_path_is_a_json_404(validator) -> None:
    assert_error(validator.get("/no/such/operation"), 404, "not_found")


def test_an_unknown_path_answers_a_post_without_csrf_complaints(validator) -> None:
    assert_error(validator.post("/nothing-here", {"a": 1}), 404, "not_found")


def test_a_wrong_method_is_a_json_405_with_allow(validator) -> None:
    response = validator.call("PUT", "/validate/check", json={})
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_a_malformed_path_parameter_is_400(validator) -> None:
    assert_error(validator.get("/validate/challenges/not-a-uuid"), 400, "invalid_input")


def test_query_parameters_out_of_range_are_400(http, make_token) -> None:
    response = http.get("/users?limit=100000", token=make_token("users:read"))
    assert_error(response, 400, "invalid_input")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/users?q=a%00b", None),  # PostgreSQL refuses NUL in text: a 500 before
        ("GET", "/users/a%00b@contoso.example", None),
        ("POST", "/users", '{"username": "a\\u0000b@contoso.example"}'),
        ("POST", "/users", b'{"username": "a\x00b@contoso.example"}'),
    ],
)
def test_a_nul_character_anywhere_is_400(http, make_token, method, path, body) -> None:
    token = make_token("users:read", "users:write")
    headers = {"Content-Type": "application/json"}
    response = http.call(method, path, token=token, data=body, headers=headers)
    assert_error(response, 400, "invalid_input")
    assert "NUL" in response.json()["message"]


def test_the_api_root_leads_to_the_docs(http) -> None:
    response = http.get("/", allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/api/v1/docs")


def test_a_cache_that_does_not_answer_is_a_503_counted_once(validator, monkeypatch) -> None:
    """Reported where the error is turned into its answer, and only there."""
    from prometheus_client import REGISTRY
    from redis.exceptions import ConnectionError as CacheConnectionError

    from twofold.core import ratelimit

    class Down:
        def __getattr__(self, name: str):
            def refuse(*args, **kwargs):
                raise CacheConnectionError("Connection refused")

            return refuse

    def counted() -> float:
        labels = {"dependency": "cache"}
        return REGISTRY.get_sample_value("twofold_dependency_errors_total", labels) or 0.0

    before = counted()
    monkeypatch.setattr(ratelimit, "cache", Down())
    response = validator.post("/validate/check", {"user": "a@contoso.example", "password": "x"})
    assert_error(response, 503, "temporarily_unavailable")
    assert counted() == before + 1
