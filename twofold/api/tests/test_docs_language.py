"""The docs page speaks the reader's language; the OpenAPI document stays English."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from twofold.api import docs

pytestmark = pytest.mark.django_db

CHINESE = "zh-hans"


def _texts_shown() -> list[str]:
    """Every English text of the document that the docs page shows."""
    schema, groups = docs.operations()
    texts = [schema["info"]["title"], *schema["info"]["description"].split("\n\n")]
    for _tag, listed in groups:
        for operation in listed:
            fields = [*operation.parameters, *operation.body]
            texts += [operation.summary, operation.description]
            texts += [field.description for field in fields]
    return [text for text in texts if text.strip()]


def test_the_docs_page_in_chinese_shows_the_chinese_summary_of_validate_check() -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="zh-Hans").get("/api/v1/docs").content.decode()
    assert "检查密码，并在需要时检查第二重验证" in page
    assert "Check a password and, where needed, a second factor" not in page


def test_the_docs_page_in_chinese_builds_type_phrases_in_chinese() -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="zh-Hans").get("/api/v1/docs").content.decode()
    assert "string 或 null" in page
    assert " or null" not in page


def test_every_text_the_docs_page_shows_has_a_chinese_translation() -> None:
    with translation.override("en"):
        english = _texts_shown()
    with translation.override(CHINESE):
        untranslated = [text for text in english if docs.shown(text) == " ".join(text.split())]
    assert untranslated == ["twofold REST API"]  # the product's name reads the same


def test_the_openapi_document_stays_english_for_a_chinese_client() -> None:
    document = Client(HTTP_ACCEPT_LANGUAGE="zh-Hans").get("/api/v1/openapi.json").json()
    check = document["paths"]["/api/v1/validate/check"]["post"]
    assert check["summary"] == "Check a password and, where needed, a second factor"


def _answers_shown() -> set[str]:
    """The status text of every answer the docs page lists, in the active language."""
    _schema, groups = docs.operations()
    return {text for _tag, listed in groups for op in listed for _status, text in op.responses}


def test_the_docs_page_in_chinese_names_every_answers_http_status_in_chinese() -> None:
    with translation.override("en"):
        english = _answers_shown()
    with translation.override(CHINESE):
        chinese = _answers_shown()
    assert "OK" in english
    assert english & chinese == set()


def test_the_docs_page_in_chinese_heads_its_sections_in_chinese() -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="zh-Hans").get("/api/v1/docs").content.decode()
    assert '<h2 id="tag-validate">验证</h2>' in page
    assert '<h2 id="tag-users">用户</h2>' in page
    assert '<h2 id="tag-validate">validate</h2>' not in page
