"""Demanding more than a signed-in user: acr_values, max_age and prompt.

A trusted device ("don't ask again") skips the second factor at sign-in only: an
application that asks for urn:twofold:mfa sends such a session to confirm it's them.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from twofold.accounts import middleware as session_lifetime
from twofold.accounts.models import User
from twofold.methods.resets import access_code, require_reregistration
from twofold.oidc.claims import ACR_MFA, ACR_PWD

from .conftest import (
    add_app,
    follow_to_code,
    password_step,
    sign_in_with_app,
    sign_in_with_text,
    step_up_with_text,
    tokens_for,
    trusted_browser,
    verified_claims,
)

pytestmark = pytest.mark.django_db
MFA = {"acr_values": ACR_MFA}


def step_up_next(response) -> str:
    """Where the step-up page will send the user back to (asserting it is the step-up)."""
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/account/verify", response["Location"]
    return parse_qs(location.query)["next"][0]


def age_the_sign_in(client: Client, seconds: int) -> None:
    session = client.session
    started, idle, absolute = session[session_lifetime.LIFETIME]
    session[session_lifetime.LIFETIME] = (started - seconds, idle, absolute)
    session.save()


class TestAcrValues:
    def test_a_trusted_device_session_is_sent_to_confirm_its_you(
        self, alice, outbox, web_flow
    ) -> None:
        client = trusted_browser(outbox)
        back = step_up_next(client.get(web_flow.url(**MFA)))
        assert back.startswith("/oauth2/authorize/continue?")

    def test_the_confirm_page_says_the_application_asks_not_a_settings_change(
        self, alice, outbox, web_flow
    ) -> None:
        client = trusted_browser(outbox)
        page = client.get(client.get(web_flow.url(**MFA))["Location"]).content.decode()
        assert "The application you&#x27;re signing in to asks for a second factor." in page
        assert "Before you change your security settings" not in page
        settings_step_up = client.get("/account/verify?next=/account/security-verification")
        assert "Before you change your security settings" in settings_step_up.content.decode()

    def test_without_acr_values_a_trusted_device_session_gets_acr_pwd(
        self, alice, outbox, web_flow
    ) -> None:
        client = trusted_browser(outbox)
        claims = verified_claims(client, tokens_for(client, web_flow)["id_token"], web_flow)
        assert claims["acr"] == ACR_PWD
        assert claims["amr"] == ["pwd", "mfa"]

    def test_after_confirming_with_a_texted_code_the_id_token_says_mfa_and_sms(
        self, alice, outbox, web_flow
    ) -> None:
        client = trusted_browser(outbox)
        client.get(web_flow.url(**MFA))
        step_up_with_text(client, outbox)
        claims = verified_claims(client, tokens_for(client, web_flow, **MFA)["id_token"], web_flow)
        assert claims["acr"] == ACR_MFA
        assert claims["amr"] == ["pwd", "mfa", "sms"]

    def test_the_step_up_page_leads_back_to_the_continue_page(
        self, alice, outbox, web_flow
    ) -> None:
        client = trusted_browser(outbox)
        response = client.get(web_flow.url(**MFA))
        back = step_up_next(response)
        client.get(response["Location"])
        client.post("/account/verify/start", {"option": "text:authentication"})
        response = client.post("/account/verify", {"code": outbox.last_code()})
        assert response["Location"] == back

    def test_a_session_that_used_a_second_factor_is_not_asked_again(
        self, client, alice, outbox, web_flow
    ) -> None:
        sign_in_with_text(client, outbox)
        assert follow_to_code(client, web_flow, **MFA)

    def test_the_essential_acr_claim_demands_it_too(self, alice, outbox, web_flow) -> None:
        client = trusted_browser(outbox)
        essential = json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_MFA]}}})
        step_up_next(client.get(web_flow.url(claims=essential)))

    def test_a_step_up_from_before_this_request_does_not_count(
        self, alice, outbox, web_flow
    ) -> None:
        client = trusted_browser(outbox)
        step_up_with_text(client, outbox)  # on the settings page, say, not for this request
        step_up_next(client.get(web_flow.url(**MFA)))

    def test_a_user_with_nothing_to_verify_with_gets_an_error_at_the_application(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        response = client.get(web_flow.url(**MFA))
        query = parse_qs(urlsplit(response["Location"]).query)
        assert response["Location"].startswith(web_flow.redirect_uri)
        assert query["error"] == ["unmet_authentication_requirements"]
        assert query["state"] == [web_flow.state]

    def test_the_step_up_page_passed_without_a_factor_earns_no_mfa(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        client.get(web_flow.url(**MFA))
        client.get("/account/verify")  # with nothing to verify with, it just lets him through
        query = parse_qs(urlsplit(client.get(web_flow.url(**MFA))["Location"]).query)
        assert query["error"] == ["unmet_authentication_requirements"]

    def test_prompt_none_answers_interaction_required_instead_of_asking(
        self, alice, outbox, web_flow
    ) -> None:
        client = trusted_browser(outbox)
        response = client.get(web_flow.url(prompt="none", **MFA))
        assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["interaction_required"]


class TestMaxAge:
    def test_a_sign_in_older_than_max_age_is_confirmed_again_and_auth_time_moves(
        self, client, alice, outbox, web_flow
    ) -> None:
        sign_in_with_text(client, outbox)
        age_the_sign_in(client, 600)
        step_up_next(client.get(web_flow.url(max_age="300")))
        confirming_from = int(time.time())  # auth_time is in whole seconds
        step_up_with_text(client, outbox)
        id_token = tokens_for(client, web_flow, max_age="300")["id_token"]
        auth_time = verified_claims(client, id_token, web_flow)["auth_time"]
        assert confirming_from <= auth_time <= time.time()  # the step-up's, however slow

    def test_a_sign_in_within_max_age_is_not_asked_again_and_keeps_its_auth_time(
        self, client, alice, outbox, web_flow
    ) -> None:
        sign_in_with_text(client, outbox)
        age_the_sign_in(client, 100)
        signed_in_at = int(client.session[session_lifetime.LIFETIME][0])  # 100 s ago
        id_token = tokens_for(client, web_flow, max_age="300")["id_token"]
        # Exactly the sign-in's time (not "about now": a loaded machine is slow).
        assert verified_claims(client, id_token, web_flow)["auth_time"] == signed_in_at

    def test_max_age_zero_is_met_by_the_confirmation_it_asked_for(
        self, client, alice, outbox, web_flow
    ) -> None:
        sign_in_with_text(client, outbox)
        step_up_next(client.get(web_flow.url(max_age="0")))
        step_up_with_text(client, outbox)
        assert follow_to_code(client, web_flow, max_age="0")

    def test_prompt_login_asks_again_even_right_after_signing_in(
        self, client, alice, web_flow
    ) -> None:
        sign_in_with_app(client, add_app(alice))
        step_up_next(client.get(web_flow.url(prompt="login")))

    def test_a_user_with_nothing_to_verify_with_signs_in_again_with_the_password(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        age_the_sign_in(client, 600)
        response = client.get(web_flow.url(max_age="60"))
        assert urlsplit(response["Location"]).path == "/signin"
        assert "_auth_user_id" not in client.session
        password_step(client, "bob@contoso.example")
        assert follow_to_code(client, web_flow, max_age="60")

    def test_a_malformed_max_age_is_an_error_at_the_application(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        query = parse_qs(urlsplit(client.get(web_flow.url(max_age="soon"))["Location"]).query)
        assert query["error"] == ["invalid_request"]

    def test_prompt_none_when_signed_out_answers_login_required(self, client, web_flow) -> None:
        response = client.get(web_flow.url(prompt="none"))
        assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["login_required"]


class TestAfterAnAdministratorsReset:
    """An administrator asked the person to register again while they were signed in: an
    application demanding a second factor sends them to sign in again, where they register
    with the access code, and back to the application (not an error at the application)."""

    def test_the_person_registers_at_sign_in_and_returns_to_the_application(
        self, alice, outbox, web_flow
    ) -> None:
        client = trusted_browser(outbox)  # signed in on the password: no second factor yet
        _count, nonce = require_reregistration(User.objects.filter(pk=alice.pk))
        response = client.get(web_flow.url(**MFA))
        assert response.status_code == 302
        signin = urlsplit(response["Location"])
        assert signin.path == "/signin"
        assert parse_qs(signin.query)["next"][0].startswith("/oauth2/authorize/continue?")
        assert "_auth_user_id" not in client.session
        client.get(response["Location"])
        password_step(client, "alice@contoso.example")
        client.post("/signin/register", {"code": access_code(alice.pk, nonce)})
        client.post(
            "/account/security-verification/phone/add",
            {"country": "US", "number": "425 555 0134", "mode": "text"},
        )
        back = client.post(
            "/account/security-verification/phone/add/verify", {"code": outbox.last_code()}
        )
        assert back["Location"].startswith("/oauth2/authorize/continue?")
        assert client.get(back["Location"]).status_code == 200  # moves on to authorize
        tokens = tokens_for(client, web_flow, **MFA)
        assert verified_claims(client, tokens["id_token"], web_flow)["acr"] == ACR_MFA

    def test_the_settings_pages_step_up_sends_them_to_sign_in_and_back(self, alice, outbox) -> None:
        client = Client()
        sign_in_with_text(client, outbox)
        require_reregistration(User.objects.filter(pk=alice.pk))
        response = client.get("/account/verify?next=/account/security-verification")
        assert response["Location"] == "/signin?next=/account/security-verification"
        assert "_auth_user_id" not in client.session
        page = client.get(response["Location"]).content.decode()
        assert "enter the access code they gave you" in page
