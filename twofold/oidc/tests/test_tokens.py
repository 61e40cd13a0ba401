"""Refresh tokens, userinfo, revocation, and what is kept of tokens at rest."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken

from twofold.audit.models import AuditAction, AuditEvent
from twofold.oidc.claims import ACR_MFA

from .conftest import (
    follow_to_code,
    password_step,
    sign_in_with_text,
    tokens_for,
    verified_claims,
)

pytestmark = pytest.mark.django_db


def refresh(flow, refresh_token: str):
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": flow.app.client_id,
        "client_secret": flow.app.secret,
    }
    return Client().post("/oauth2/token", data)


def userinfo(access_token: str):
    return Client().get("/oauth2/userinfo", HTTP_AUTHORIZATION=f"Bearer {access_token}")


class TestRefresh:
    def test_a_refreshed_id_token_keeps_amr_acr_and_auth_time(
        self, client, alice, outbox, web_flow
    ) -> None:
        sign_in_with_text(client, outbox)
        first = tokens_for(client, web_flow)
        second = refresh(web_flow, first["refresh_token"]).json()
        before = verified_claims(client, first["id_token"], web_flow)
        after = verified_claims(client, second["id_token"], web_flow, refreshed=True)
        assert after["amr"] == ["pwd", "mfa", "sms"]
        assert after["acr"] == ACR_MFA
        assert after["auth_time"] == before["auth_time"]
        assert after["jti"] != before["jti"]

    def test_refresh_tokens_rotate_and_a_replayed_one_ends_the_whole_family(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        first = tokens_for(client, web_flow)
        second = refresh(web_flow, first["refresh_token"]).json()
        assert refresh(web_flow, first["refresh_token"]).status_code == 400
        assert refresh(web_flow, second["refresh_token"]).status_code == 400

    def test_a_blocked_user_can_no_longer_refresh(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        tokens = tokens_for(client, web_flow)
        bob.is_blocked = True
        bob.save()
        assert refresh(web_flow, tokens["refresh_token"]).status_code == 400


class TestUserinfo:
    def test_it_answers_the_users_claims_for_the_granted_scopes(
        self, client, alice, outbox, web_flow
    ) -> None:
        sign_in_with_text(client, outbox)
        access_token = tokens_for(client, web_flow, scope="openid email")["access_token"]
        claims = userinfo(access_token).json()
        assert claims == {
            "sub": str(alice.pk),
            "email": "alice@contoso.example",
            "organisation": "contoso",
            "organisation_name": "Contoso",
        }

    def test_it_never_tells_how_the_user_signed_in(self, client, alice, outbox, web_flow) -> None:
        sign_in_with_text(client, outbox)
        claims = userinfo(tokens_for(client, web_flow)["access_token"]).json()
        assert not {"amr", "acr", "auth_time"} & set(claims)

    def test_a_blocked_users_access_token_stops_working(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        access_token = tokens_for(client, web_flow)["access_token"]
        assert userinfo(access_token).status_code == 200
        bob.is_blocked = True
        bob.save()
        assert userinfo(access_token).status_code in (401, 403)

    def test_an_access_token_in_the_query_string_is_refused(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        access_token = tokens_for(client, web_flow)["access_token"]
        assert Client().get(f"/oauth2/userinfo?access_token={access_token}").status_code != 200


class TestAReplayedCode:
    """RFC 6749 section 4.1.2: a code presented twice ends the tokens issued from it."""

    @pytest.fixture
    def replayed(self, client, bob, web_flow) -> dict:
        password_step(client, "bob@contoso.example")
        code = follow_to_code(client, web_flow)
        tokens = web_flow.token(Client(), code).json()
        assert userinfo(tokens["access_token"]).status_code == 200
        assert web_flow.token(Client(), code).status_code == 400
        return tokens

    def test_the_first_access_token_no_longer_answers_at_userinfo(self, replayed) -> None:
        assert userinfo(replayed["access_token"]).status_code == 401

    def test_the_refresh_token_is_refused(self, replayed, web_flow) -> None:
        assert refresh(web_flow, replayed["refresh_token"]).status_code == 400

    def test_the_id_token_record_expires(self, replayed) -> None:
        assert not IDToken.objects.filter(expires__gt=timezone.now()).exists()

    def test_tokens_refreshed_from_it_end_too(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        code = follow_to_code(client, web_flow)
        first = web_flow.token(Client(), code).json()
        second = refresh(web_flow, first["refresh_token"]).json()
        web_flow.token(Client(), code)
        assert userinfo(second["access_token"]).status_code == 401
        assert refresh(web_flow, second["refresh_token"]).status_code == 400

    def test_it_is_audited_once(self, replayed, bob) -> None:
        events = AuditEvent.objects.filter(subject=bob, action=AuditAction.TOKEN_REQUEST_REFUSED)
        assert [event.details["reason"] for event in events] == [
            "authorization code used again: its tokens were revoked"
        ]

    def test_other_sign_ins_tokens_live_on(self, client, bob, web_flow, replayed) -> None:
        other = tokens_for(client, web_flow)
        assert userinfo(other["access_token"]).status_code == 200
        assert refresh(web_flow, other["refresh_token"]).status_code == 200

    def test_an_expired_unexchanged_code_ends_no_tokens(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        tokens = tokens_for(client, web_flow)
        code = follow_to_code(client, web_flow)
        Grant.objects.filter(expires__gt=timezone.now()).update(expires=timezone.now())
        assert web_flow.token(Client(), code).status_code == 400
        assert userinfo(tokens["access_token"]).status_code == 200


class TestAtRest:
    def test_access_and_refresh_tokens_are_kept_only_as_digests(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        tokens = tokens_for(client, web_flow)
        access = AccessToken.objects.get()
        assert access.token == ""
        assert access.token_checksum == hashlib.sha256(tokens["access_token"].encode()).hexdigest()
        assert RefreshToken.objects.get().token == ""

    def test_revoking_the_refresh_token_ends_it(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        tokens = tokens_for(client, web_flow)
        data = {
            "token": tokens["refresh_token"],
            "client_id": web_flow.app.client_id,
            "client_secret": web_flow.app.secret,
        }
        assert Client().post("/oauth2/revoke", data).status_code == 200
        assert refresh(web_flow, tokens["refresh_token"]).status_code == 400
        assert IDToken.objects.count() == 1
