"""The error page for requests too broken to answer the client: explained in the reader's
language, while the protocol's own description stays as the client would get it."""

from __future__ import annotations

import pytest
from django.test import Client

from twofold.oidc import explanations

from .conftest import password_step

pytestmark = pytest.mark.django_db


def _broken_request(client: Client, web_flow) -> str:
    """A redirect_uri the application didn't register: no client to answer, so a page."""
    password_step(client, "bob@contoso.example")
    response = client.get(web_flow.url(redirect_uri="https://elsewhere.example/cb"))
    assert response.status_code == 400
    return response.content.decode()


def test_the_error_page_in_chinese_explains_the_code_in_chinese(bob, web_flow) -> None:
    page = _broken_request(Client(HTTP_ACCEPT_LANGUAGE="zh-Hans"), web_flow)
    assert "该应用的登录请求不完整或格式有误。" in page
    assert "invalid_request" in page


def test_the_error_page_in_english_explains_the_code_in_english(bob, web_flow) -> None:
    page = _broken_request(Client(HTTP_ACCEPT_LANGUAGE="en"), web_flow)
    assert "The application&#x27;s sign-in request is incomplete or malformed." in page


def test_the_protocols_own_description_is_labelled_for_the_applications_owner(
    bob, web_flow
) -> None:
    page = _broken_request(Client(HTTP_ACCEPT_LANGUAGE="zh-Hans"), web_flow)
    assert '<dt>技术详情（供应用的所有者参考）</dt><dd class="mono" lang="en">' in page


def test_an_unknown_code_gets_a_general_explanation() -> None:
    general = "The application asked for something that twofold can't do."
    assert explanations.explain("made_up_error") == general


@pytest.mark.parametrize("code", ["invalid_client", "access_denied", "login_required"])
def test_known_codes_have_their_own_explanation(code: str) -> None:
    assert explanations.explain(code) != explanations.explain("made_up_error")
