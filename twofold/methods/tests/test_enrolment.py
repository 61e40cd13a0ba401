"""One enrolment flow per method, hosted by first-time registration and the settings page
(methods/enrolment.py), with the example method of ``example.py`` as the new package."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.accounts.models import MfaState
from twofold.methods import base
from twofold.methods.stepup import VERIFIED_AT
from twofold.methods.tests import example
from twofold.signin import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(make_user, with_example):
    """Two-step verification on and nothing registered; her organisation allows the example."""
    user = make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)
    user.organisation.allowed_methods = [*user.organisation.allowed_methods, example.KIND]
    user.organisation.save(update_fields=["allowed_methods"])
    return user


def _password(client: Client, user) -> None:
    client.post("/signin", {"username": user.username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})


def test_registration_lists_the_methods_enrolments(carol):
    client = Client()
    _password(client, carol)
    page = client.get("/signin/register").content.decode()
    assert 'href="/example/enrol" data-testid="register-example"' in page
    assert 'data-testid="register-phone"' in page


def test_in_registration_the_method_s_view_knows_its_host(carol):
    client = Client()
    _password(client, carol)
    response = client.get("/example/enrol?next=/signin/register")
    assert response.content.decode() == "carol@contoso.example registration /signin/register"


def test_a_proven_enrolment_in_registration_signs_in_then_offers_what_follows(carol):
    client = Client()
    _password(client, carol)
    response = client.post("/example/enrol", {"answer": "right"})
    assert client.session[services.AMR] == ["pwd", "hwk", "user"]
    assert response["Location"] == "/example/after?next=%2Faccount"
    carol.refresh_from_db()
    assert carol.preferred_option == "example"


def test_an_unproven_enrolment_in_registration_signs_nobody_in(carol):
    client = Client()
    _password(client, carol)
    response = client.post("/example/enrol", {"answer": "wrong"})
    assert response["Location"] == "/signin/register"
    assert "_auth_user_id" not in client.session


def test_nobody_may_enrol_without_a_password_or_a_session(carol):
    response = Client().get("/example/enrol")
    assert response.status_code == 302
    assert response["Location"].startswith("/signin")


def test_a_person_with_a_method_may_not_add_one_at_sign_in(carol):
    example.REGISTERED.add(carol.pk)  # she has a way in: a password alone adds nothing
    client = Client()
    _password(client, carol)
    response = client.post("/example/enrol", {"answer": "right"})
    assert response["Location"] == "/signin/verify"  # verify with what she has
    assert "_auth_user_id" not in client.session


@pytest.fixture
def signed_in(make_user, with_example):
    """Signed in with a password only (no method yet, two-step verification off)."""
    user = make_user("dave@contoso.example")
    user.organisation.allowed_methods = [*user.organisation.allowed_methods, example.KIND]
    user.organisation.save(update_fields=["allowed_methods"])
    client = Client()
    _password(client, user)
    assert "_auth_user_id" in client.session
    return client, user


def test_on_the_settings_page_the_same_view_returns_to_next(signed_in):
    client, user = signed_in
    page = client.get("/example/enrol?next=/account").content.decode()
    assert page == "dave@contoso.example settings /account"
    response = client.post("/example/enrol?next=/account", {"answer": "right"})
    assert response["Location"] == "/account"
    assert user.pk in example.REGISTERED


def test_a_next_elsewhere_is_ignored(signed_in):
    client, _user = signed_in
    page = client.get("/example/enrol?next=https://evil.example/").content.decode()
    assert page.endswith(" settings /account/security-verification")


def test_adding_a_second_method_needs_a_recent_second_factor(signed_in):
    client, user = signed_in
    example.REGISTERED.add(user.pk)
    response = client.get("/example/enrol")
    assert response["Location"].startswith("/account/verify?next=")
    session = client.session
    session[VERIFIED_AT] = int(time.time())
    session.save()
    assert client.get("/example/enrol").status_code == 200


def test_the_settings_page_draws_the_method_s_panel(signed_in):
    client, user = signed_in
    example.REGISTERED.add(user.pk)
    session = client.session
    session[VERIFIED_AT] = int(time.time())
    session.save()
    page = client.get("/account/security-verification").content.decode()
    assert '<section data-testid="example-panel">1 examples</section>' in page


def test_the_admin_summary_comes_from_the_methods(signed_in):
    _client, user = signed_in
    assert base.admin_summary(user) == []
    example.REGISTERED.add(user.pk)
    assert [item.label for item in base.admin_summary(user)] == ["Example"]


def test_a_proof_for_an_option_the_organisation_does_not_allow_signs_nobody_in(carol):
    carol.organisation.allowed_methods = ["text", "call"]  # the example is no longer allowed
    carol.organisation.save(update_fields=["allowed_methods"])
    client = Client()
    _password(client, carol)
    response = client.post("/example/enrol", {"answer": "right"})
    assert response["Location"] == "/signin/register"
    assert "_auth_user_id" not in client.session
