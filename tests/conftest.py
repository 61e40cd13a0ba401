"""One Chromium per test process, shared by every test that drives a browser.

Playwright's sync API allows one running instance per thread: the browser tests
(tests/browser/) and the tests that drive a browser through a real server of their own
(tests/test_tls_proxy.py) must share this one, or whichever starts second fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Playwright's sync API keeps an event loop in this thread; Django's ORM calls made by
# the test itself (fixtures, assertions) are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Browser, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"

#: How long a page action or an expectation waits before it fails. Generous on purpose: a
#: loaded CI machine answers slowly, and waiting longer never slows a passing test (an
#: expectation returns as soon as it holds). Speed is measured in bench/, never here.
PATIENCE_MS = 20_000
expect.set_options(timeout=PATIENCE_MS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()
