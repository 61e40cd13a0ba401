"""Adding an authentication phone is one flow (methods/phone/views.py) hosted by the
settings page as well as by first-time registration (methods/enrolment.py)."""

import pytest
from django.test import Client

from conftest import STRONG_PASSWORD
from twofold.methods import base
from twofold.methods.phone.models import Phone

pytestmark = pytest.mark.django_db
ADD = "/account/security-verification/phone/add"


@pytest.fixture
def signed_in(user) -> Client:
    """Signed in with a password only: no method yet, so no step-up is asked."""
    client = Client()
    client.post("/signin", {"username": user.username})
    client.post("/signin/password", {"password": STRONG_PASSWORD})
    return client


def test_from_the_settings_page_a_proven_phone_returns_to_next(signed_in, user, outbox):
    data = {"country": "US", "number": "425 555 0134", "mode": "text"}
    response = signed_in.post(f"{ADD}?next=/account/security-verification", data)
    assert response["Location"] == f"{ADD}/verify?next=%2Faccount%2Fsecurity-verification"
    assert base.options_for(user) == []  # not yet: the number is proven first
    page = signed_in.get(response["Location"]).content.decode()
    assert "/account/security-verification" in page  # the way back is the host's
    response = signed_in.post(response["Location"], {"code": outbox.last_code()})
    assert response["Location"] == "/account/security-verification"
    assert Phone.objects.get(user=user).number == "+14255550134"


def test_a_wrong_code_adds_nothing(signed_in, user, outbox):
    data = {"country": "US", "number": "425 555 0134", "mode": "text"}
    signed_in.post(ADD, data)
    response = signed_in.post(f"{ADD}/verify", {"code": outbox.wrong_code()})
    assert response.status_code == 200
    assert base.options_for(user) == []


def test_nobody_signed_in_is_sent_to_sign_in():
    response = Client().post(ADD, {"country": "US", "number": "425 555 0134", "mode": "text"})
    assert response["Location"] == "/signin"
    assert not Phone.objects.exists()
