"""The authorization code flow with PKCE, through the pages and the token endpoint."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client

from conftest import after_first_method
from twofold.accounts.models import MfaState
from twofold.oidc.claims import ACR_MFA, ACR_PWD

from .conftest import (
    add_app,
    add_hardware_token,
    follow_to_code,
    password_step,
    sign_in_with_app,
    sign_in_with_hardware_token,
    sign_in_with_text,
    tokens_for,
    verified_claims,
)

pytestmark = pytest.mark.django_db


def error_of(response) -> dict[str, list[str]]:
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)


class TestSigningIn:
    def test_a_signed_out_user_is_sent_to_twofolds_sign_in_then_back_through_continue(
        self, client, web_flow
    ) -> None:
        response = client.get(web_flow.url())
        location = urlsplit(response["Location"])
        assert location.path == "/signin"
        back = parse_qs(location.query)["next"][0]
        assert back.startswith("/oauth2/authorize/continue?")
        assert f"client_id={web_flow.app.client_id}" in back

    def test_the_continue_page_moves_on_by_meta_refresh_not_by_a_redirect(
        self, client, web_flow
    ) -> None:
        query = web_flow.url().partition("?")[2]
        response = client.get(f"/oauth2/authorize/continue?{query}")
        assert response.status_code == 200
        refresh = '<meta http-equiv="refresh" content="0; url=/oauth2/authorize?'
        assert refresh in response.content.decode()

    def test_after_the_password_and_a_texted_code_the_user_lands_back_at_the_application(
        self, client, alice, outbox, web_flow
    ) -> None:
        client.get(client.get(web_flow.url())["Location"])  # the sign-in page, with next
        password_step(client, "alice@contoso.example")
        back = client.post("/signin/verify", {"code": outbox.last_code()})["Location"]
        assert back.startswith("/oauth2/authorize/continue?")
        assert client.get(back).status_code == 200
        assert web_flow.code_from(client.get(web_flow.url()))

    def test_a_newcomer_who_registers_at_sign_in_lands_back_at_the_application(
        self, client, make_user, outbox, web_flow
    ) -> None:
        make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)
        client.get(client.get(web_flow.url())["Location"])  # the sign-in page, with next
        password_step(client, "carol@contoso.example")
        client.post(
            "/account/security-verification/phone/add",
            {"country": "US", "number": "425 555 0134", "mode": "text"},
        )
        back = client.post(
            "/account/security-verification/phone/add/verify", {"code": outbox.last_code()}
        )
        assert after_first_method(back["Location"]).startswith("/oauth2/authorize/continue?")
        assert web_flow.code_from(client.get(web_flow.url()))


class TestIdToken:
    def test_a_texted_code_gives_amr_pwd_sms_and_acr_mfa(
        self, client, alice, outbox, web_flow
    ) -> None:
        sign_in_with_text(client, outbox)
        claims = verified_claims(client, tokens_for(client, web_flow)["id_token"], web_flow)
        assert claims["amr"] == ["pwd", "mfa", "sms"]
        assert claims["acr"] == ACR_MFA

    def test_an_app_code_gives_amr_pwd_otp(self, client, alice, web_flow) -> None:
        sign_in_with_app(client, add_app(alice))
        claims = verified_claims(client, tokens_for(client, web_flow)["id_token"], web_flow)
        assert claims["amr"] == ["pwd", "mfa", "otp"]
        assert claims["acr"] == ACR_MFA

    def test_a_hardware_token_code_gives_amr_pwd_mfa_hwk(
        self, client, alice, admin, web_flow
    ) -> None:
        sign_in_with_hardware_token(client, add_hardware_token(alice, admin))
        claims = verified_claims(client, tokens_for(client, web_flow)["id_token"], web_flow)
        assert claims["amr"] == ["pwd", "mfa", "hwk"]
        assert claims["acr"] == ACR_MFA

    def test_a_recovery_code_counts_as_a_second_factor(self, client, alice, web_flow) -> None:
        # The second factors are the methods' catalogue's amr values: a method added later
        # (recovery codes) earns acr mfa without an edit in oidc/.
        from twofold.methods.recovery import services as recovery_codes

        code = recovery_codes.make_set(alice)[0]
        password_step(client, "alice@contoso.example")
        client.post("/signin/verify/start", {"option": "recovery_code"})
        assert client.post("/signin/verify", {"code": code})["Location"] == "/account"
        claims = verified_claims(client, tokens_for(client, web_flow)["id_token"], web_flow)
        assert claims["amr"] == ["pwd", "mfa", "recovery_code"]
        assert claims["acr"] == ACR_MFA

    def test_the_password_alone_gives_acr_pwd(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        claims = verified_claims(client, tokens_for(client, web_flow)["id_token"], web_flow)
        assert claims["amr"] == ["pwd"]
        assert claims["acr"] == ACR_PWD

    def test_it_names_the_user_and_their_organisation(
        self, client, alice, outbox, web_flow
    ) -> None:
        sign_in_with_text(client, outbox)
        claims = verified_claims(client, tokens_for(client, web_flow)["id_token"], web_flow)
        assert claims["sub"] == str(alice.pk)
        assert claims["preferred_username"] == "alice@contoso.example"
        assert claims["name"] == "Alice Example"
        assert claims["email"] == "alice@contoso.example"
        assert claims["organisation"] == "contoso"
        assert claims["iss"] == settings.TWOFOLD_BASE_URL


class TestPkce:
    def test_a_public_client_without_pkce_is_refused(self, client, bob, spa_flow) -> None:
        password_step(client, "bob@contoso.example")
        response = client.get(spa_flow.url(code_challenge=None, code_challenge_method=None))
        assert error_of(response)["error"] == ["invalid_request"]

    def test_a_plain_pkce_challenge_is_refused(self, client, bob, spa_flow) -> None:
        password_step(client, "bob@contoso.example")
        response = client.get(spa_flow.url(code_challenge_method="plain"))
        assert "code" not in error_of(response)

    def test_a_wrong_code_verifier_gets_no_tokens(self, client, bob, spa_flow) -> None:
        password_step(client, "bob@contoso.example")
        code = follow_to_code(client, spa_flow)
        response = spa_flow.token(Client(), code, code_verifier="x" * 50)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"

    def test_a_public_client_with_pkce_gets_tokens_without_a_secret(
        self, client, bob, spa_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        assert "id_token" in tokens_for(client, spa_flow)

    def test_a_confidential_client_needs_its_secret(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        code = follow_to_code(client, web_flow)
        response = web_flow.token(Client(), code, client_secret="not-the-secret")
        assert response.status_code == 401

    def test_a_code_is_exchanged_once(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        code = follow_to_code(client, web_flow)
        assert web_flow.token(Client(), code).status_code == 200
        assert web_flow.token(Client(), code).status_code == 400


class TestRequests:
    def test_an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        response = client.get(web_flow.url(redirect_uri="https://evil.example/callback"))
        assert response.status_code == 400
        assert "This sign-in request isn't valid" in response.content.decode()

    def test_a_scope_the_application_may_not_ask_for_is_refused(
        self, client, bob, web_app, web_flow
    ) -> None:
        web_app.application.allowed_scopes = ["openid"]
        web_app.application.save()
        password_step(client, "bob@contoso.example")
        assert error_of(client.get(web_flow.url()))["error"] == ["invalid_scope"]


class TestOtherOrganisations:
    @pytest.fixture
    def fabrikam_user(self, make_user, other_organisation):
        return make_user("frank@fabrikam.example", organisation=other_organisation)

    def test_a_user_of_another_organisation_gets_an_error_page_and_no_code(
        self, client, fabrikam_user, web_flow
    ) -> None:
        password_step(client, "frank@fabrikam.example")
        response = client.get(web_flow.url())
        assert response.status_code == 403
        page = response.content.decode()
        assert "You can't sign in to this application" in page
        assert "Contoso Expenses" in page
        assert "code=" not in response.get("Location", "")

    def test_a_code_is_not_exchanged_for_a_user_the_application_may_not_have(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        code = follow_to_code(client, web_flow)
        bob.is_blocked = True
        bob.save()
        assert web_flow.token(Client(), code).status_code == 400
