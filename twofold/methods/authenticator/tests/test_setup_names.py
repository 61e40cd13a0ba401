"""Setting up an app names the organisation as people know it (its shown name) from the
settings page and from first-time registration alike (issue 17: they had drifted)."""

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.accounts.models import MfaState

pytestmark = pytest.mark.django_db


@pytest.fixture
def branded(organisation):
    organisation.display_name = "Contoso Help Desk"
    organisation.save(update_fields=["display_name"])
    return organisation


def _password(client: Client, username: str) -> None:
    client.post("/signin", {"username": username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})


def test_the_settings_page_s_setup_shows_the_shown_name(branded, make_user):
    make_user("dave@contoso.example")
    client = Client()
    _password(client, "dave@contoso.example")
    page = client.get("/account/security-verification/authenticator/setup").content.decode()
    assert "Contoso Help Desk: dave@contoso.example" in page


def test_registration_s_setup_shows_the_shown_name(branded, make_user):
    make_user("carol@contoso.example", mfa_state=MfaState.ENABLED)
    client = Client()
    _password(client, "carol@contoso.example")
    page = client.get("/account/security-verification/authenticator/setup").content.decode()
    assert "Contoso Help Desk: carol@contoso.example" in page
