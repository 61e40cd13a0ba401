"""Every answer the authorization endpoint sends back to the client carries ``iss``.

RFC 9207: the client checks that the answer comes from the issuer it asked, against
mix-up attacks; discovery promises the parameter. It must be on the code and on every
error, whoever found the error: twofold's view, django-oauth-toolkit or oauthlib.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from twofold.oidc.claims import ACR_MFA

from .conftest import SPA_CALLBACK, WEB_CALLBACK, password_step

pytestmark = pytest.mark.django_db


def issuer_of_discovery() -> str:
    document = Client().get("/.well-known/openid-configuration").json()
    assert document["authorization_response_iss_parameter_supported"] is True
    return document["issuer"]


def answer_of(response, redirect_uri: str) -> dict[str, list[str]]:
    """The parameters of a redirect to the client, wherever they are (query or fragment)."""
    assert response.status_code == 302, response
    location = response["Location"]
    assert location.startswith(redirect_uri), location
    parts = urlsplit(location)
    return parse_qs(parts.query) | parse_qs(parts.fragment)


# Errors for a signed-in user; (parameters changed, the error the client gets).
SIGNED_IN_ERRORS = {
    "no response_type": ({"response_type": None}, "invalid_request"),
    "response_type token": ({"response_type": "token"}, "unsupported_response_type"),
    "response_type id_token": ({"response_type": "id_token"}, "unsupported_response_type"),
    "response_type code token": ({"response_type": "code token"}, "unsupported_response_type"),
    "response_type code id_token": (
        {"response_type": "code id_token"},
        "unsupported_response_type",
    ),
    "response_type none": ({"response_type": "none"}, "unsupported_response_type"),
    "response_type unknown": ({"response_type": "bogus"}, "unsupported_response_type"),
    "a scope the application may not ask for": (
        {"scope": "openid admin"},
        "invalid_scope",
    ),
    "an unknown code_challenge_method": (
        {"code_challenge_method": "S512"},
        "invalid_request",
    ),
    "prompt=none with another prompt": ({"prompt": "none login"}, "invalid_request"),
    "a malformed max_age": ({"max_age": "soon"}, "invalid_request"),
    "prompt=none with a second factor to prove": (
        {"prompt": "none", "acr_values": ACR_MFA},
        "interaction_required",
    ),
    "a request object": ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    "a request_uri": (
        {"request_uri": "https://app.contoso.example/request.jwt"},
        "request_uri_not_supported",
    ),
    "a second factor bob has no method for": (
        {"acr_values": ACR_MFA},
        "unmet_authentication_requirements",
    ),
}


class TestErrors:
    @pytest.mark.parametrize("case", SIGNED_IN_ERRORS)
    def test_every_error_for_a_signed_in_user_carries_the_issuer(
        self, client, bob, web_flow, case
    ) -> None:
        changed, error = SIGNED_IN_ERRORS[case]
        password_step(client, "bob@contoso.example")
        answer = answer_of(client.get(web_flow.url(**changed)), WEB_CALLBACK)
        assert (answer["error"], answer["iss"]) == ([error], [issuer_of_discovery()])

    @pytest.mark.parametrize(
        "changed",
        [
            {"code_challenge": None, "code_challenge_method": None},
            {"code_challenge_method": "plain"},
        ],
        ids=["no PKCE", "plain PKCE"],
    )
    def test_a_public_clients_pkce_refusal_carries_the_issuer(
        self, client, bob, spa_flow, changed
    ) -> None:
        password_step(client, "bob@contoso.example")
        answer = answer_of(client.get(spa_flow.url(**changed)), SPA_CALLBACK)
        assert (answer["error"], answer["iss"]) == (["invalid_request"], [issuer_of_discovery()])

    def test_prompt_none_without_a_session_carries_the_issuer(self, client, web_flow) -> None:
        answer = answer_of(client.get(web_flow.url(prompt="none")), WEB_CALLBACK)
        assert (answer["error"], answer["iss"]) == (["login_required"], [issuer_of_discovery()])

    def test_prompt_none_without_a_session_and_a_bad_request_carries_the_issuer(
        self, client, web_flow
    ) -> None:
        answer = answer_of(
            client.get(web_flow.url(prompt="none", response_type="token")), WEB_CALLBACK
        )
        assert (answer["error"], answer["iss"]) == (
            ["unsupported_response_type"],
            [issuer_of_discovery()],
        )

    def test_an_error_keeps_the_clients_state(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        answer = answer_of(client.get(web_flow.url(response_type="token")), WEB_CALLBACK)
        assert answer["state"] == [web_flow.state]


class TestSuccess:
    def test_the_code_carries_the_issuer_once(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        answer = answer_of(client.get(web_flow.url()), WEB_CALLBACK)
        assert (len(answer["code"]), answer["iss"]) == (1, [issuer_of_discovery()])

    def test_an_unknown_prompt_value_still_gets_the_issuer(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        answer = answer_of(client.get(web_flow.url(prompt="bogus")), WEB_CALLBACK)
        assert answer["iss"] == [issuer_of_discovery()]

    def test_a_fragment_answer_has_its_issuer_beside_the_code(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        response = client.get(web_flow.url(response_mode="fragment"))
        assert response.status_code == 302
        fragment = parse_qs(urlsplit(response["Location"]).fragment)
        assert (len(fragment["code"]), fragment["iss"]) == (1, [issuer_of_discovery()])
