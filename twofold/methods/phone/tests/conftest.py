import pytest

from conftest import AUTH_NUMBER, OFFICE_NUMBER  # noqa: F401 - re-exported for the tests
from twofold.methods.phone import services as phone_services


@pytest.fixture
def with_phone(user):
    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user
