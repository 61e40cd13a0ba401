import pytest
from django.test import Client

from conftest import AUTH_NUMBER, OFFICE_NUMBER, STRONG_PASSWORD  # noqa: F401 - re-exported for the tests
from twofold.accounts.models import MfaState
from twofold.methods.phone import services as phone_services


@pytest.fixture(autouse=True)
def _generous_caps(settings):
    settings.TWOFOLD = {
        **settings.TWOFOLD,
        "resend_cooldown_seconds": 0,
        "texts_per_user_per_hour": 100,
        "texts_per_number_per_hour": 100,
    }


@pytest.fixture
def alice(make_user):
    """Two-step verification on, an authentication phone that gets texts."""
    user = make_user("alice@contoso.example", mfa_state=MfaState.ENABLED)
    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


def password_step(
    client: Client, username: str = "alice@contoso.example", password=STRONG_PASSWORD
):
    client.post("/signin", {"username": username})
    return client.post("/signin/password", {"password": password})
