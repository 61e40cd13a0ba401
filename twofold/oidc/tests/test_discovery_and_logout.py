"""Discovery, the signing keys and their rotation, and RP-initiated logout."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.test import Client
from joserfc import jwt
from joserfc.jwk import KeySet
from oauth2_provider.models import RefreshToken

from twofold.audit.models import AuditAction, AuditEvent
from twofold.config import _new_oidc_key
from twofold.oidc.claims import ACR_MFA, ACR_PHR, ACR_PWD

from .conftest import WEB_SIGNED_OUT, password_step, tokens_for

pytestmark = pytest.mark.django_db


def discovery(client: Client) -> dict:
    return client.get("/.well-known/openid-configuration").json()


def jwks(client: Client) -> dict:
    return json.loads(client.get("/.well-known/jwks.json").content)


class TestDiscovery:
    def test_it_publishes_the_acr_values_and_the_sign_in_claims(self, client) -> None:
        document = discovery(client)
        assert document["acr_values_supported"] == [ACR_PHR, ACR_MFA, ACR_PWD]
        assert {"acr", "amr", "auth_time", "organisation"} <= set(document["claims_supported"])

    def test_it_offers_the_code_flow_with_s256_pkce_and_rs256_only(self, client) -> None:
        document = discovery(client)
        assert document["response_types_supported"] == ["code"]
        assert document["code_challenge_methods_supported"] == ["S256"]
        assert document["id_token_signing_alg_values_supported"] == ["RS256"]
        assert document["grant_types_supported"] == ["authorization_code", "refresh_token"]

    def test_it_says_request_objects_are_not_supported(self, client) -> None:
        # Discovery's defaults are request: false, request_uri: TRUE; say both outright.
        document = discovery(client)
        assert (
            document["request_parameter_supported"],
            document["request_uri_parameter_supported"],
        ) == (False, False)

    def test_its_endpoints_hang_off_the_issuer(self, client) -> None:
        document = discovery(client)
        issuer = django_settings.TWOFOLD_BASE_URL
        assert document["issuer"] == issuer
        assert document["authorization_endpoint"] == f"{issuer}/oauth2/authorize"
        assert document["token_endpoint"] == f"{issuer}/oauth2/token"
        assert document["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
        assert document["end_session_endpoint"] == f"{issuer}/oauth2/logout"


class TestKeyRotation:
    @pytest.fixture
    def old_and_new(self, settings) -> tuple[str, str]:
        return settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"], _new_oidc_key()

    @staticmethod
    def rotate(settings, new: str, old: str) -> None:
        settings.OAUTH2_PROVIDER = {
            **settings.OAUTH2_PROVIDER,
            "OIDC_RSA_PRIVATE_KEY": new,
            "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [old],
        }

    def test_the_jwks_keeps_the_rotated_key_beside_the_new_one(
        self, client, settings, old_and_new
    ) -> None:
        before = {key["kid"] for key in jwks(client)["keys"]}
        self.rotate(settings, old_and_new[1], old_and_new[0])
        after = [key["kid"] for key in jwks(client)["keys"]]
        assert len(after) == 2
        assert before < set(after)
        assert all(key.get("d") is None for key in jwks(client)["keys"])

    def test_new_id_tokens_are_signed_with_the_first_key(
        self, client, settings, bob, web_flow, old_and_new
    ) -> None:
        self.rotate(settings, old_and_new[1], old_and_new[0])
        password_step(client, "bob@contoso.example")
        id_token = tokens_for(client, web_flow)["id_token"]
        header = jwt.decode(id_token, KeySet.import_key_set(jwks(client))).header
        assert header["kid"] == jwks(client)["keys"][0]["kid"]

    def test_an_id_token_from_before_the_rotation_still_verifies(
        self, client, settings, bob, web_flow, old_and_new
    ) -> None:
        password_step(client, "bob@contoso.example")
        id_token = tokens_for(client, web_flow)["id_token"]
        self.rotate(settings, old_and_new[1], old_and_new[0])
        assert jwt.decode(id_token, KeySet.import_key_set(jwks(client))).claims["sub"]

    def test_a_logout_hint_signed_before_the_rotation_is_still_accepted(
        self, client, settings, bob, web_flow, old_and_new
    ) -> None:
        password_step(client, "bob@contoso.example")
        id_token = tokens_for(client, web_flow)["id_token"]
        self.rotate(settings, old_and_new[1], old_and_new[0])
        response = client.get(
            "/oauth2/logout",
            {"id_token_hint": id_token, "post_logout_redirect_uri": WEB_SIGNED_OUT},
        )
        assert response["Location"] == WEB_SIGNED_OUT


class TestLogout:
    def test_with_its_id_token_the_application_signs_the_user_out_and_gets_them_back(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        id_token = tokens_for(client, web_flow)["id_token"]
        response = client.get(
            "/oauth2/logout",
            {"id_token_hint": id_token, "post_logout_redirect_uri": WEB_SIGNED_OUT, "state": "s1"},
        )
        assert response.status_code == 302
        assert urlsplit(response["Location"])._replace(query="").geturl() == WEB_SIGNED_OUT
        assert parse_qs(urlsplit(response["Location"]).query)["state"] == ["s1"]
        assert "_auth_user_id" not in client.session

    def test_without_an_address_to_return_to_the_user_lands_on_twofolds_start_page(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        id_token = tokens_for(client, web_flow)["id_token"]
        response = client.get("/oauth2/logout", {"id_token_hint": id_token})
        assert response.status_code == 302
        assert response["Location"] == "http://testserver/"
        assert "_auth_user_id" not in client.session

    def test_signing_out_is_audited_and_ends_the_users_refresh_tokens(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        id_token = tokens_for(client, web_flow)["id_token"]
        client.get("/oauth2/logout", {"id_token_hint": id_token})
        assert AuditEvent.objects.filter(action=AuditAction.SIGNOUT, subject=bob).exists()
        assert not RefreshToken.objects.filter(revoked__isnull=True).exists()

    def test_an_unregistered_address_to_return_to_is_refused(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        id_token = tokens_for(client, web_flow)["id_token"]
        response = client.get(
            "/oauth2/logout",
            {"id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/"},
        )
        assert response.status_code == 400
        assert "_auth_user_id" in client.session

    def test_without_a_hint_the_user_is_asked_on_a_page_whose_form_may_lead_back(
        self, client, bob, web_app
    ) -> None:
        password_step(client, "bob@contoso.example")
        params = {"client_id": web_app.client_id, "post_logout_redirect_uri": WEB_SIGNED_OUT}
        page = client.get("/oauth2/logout", params)
        assert page.status_code == 200
        assert "Sign out?" in page.content.decode()
        assert "form-action 'self' https://app.contoso.example;" in page["Content-Security-Policy"]
        assert "_auth_user_id" in client.session

        answer = client.post("/oauth2/logout", params | {"allow": "on"})
        assert answer["Location"] == WEB_SIGNED_OUT
        assert "_auth_user_id" not in client.session

    def test_other_pages_keep_form_action_self_only(self, client) -> None:
        csp = client.get("/signin")["Content-Security-Policy"]
        assert "form-action 'self';" in csp
