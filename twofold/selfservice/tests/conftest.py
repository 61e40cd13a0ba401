import time
from dataclasses import dataclass

import pytest

from conftest import AUTH_NUMBER, OFFICE_NUMBER, STRONG_PASSWORD  # noqa: F401 - re-exported for the tests
from twofold.methods.phone.settings import PhoneChanges, PhoneEntry
from twofold.methods.phone.tests.conftest import with_phone  # noqa: F401 - a shared fixture
from twofold.methods.stepup import VERIFIED_AT
from twofold.selfservice import services

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


@dataclass(frozen=True)
class Settings:
    """The page as a person fills it in: the preferred option and the phones' part."""

    preferred_option: str
    authentication: PhoneEntry
    authentication_mode: str
    office: PhoneEntry
    alternate: PhoneEntry


def save_page(user, page: Settings) -> services.SaveResult:
    """Save ``page`` as the settings page does: its own field and the phones' changes."""
    phones = PhoneChanges(
        authentication=page.authentication,
        authentication_mode=page.authentication_mode,
        office=page.office,
        alternate=page.alternate,
    )
    return services.save(user, page.preferred_option, [phones])
