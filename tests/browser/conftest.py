"""Playwright (Python) driving Debian's Chromium against Django's live test server."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop in this thread; Django's ORM calls made by
# the test itself (fixtures, assertions) are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Browser, Page, expect

from tests.conftest import PATIENCE_MS

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(PATIENCE_MS)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(**PHONE, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(PATIENCE_MS)
    yield page
    context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest):
    """Save a full-page screenshot under artifacts/screenshots/<test>--<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^a-zA-Z0-9_-]+", "-", request.node.name)

    def take(page: Page, name: str) -> Path:
        path = ARTIFACTS / f"{test}--{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def pass_the_recovery_codes_offer(page: Page) -> None:
    """Right after a first method, recovery codes are offered (methods/recovery): the
    registration's "You're all set." is said there; "Not now" goes on where the person
    was going."""
    expect(page.get_by_role("heading", name="Recovery codes", exact=True)).to_be_visible()
    expect(page.get_by_text("You're all set.")).to_be_visible()
    page.get_by_role("link", name="Not now").click()
