"""Fixtures for recovery codes: a user with an authentication phone (where notices go)."""

from __future__ import annotations

import pytest

from conftest import AUTH_NUMBER
from twofold.methods.phone import services as phone_services


@pytest.fixture
def with_phone(user):
    phone_services.set_number(user, "authentication", AUTH_NUMBER, mode="text")
    return user


@pytest.fixture
def verified(client, user):
    """A browser signed in as ``user`` that passed a second factor just now."""
    import time

    from twofold.methods import stepup

    client.force_login(user)
    session = client.session
    session[stepup.VERIFIED_AT] = int(time.time())
    session.save()
    return client
