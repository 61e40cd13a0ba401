"""Pushes for an application: the phone names the application a sign-in or a step-up is
for, however the push was started, and an approved push gives amr swk (RFC 8176)."""

from __future__ import annotations

import pytest
from django.test import Client

from twofold.accounts.models import User
from twofold.methods.authenticator import activation
from twofold.methods.authenticator.models import PushNotice
from twofold.methods.authenticator.tests.phone_app import PhoneApp
from twofold.oidc.claims import ACR_MFA

from .conftest import password_step, sign_in_with_text, tokens_for, verified_claims

pytestmark = pytest.mark.django_db
PUSH = "app_notification"


@pytest.fixture
def phone(alice, organisation) -> PhoneApp:
    """Alice's activated phone; her preferred method is still the text. Pushes that are for
    no application name her organisation."""
    organisation.display_name = "Contoso Ltd"
    organisation.save()
    app = PhoneApp()
    _issued, code = activation.issue(alice)
    assert app.activate(Client(), code).status_code == 200
    User.objects.filter(pk=alice.pk).update(preferred_option="text:authentication")
    return app


def shown_on_the_phone(phone: PhoneApp) -> str:
    (request,) = phone.poll(Client()).json()["requests"]
    return request["application"]


def sign_in_for(client: Client, web_flow) -> None:
    """A sign-in that an application started: its password step is done."""
    client.get(client.get(web_flow.url())["Location"])  # the sign-in page, with next
    password_step(client, "alice@contoso.example")


class TestTheApplicationShown:
    def test_a_push_chosen_as_another_way_names_the_application(
        self, client, alice, phone, outbox, web_flow
    ) -> None:
        sign_in_for(client, web_flow)
        assert outbox.texts()  # the preferred text went first
        client.post("/signin/verify/start", {"option": PUSH})
        assert shown_on_the_phone(phone) == "Contoso Expenses"

    def test_a_push_for_a_sign_in_of_no_application_names_the_organisation(
        self, client, alice, phone
    ) -> None:
        password_step(client, "alice@contoso.example")
        client.post("/signin/verify/start", {"option": PUSH})
        assert shown_on_the_phone(phone) == "Contoso Ltd"

    def test_a_push_for_a_step_up_the_application_demands_names_it(
        self, client, alice, phone, outbox, web_flow
    ) -> None:
        sign_in_with_text(client, outbox)
        step_up = client.get(web_flow.url(acr_values=ACR_MFA, max_age="0"))["Location"]
        client.get(step_up)
        client.post("/account/verify/start", {"option": PUSH})
        assert shown_on_the_phone(phone) == "Contoso Expenses"

    def test_a_push_for_a_settings_step_up_names_the_organisation(
        self, client, alice, phone, outbox
    ) -> None:
        sign_in_with_text(client, outbox)
        client.get("/account/verify?next=/account/security-verification")
        client.post("/account/verify/start", {"option": PUSH})
        assert shown_on_the_phone(phone) == "Contoso Ltd"


def test_an_approved_push_gives_amr_pwd_mfa_swk(client, alice, phone, web_flow) -> None:
    password_step(client, "alice@contoso.example")
    client.post("/signin/verify/start", {"option": PUSH})
    notice = PushNotice.objects.get()
    decided = phone.decide(Client(), notice.challenge_id, "approve", notice.number)
    assert decided.json()["state"] == "approved"
    client.post("/signin/verify/complete")
    claims = verified_claims(client, tokens_for(client, web_flow)["id_token"], web_flow)
    assert claims["amr"] == ["pwd", "mfa", "swk"]
    assert claims["acr"] == ACR_MFA
