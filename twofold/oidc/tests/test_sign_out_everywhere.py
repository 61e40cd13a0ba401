"""Signing out everywhere ends what applications hold too: tokens stop working at once."""

from __future__ import annotations

import pytest
from django.test import Client

from twofold.accounts import services as accounts

from .conftest import follow_to_code, password_step, tokens_for
from .test_tokens import refresh, userinfo

pytestmark = pytest.mark.django_db


def test_an_applications_tokens_stop_working_when_the_user_signs_out_everywhere(
    client, bob, web_flow
) -> None:
    password_step(client, "bob@contoso.example")
    tokens = tokens_for(client, web_flow)
    assert userinfo(tokens["access_token"]).status_code == 200
    accounts.sign_out_everywhere(bob)
    assert userinfo(tokens["access_token"]).status_code == 401
    assert refresh(web_flow, tokens["refresh_token"]).status_code == 400


def test_another_users_tokens_are_left_alone(client, alice, bob, web_flow) -> None:
    password_step(client, "bob@contoso.example")
    tokens = tokens_for(client, web_flow)
    accounts.sign_out_everywhere(alice)
    assert userinfo(tokens["access_token"]).status_code == 200


def test_an_authorization_code_not_yet_exchanged_is_void(client, bob, web_flow) -> None:
    password_step(client, "bob@contoso.example")
    code = follow_to_code(client, web_flow)
    accounts.sign_out_everywhere(bob)
    assert web_flow.token(Client(), code).status_code == 400
