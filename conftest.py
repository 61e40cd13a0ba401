"""Fixtures shared by every test: organisations and users built through the services."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.conf import settings
from django.core.cache import cache

STRONG_PASSWORD = "correct horse battery staple"


def pytest_configure(config: pytest.Config) -> None:
    # Each xdist worker gets its own Redis database, so clearing it between tests never
    # wipes another worker's counters.
    cache_settings = settings.CACHES["default"]
    if "redis" in cache_settings["BACKEND"]:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        index = 1 + int(worker.removeprefix("gw") or 0)
        base = cache_settings["LOCATION"].rsplit("/", 1)[0]
        cache_settings["LOCATION"] = f"{base}/{index}"


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Rate-limit counters from one test never leak into the next."""
    cache.clear()


@pytest.fixture
def organisation(db):
    from twofold.organisations.services import create_organisation

    return create_organisation("Contoso", ["contoso.example"], slug="contoso")


@pytest.fixture
def other_organisation(db):
    from twofold.organisations.services import create_organisation

    return create_organisation("Fabrikam", ["fabrikam.example"], slug="fabrikam")


@pytest.fixture
def make_user(organisation) -> Callable[..., object]:
    from twofold.accounts.services import create_user

    def make(username: str = "alice@contoso.example", password: str = STRONG_PASSWORD, **fields):
        org = fields.pop("organisation", organisation)
        return create_user(org, username, password, **fields)

    return make


@pytest.fixture
def user(make_user):
    return make_user(display_name="Alice Example")
