"""API error messages speak the client's Accept-Language, else the organisation's default
language, else English; the error codes never change (issue 10)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

MISSING_BODY = {"content_type": "application/json", "data": b"{"}


def test_without_accept_language_messages_are_english(client: Client) -> None:
    body = client.get("/api/v1/no-such-operation").json()
    assert body["error"] == "not_found"
    assert body["message"] == "There is no such API operation."


def test_accept_language_zh_hans_gives_chinese_messages_and_the_same_codes() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-Hans")
    unknown = client.get("/api/v1/no-such-operation")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": "not_found",
        "message": "没有这样的 API 操作。",
        "correlation_id": unknown["X-Correlation-ID"],
    }
    refused = client.post("/api/v1/validate/check", **MISSING_BODY)
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthenticated"
    assert refused.json()["message"].startswith("请发送有效的 API 客户端令牌")
    assert refused["Content-Language"] == "zh-hans"


def test_a_chinese_browser_header_such_as_zh_cn_is_understood() -> None:
    body = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5").get("/api/v1/nothing").json()
    assert body["message"] == "没有这样的 API 操作。"


def test_a_bad_body_is_explained_in_chinese(make_token) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    response = client.post("/api/v1/validate/check", **MISSING_BODY)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_json",
        "message": "请求正文不是有效的 JSON。",
        "correlation_id": response["X-Correlation-ID"],
    }


def test_without_a_header_the_clients_organisation_default_applies(make_token, admin) -> None:
    admin.organisation.default_language = "zh-hans"
    admin.organisation.save(update_fields=["default_language"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    response = client.post("/api/v1/validate/check", **MISSING_BODY)
    assert response.json()["message"] == "请求正文不是有效的 JSON。"


def test_the_clients_own_accept_language_beats_the_organisation_default(make_token, admin) -> None:
    admin.organisation.default_language = "zh-hans"
    admin.organisation.save(update_fields=["default_language"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Bearer {make_token()}")
    response = client.post("/api/v1/validate/check", **MISSING_BODY)
    assert response.json()["message"] == "The body is not valid JSON."
