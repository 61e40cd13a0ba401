import time

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.methods.stepup import VERIFIED_AT


def signed_in_admin(username: str, *, recent: bool = True) -> Client:
    client = Client()
    client.post("/signin", {"username": username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    if recent:
        session = client.session
        session[VERIFIED_AT] = int(time.time())
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
