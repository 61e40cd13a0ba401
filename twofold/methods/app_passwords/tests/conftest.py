"""Fixtures for app passwords: an organisation that allows them, and signed-in browsers."""

from __future__ import annotations

import time

import pytest

from twofold.methods import stepup


@pytest.fixture(autouse=True)
def _test_urls(settings) -> None:
    settings.ROOT_URLCONF = "twofold.methods.app_passwords.tests.urls"


@pytest.fixture
def allowed(organisation):
    """The organisation lets its people use app passwords (off by default)."""
    organisation.allow_app_passwords = True
    organisation.save()
    return organisation


@pytest.fixture
def signed_in(client, user):
    """A browser signed in as ``user``, without a recent second factor."""
    client.force_login(user)
    return client


@pytest.fixture
def verified(signed_in):
    """A browser signed in as ``user`` that passed a second factor just now."""
    session = signed_in.session
    session[stepup.VERIFIED_AT] = int(time.time())
    session.save()
    return signed_in
