"""The one verification path with a method that parses its own answers (methods/base.py:
parse, check, prompt_template, Interaction.BROWSER), through the sign-in page and the API's
rules: the order stays lock, lockout, state and expiry, parse and check, audit."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.accounts.models import MfaState
from twofold.audit.models import AuditAction, AuditEvent, AuditResult
from twofold.methods import base, verification
from twofold.methods.forms import CodeForm
from twofold.methods.models import Challenge, ChallengePurpose, ChallengeState
from twofold.methods.tests import example

pytestmark = pytest.mark.django_db


@pytest.fixture
def erin(make_user, with_example):
    """A user whose only way is the example method, which her organisation allows."""
    user = make_user("erin@contoso.example", mfa_state=MfaState.ENABLED)
    user.organisation.allowed_methods = [*user.organisation.allowed_methods, example.KIND]
    user.organisation.save(update_fields=["allowed_methods"])
    example.REGISTERED.add(user.pk)
    return user


def _open(user) -> Challenge:
    return verification.start_challenge(user, "example", ChallengePurpose.SIGNIN)


def test_starting_keeps_what_the_method_needs_in_the_challenge_s_payload(erin):
    challenge = Challenge.objects.get(pk=_open(erin).pk)
    assert challenge.payload == {"expected": "right", "question": "the riddle"}


def test_the_method_s_own_reading_of_a_right_answer_approves(erin):
    approved = verification.verify(erin, _open(erin).pk, json.dumps({"answer": "right"}))
    assert approved.state == ChallengeState.APPROVED


def test_a_malformed_answer_counts_as_a_wrong_code(erin):
    challenge = _open(erin)
    with pytest.raises(verification.WrongCode):
        verification.verify(erin, challenge.pk, "123456")  # six digits mean nothing here
    failed = AuditEvent.objects.get(
        action=AuditAction.CHALLENGE_VERIFIED, result=AuditResult.FAILURE
    )
    assert failed.details["method"] == "example"


def test_a_wrong_answer_is_refused_and_the_lockout_counts_it(erin):
    erin.organisation.lockout_threshold = 2
    erin.organisation.save(update_fields=["lockout_threshold"])
    challenge = _open(erin)
    with pytest.raises(verification.WrongCode):
        verification.verify(erin, challenge.pk, json.dumps({"answer": "wrong"}))
    with pytest.raises(verification.SecondFactorLocked):
        verification.verify(erin, challenge.pk, "not json")
    with pytest.raises(verification.SecondFactorLocked):  # locked: even the right answer
        verification.verify(erin, challenge.pk, json.dumps({"answer": "right"}))


def test_the_default_reading_is_six_digits_with_spaces_removed():
    method = base.get("authenticator")
    assert method.parse(None, " 123 456 ") == "123456"
    assert method.parse(None, "12345") is None
    assert method.parse(None, "abcdef") is None


def test_a_text_option_s_code_box_takes_text_and_a_browser_option_s_is_hidden():
    text = base.Option(
        key="k", method="m", policy_kind="p", interaction=base.Interaction.CODE, label="",
        prompt="", code_inputmode="text", code_max_length=30,
    )  # fmt: skip
    box = str(CodeForm(option=text)["code"])
    assert 'inputmode="text"' in box
    assert 'maxlength="30"' in box
    assert "pattern" not in box
    assert CodeForm({"code": "abcd-efgh-ijkl-mnop"}, option=text).is_valid()
    assert not CodeForm({"code": "abcd-efgh-ijkl-mnop"}).is_valid()  # six digits: 12 at most
    browser = base.Option(
        key="k", method="m", policy_kind="p", interaction=base.Interaction.BROWSER, label="",
        prompt="", code_max_length=2000,
    )  # fmt: skip
    assert 'type="hidden"' in str(CodeForm(option=browser)["code"])


def test_the_sign_in_page_asks_through_the_method_s_template_and_its_answer_signs_in(erin):
    client = Client()
    client.post("/signin", {"username": erin.username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    client.post("/signin/verify/start", {"option": "example"})
    page = client.get("/signin/verify").content.decode()
    assert 'data-testid="example-prompt">Answer the riddle<' in page
    assert 'type="hidden" name="code"' in page
    response = client.post("/signin/verify", {"code": json.dumps({"answer": "right"})})
    assert response.status_code == 302
    assert client.session["twofold.amr"] == ["pwd", "hwk", "user"]


def test_the_api_never_starts_a_browser_option(erin):
    from twofold.api import checks

    assert checks._answerable(base.options_for(erin)) == []
