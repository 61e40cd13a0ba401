"""The API says what it does (issue 16 items 14-16): stable snake_case reason codes, each
with a message and documented; a pending push answers a result, not an error; the status
codes the document lists are the ones answered; validation messages in the reader's
language."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.accounts.models import MfaState
from twofold.api.v1 import api
from twofold.audit.models import AuditAction, AuditEvent
from twofold.methods.authenticator import activation
from twofold.methods.authenticator.tests.phone_app import PhoneApp

pytestmark = pytest.mark.django_db(transaction=True)

ALICE = "alice@contoso.example"
SNAKE_CASE = r"^[a-z]+(_[a-z]+)*$"


@pytest.fixture
def phone(make_user) -> PhoneApp:
    user = make_user(ALICE, mfa_state=MfaState.ENABLED)
    app = PhoneApp()
    _issued, code = activation.issue(user)
    assert app.activate(Client(), code).status_code == 200
    return app


@pytest.fixture
def writer(http, make_token):
    http.token = make_token("users:read", "users:write")
    return http


def _document() -> dict:
    return json.loads(json.dumps(api.get_openapi_schema()))  # as served: status keys are text


def _result_schema() -> dict:
    return _document()["components"]["schemas"]["ResultOut"]


class TestReasons:
    def test_an_accept_names_its_reason_as_a_code_with_a_message(self, validator, user) -> None:
        answer = validator.post(
            "/validate/check", {"user": user.username, "password": STRONG_PASSWORD}
        )
        body = answer.json()
        assert (body["result"], body["reason"]) == ("accept", "two_step_verification_off")
        assert body["message"]

    def test_every_reason_code_is_snake_case(self) -> None:
        import re

        from twofold.api.reasons import Reason

        assert all(re.match(SNAKE_CASE, reason.value) for reason in Reason)

    def test_the_document_lists_every_reason_code_with_its_meaning(self) -> None:
        from twofold.api.reasons import Reason

        reason = _result_schema()["properties"]["reason"]
        listed = next(part for part in reason["anyOf"] if "$ref" in part)["$ref"]
        codes = _document()["components"]["schemas"][listed.rsplit("/", 1)[-1]]
        assert codes["enum"] == [reason.value for reason in Reason]
        for code in Reason:
            assert f"`{code.value}`" in codes["description"]

    def test_a_reason_message_follows_accept_language(self, make_token, user) -> None:
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN", HTTP_AUTHORIZATION=f"Bearer {make_token()}")
        body = client.post(
            "/api/v1/validate/check",
            {"user": user.username, "password": STRONG_PASSWORD},
            content_type="application/json",
        ).json()
        assert body["reason"] == "two_step_verification_off"
        assert not body["message"].isascii()


class TestPendingPush:
    def _started(self, validator) -> dict:
        body = validator.post("/validate/check", {"user": ALICE, "password": STRONG_PASSWORD})
        return body.json()

    def test_asking_about_a_pending_push_answers_a_result_not_an_error(
        self, validator, phone
    ) -> None:
        started = self._started(validator)
        answer = validator.post(
            "/validate/check", {"user": ALICE, "challenge_id": started["challenge_id"]}
        )
        body = answer.json()
        assert answer.status_code == 200
        assert (body["result"], body["reason"], body["state"]) == (
            "challenge",
            "pending",
            "pending",
        )
        assert (body["challenge_id"], body["number"]) == (
            started["challenge_id"],
            started["number"],
        )

    def test_asking_about_a_pending_push_is_audited_as_nothing_done(self, validator, phone) -> None:
        started = self._started(validator)
        validator.post("/validate/check", {"user": ALICE, "challenge_id": started["challenge_id"]})
        event = AuditEvent.objects.filter(action=AuditAction.API_CALL).latest("id")
        assert event.details["state"] == "pending"
        assert "did" not in event.details

    def test_an_approved_push_asked_about_again_is_accepted(self, validator, phone) -> None:
        started = self._started(validator)
        phone.decide(Client(), started["challenge_id"], "approve", started["number"])
        body = validator.post(
            "/validate/check", {"user": ALICE, "challenge_id": started["challenge_id"]}
        ).json()
        assert (body["result"], body["reason"], body["state"]) == (
            "accept",
            "second_factor",
            "approved",
        )

    def test_a_denied_push_is_rejected_with_its_reason(self, validator, phone) -> None:
        started = self._started(validator)
        phone.decide(Client(), started["challenge_id"], "deny", started["number"])
        body = validator.post(
            "/validate/check", {"user": ALICE, "challenge_id": started["challenge_id"]}
        ).json()
        assert (body["result"], body["reason"]) == ("reject", "denied")

    def test_a_push_approved_with_the_wrong_number_is_rejected_as_wrong_number(
        self, validator, phone
    ) -> None:
        started = self._started(validator)
        other = f"{(int(started['number']) + 1) % 100:02d}"
        phone.decide(Client(), started["challenge_id"], "approve", other)
        body = validator.post(
            "/validate/check", {"user": ALICE, "challenge_id": started["challenge_id"]}
        ).json()
        assert (body["result"], body["reason"]) == ("reject", "wrong_number")
        assert "denied" not in body["message"]


class TestStatusCodes:
    def test_a_duplicate_user_is_a_409_conflict(self, writer, admin) -> None:
        answer = writer.post("/users", {"username": admin.username})
        assert (answer.status_code, answer.json()["error"]) == (409, "already_exists")

    @pytest.mark.parametrize(
        "body", [[], 1, None, "x", True], ids=["list", "number", "null", "string", "bool"]
    )
    def test_a_change_that_is_not_a_json_object_is_a_422(self, writer, admin, body) -> None:
        raw = json.dumps(body)  # requests would send no body at all for None
        headers = {"Content-Type": "application/json"}
        answer = writer.call("PATCH", f"/users/{admin.username}", data=raw, headers=headers)
        assert (answer.status_code, answer.json()["error"]) == (422, "invalid_body")

    def test_a_body_that_is_not_an_object_is_a_422_everywhere(self, validator) -> None:
        answer = validator.post("/validate/check", [])
        assert (answer.status_code, answer.json()["error"]) == (422, "invalid_body")

    def test_check_without_password_or_challenge_is_refused_as_the_document_says(
        self, validator
    ) -> None:
        answer = validator.post("/validate/check", {"user": ALICE, "code": "123456"})
        assert answer.status_code == 400
        body = _document()["components"]["schemas"]["CheckIn"]
        assert {"required": ["password"]} in body["anyOf"]
        assert {"required": ["challenge_id"]} in body["anyOf"]

    def test_every_status_an_operation_answers_is_documented(self) -> None:
        for path, item in _document()["paths"].items():
            for method, spec in item.items():
                answered = set(spec["responses"])
                assert {"400", "401", "403", "404", "413", "422", "429", "503"} <= answered, (
                    method,
                    path,
                )

    def test_a_duplicate_user_is_documented_as_409(self) -> None:
        create = _document()["paths"]["/api/v1/users"]["post"]
        assert "409" in create["responses"]

    def test_starting_a_challenge_links_to_polling_it(self) -> None:
        paths = _document()["paths"]
        for path in ("/api/v1/validate/check", "/api/v1/validate/challenges"):
            links = paths[path]["post"]["responses"]["200"]["links"]
            poll = links["ChallengeState"]
            assert poll["operationId"] == "challenge_state"
            assert poll["parameters"] == {"challenge_id": "$response.body#/challenge_id"}


class TestLanguage:
    def test_a_missing_field_is_explained_in_chinese(self, make_token) -> None:
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN", HTTP_AUTHORIZATION=f"Bearer {make_token()}")
        body = client.post("/api/v1/validate/check", {}, content_type="application/json").json()
        assert body["error"] == "invalid_input"
        assert body["message"].startswith("body.user: ")
        assert "Field required" not in body["message"]
        assert not body["message"].isascii()

    def test_a_missing_field_stays_english_without_a_language(self, make_token) -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {make_token()}")
        body = client.post("/api/v1/validate/check", {}, content_type="application/json").json()
        assert body["message"] == "body.user: Field required"
