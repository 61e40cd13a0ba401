import re
import time

import pytest
from django.conf import settings
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.methods.stepup import VERIFIED_AT

#: The administrators' phone in these tests: a number no test user is given.
ADMIN_NUMBER = "+14255550142"


def give_a_phone(username: str) -> None:
    """Register the administrator's phone (through the service): administrators always
    sign in with a second factor."""
    from twofold.accounts.models import User
    from twofold.methods.phone import services as phone_services

    admin = User.objects.select_related("organisation").get(username=username)
    phone_services.set_number(admin, "authentication", ADMIN_NUMBER)


def read_code(number: str) -> str:
    """The code in the last text to ``number``, read off the phone (and gone from the
    outbox, so that the tests' own texts are the only ones there)."""
    from twofold.delivery.models import OutboxKind, OutboxMessage

    text = OutboxMessage.objects.filter(kind=OutboxKind.TEXT, to=number).latest("id")
    text.delete()
    return re.search(r"\b(\d{6})\b", text.body).group(1)


def password_only(username: str) -> Client:
    """Signed in as the pages do, on the password, and no further (no second factor yet)."""
    client = Client()
    client.post("/signin", {"username": username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    return client


def signed_in_admin(username: str, *, recent: bool = True) -> Client:
    """An administrator signed in as the pages do: password, then a texted code.
    ``recent=False``: that second factor is older than the step-up window now."""
    give_a_phone(username)
    client = password_only(username)
    # "Use another way": a text, whichever method the administrator prefers.
    client.post("/signin/verify/start", {"option": "text:authentication"})
    client.post("/signin/verify", {"code": read_code(ADMIN_NUMBER)})
    assert client.session.get(VERIFIED_AT), "the administrator's second factor was refused"
    if not recent:
        session = client.session
        session[VERIFIED_AT] = int(time.time()) - settings.TWOFOLD["step_up_seconds"] - 1
        session.save()
    return client


@pytest.fixture
def admin(make_user):
    return make_user("admin@contoso.example", is_admin=True, display_name="Adele Admin")


@pytest.fixture
def admin_client(admin) -> Client:
    return signed_in_admin(admin.username)


@pytest.fixture
def other_admin_client(other_organisation, make_user) -> Client:
    make_user("boss@fabrikam.example", organisation=other_organisation, is_admin=True)
    return signed_in_admin("boss@fabrikam.example")


@pytest.fixture
def staff(make_user):
    """Five ordinary users of Contoso."""
    return [make_user(f"user{index:02d}@contoso.example", display_name=f"User {index}")
            for index in range(5)]  # fmt: skip
