import time

import pytest

from conftest import AUTH_NUMBER, OFFICE_NUMBER, STRONG_PASSWORD  # noqa: F401 - re-exported for the tests
from twofold.methods.phone.tests.conftest import with_phone  # noqa: F401 - a shared fixture
from twofold.methods.stepup import VERIFIED_AT

NEW_NUMBER = "+14255550188"


@pytest.fixture
def signed_in(client, user):
    client.post("/signin", {"username": user.username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    return client


@pytest.fixture
def stepped_up(signed_in):
    session = signed_in.session
    session[VERIFIED_AT] = int(time.time())
    session.save()
    return signed_in


def page_data(**overrides) -> dict[str, str]:
    """The settings form as a browser would post it, for a US user."""
    data = {
        "preferred_option": "text:authentication",
        "authentication_country": "US",
        "authentication_number": "",
        "authentication_mode": "text",
        "office_country": "US",
        "office_number": "",
        "office_extension": "",
        "alternate_country": "US",
        "alternate_number": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
