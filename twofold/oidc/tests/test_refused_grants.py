"""Only the code flow (and its refresh tokens) runs: every other grant and response type is
refused before any credential is looked at, with one answer whatever the credentials, and
refused token requests are audited, at most so often per address (docs/security.md 30)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_plus

import pytest
from django.contrib.auth.signals import user_login_failed
from django.forms.models import model_to_dict
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.oidc.validators import TwofoldValidator

from .conftest import WEB_CALLBACK, password_step, tokens_for

pytestmark = pytest.mark.django_db

APPLICATION_KINDS = ["spa", "web_app"]  # public, confidential
WRONG_PASSWORD = "a guess that is not it"
UNSUPPORTED_GRANTS = [
    "password",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "implicit",
    "something-else",
]


@pytest.fixture(params=APPLICATION_KINDS)
def app(request):
    return request.getfixturevalue(request.param)


def token_request(app, grant_type: str, *, secret: str | None = None, **extra: str):
    data = {"grant_type": grant_type, "client_id": app.client_id} | extra
    if app.secret:
        data["client_secret"] = app.secret if secret is None else secret
    return Client().post("/oauth2/token", data)


def basic_request(app, grant_type: str, secret: str, **extra: str):
    """The client's credentials in HTTP Basic (RFC 6749 section 2.3.1), not in the form."""
    pair = f"{quote_plus(app.client_id)}:{quote_plus(secret)}".encode()
    header = "Basic " + base64.b64encode(pair).decode()
    return Client().post(
        "/oauth2/token", {"grant_type": grant_type} | extra, HTTP_AUTHORIZATION=header
    )


def password_grant(app, username: str, password: str):
    return token_request(app, "password", username=username, password=password, scope="openid")


def refusals() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.TOKEN_REQUEST_REFUSED))


class TestThePasswordGrant:
    def test_a_right_and_a_wrong_password_get_byte_identical_answers(self, app, bob) -> None:
        right = password_grant(app, "bob@contoso.example", STRONG_PASSWORD)
        wrong = password_grant(app, "bob@contoso.example", WRONG_PASSWORD)
        assert (right.status_code, right.content) == (wrong.status_code, wrong.content)
        assert right.status_code == 400
        assert right.json() == {"error": "unsupported_grant_type"}

    def test_an_unknown_user_gets_the_same_answer_as_a_known_one(self, app, bob) -> None:
        known = password_grant(app, "bob@contoso.example", STRONG_PASSWORD)
        unknown = password_grant(app, "nobody@contoso.example", STRONG_PASSWORD)
        assert (known.status_code, known.content) == (unknown.status_code, unknown.content)

    def test_no_password_is_checked(self, app, bob) -> None:
        checked = []

        def note(**kwargs: object) -> None:
            checked.append(kwargs)

        user_login_failed.connect(note)
        try:
            password_grant(app, "bob@contoso.example", WRONG_PASSWORD)
        finally:
            user_login_failed.disconnect(note)
        assert checked == []

    def test_the_validator_never_accepts_a_user_by_password(self, web_app, bob) -> None:
        request = type("Request", (), {"user": None})()
        accepted = TwofoldValidator().validate_user(
            "bob@contoso.example", STRONG_PASSWORD, web_app.application, request
        )
        assert accepted is False
        assert request.user is None


class TestOtherGrants:
    @pytest.mark.parametrize("grant_type", UNSUPPORTED_GRANTS)
    def test_an_unsupported_grant_is_refused_alike_with_a_right_or_a_wrong_secret(
        self, app, grant_type
    ) -> None:
        extra = {"scope": "openid", "device_code": "x" * 20, "assertion": "x.y.z"}
        right = token_request(app, grant_type, **extra)
        wrong = token_request(app, grant_type, secret="not-the-secret", **extra)
        assert (right.status_code, right.content) == (wrong.status_code, wrong.content)
        assert right.json() == {"error": "unsupported_grant_type"}

    @pytest.mark.parametrize("grant_type", UNSUPPORTED_GRANTS)
    def test_an_unsupported_grant_is_refused_for_an_unknown_client(self, grant_type) -> None:
        data = {"grant_type": grant_type, "client_id": "no-such-client", "client_secret": "x"}
        response = Client().post("/oauth2/token", data)
        assert response.json() == {"error": "unsupported_grant_type"}

    @pytest.mark.parametrize("registered", ["password", "client-credentials", "implicit"])
    def test_an_application_registered_for_another_grant_gets_no_grant_at_all(
        self, web_app, registered
    ) -> None:
        web_app.application.authorization_grant_type = registered
        web_app.application.save()
        validator = TwofoldValidator()
        request = type("Request", (), {"client": web_app.application})()
        for grant_type in ("authorization_code", "refresh_token", "password"):
            allowed = validator.validate_grant_type(
                web_app.client_id, grant_type, web_app.application, request
            )
            assert not allowed, grant_type

    @pytest.mark.parametrize("grant_type", ["authorization_code", "refresh_token"])
    @pytest.mark.parametrize("in_header", [False, True], ids=["form", "basic"])
    def test_a_grant_the_application_is_not_registered_for_is_refused_before_its_secret(
        self, web_app, grant_type, in_header
    ) -> None:
        web_app.application.authorization_grant_type = "client-credentials"
        web_app.application.save()
        extra = {"code": "x" * 30, "refresh_token": "x" * 30, "redirect_uri": WEB_CALLBACK}
        answers = [
            basic_request(web_app, grant_type, secret, **extra)
            if in_header
            else token_request(web_app, grant_type, secret=secret, **extra)
            for secret in (web_app.secret, "not-the-secret")
        ]
        assert answers[0].content == answers[1].content
        assert answers[0].json() == {"error": "unauthorized_client"}

    def test_an_authorization_code_application_may_use_its_code_and_refresh_grants(
        self, web_app
    ) -> None:
        validator = TwofoldValidator()
        request = type("Request", (), {"client": web_app.application})()
        for grant_type in ("authorization_code", "refresh_token"):
            assert validator.validate_grant_type(
                web_app.client_id, grant_type, web_app.application, request
            )


