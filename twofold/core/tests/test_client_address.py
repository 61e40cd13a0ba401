"""Whose address a request is (core/context.client_address), behind TWOFOLD_TRUSTED_PROXIES."""

from __future__ import annotations

from twofold.core.context import client_address


def _behind(settings, proxies: int) -> None:
    settings.TWOFOLD = {**settings.TWOFOLD, "trusted_proxies": proxies}


def test_a_request_that_came_past_fewer_proxies_is_the_address_the_first_one_saw(
    rf, settings
) -> None:
    # Two proxies configured; someone reached the inner one directly (it appended them). Its
    # own address, inside the network and perhaps a trusted range, is never the person's.
    _behind(settings, 2)
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_address(request) == "203.0.113.9"


def test_the_address_the_outermost_trusted_proxy_saw_is_the_persons(rf, settings) -> None:
    _behind(settings, 2)
    request = rf.get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9, 10.0.0.9"
    )
    assert client_address(request) == "203.0.113.9"
