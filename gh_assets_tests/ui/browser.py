"""Headless Chromium for UI tests: Debian's browser driven by Playwright, or a clear skip when it is missing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REQUIRE_ENV = "GH_ASSETS_REQUIRE_CHROMIUM"  # set by .ci/run: a missing browser fails instead of skipping
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def _missing(message: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{message}, and {REQUIRE_ENV} is set")
    pytest.skip(message)


def chromium_executable() -> str:
    """Path of the system Chromium (`apt-get install chromium`); Playwright's own browser builds are not used."""
    found = next((path for path in CANDIDATES if Path(path).exists()), None) or shutil.which("chromium")
    if not found:
        _missing("Chromium is not installed (apt-get install -y chromium chromium-driver)")
    return str(found)


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium browser (Playwright ``Browser``) on the system executable."""
    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield browser
        finally:
            browser.close()