class TestTheAuthorizeEndpoint:
    @pytest.mark.parametrize(
        "response_type",
        [
            "token",
            "id_token",
            "id_token token",
            "code token",
            "code id_token",
            "code id_token token",
            "none",
        ],
    )
    def test_only_the_code_response_type_is_answered(
        self, client, bob, web_flow, response_type
    ) -> None:
        password_step(client, "bob@contoso.example")
        response = client.get(web_flow.url(response_type=response_type))
        location = response["Location"]
        for issued in ("access_token=", "id_token=", "code="):
            assert issued not in location
        assert "error=unsupported_response_type" in location


class TestOtherEndpoints:
    @pytest.mark.parametrize(
        "path",
        ["/oauth2/introspect", "/oauth2/device-authorization", "/oauth2/device", "/o/token/"],
    )
    def test_no_introspection_or_device_endpoint_is_offered(self, path) -> None:
        assert Client().post(path, {"token": "x"}).status_code == 404

    def test_an_application_cannot_revoke_another_applications_token(
        self, client, bob, web_flow, spa
    ) -> None:
        password_step(client, "bob@contoso.example")
        tokens = tokens_for(client, web_flow)
        data = {"token": tokens["access_token"], "client_id": spa.client_id}
        Client().post("/oauth2/revoke", data)
        userinfo = Client().get(
            "/oauth2/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
        )
        assert userinfo.status_code == 200

    def test_revoking_with_a_wrong_secret_is_refused_and_the_token_lives(
        self, client, bob, web_flow
    ) -> None:
        password_step(client, "bob@contoso.example")
        tokens = tokens_for(client, web_flow)
        data = {
            "token": tokens["access_token"],
            "client_id": web_flow.app.client_id,
            "client_secret": "not-the-secret",
        }
        assert Client().post("/oauth2/revoke", data).status_code == 401
        userinfo = Client().get(
            "/oauth2/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
        )
        assert userinfo.status_code == 200


class TestAudit:
    def test_a_refused_token_request_is_audited(self, spa, bob) -> None:
        password_grant(spa, "bob@contoso.example", WRONG_PASSWORD)
        (event,) = refusals()
        assert event.result == AuditResult.DENIED
        assert event.client_address == "127.0.0.1"
        assert event.details["reason"] == "unsupported_grant_type"
        assert event.details["kind"] == "password"
        assert event.details["application"] == "Contoso Desk"
        assert event.organisation_id == spa.application.organisation_id

    def test_the_audit_keeps_neither_the_password_nor_the_user_name_as_typed(
        self, spa, bob
    ) -> None:
        typed_name = "Bob@Contoso.Example "
        password_grant(spa, typed_name, STRONG_PASSWORD)
        (event,) = refusals()
        stored = json.dumps(model_to_dict(event), default=str).lower()
        assert STRONG_PASSWORD not in stored
        assert typed_name.strip().lower() not in stored

    def test_a_grant_type_as_typed_is_not_kept_unless_it_is_a_known_one(self, spa) -> None:
        token_request(spa, "correct horse battery staple")
        (event,) = refusals()
        assert event.details["kind"] == "other"

    def test_refused_token_requests_are_audited_at_most_30_times_an_hour_per_address(
        self, spa, bob
    ) -> None:
        answers = {password_grant(spa, "bob@contoso.example", f"guess {n}").status_code
                   for n in range(35)}  # fmt: skip
        assert answers == {400}
        assert len(refusals()) == 30

    def test_the_audit_cap_is_per_address(self, spa, bob) -> None:
        for n in range(31):
            password_grant(spa, "bob@contoso.example", f"guess {n}")
        other = Client(REMOTE_ADDR="::1")
        other.post("/oauth2/token", {"grant_type": "password", "client_id": spa.client_id})
        assert len(refusals()) == 31
        assert refusals()[0].client_address == "::1"

    def test_a_refused_revocation_is_audited(self, web_app) -> None:
        data = {"token": "x" * 30, "client_id": web_app.client_id, "client_secret": "wrong"}
        assert Client().post("/oauth2/revoke", data).status_code == 401
        (event,) = refusals()
        assert (event.details["kind"], event.details["reason"]) == ("revocation", "invalid_client")

    def test_a_successful_exchange_is_not_audited_as_refused(self, client, bob, web_flow) -> None:
        password_step(client, "bob@contoso.example")
        tokens_for(client, web_flow)
        assert refusals() == []
