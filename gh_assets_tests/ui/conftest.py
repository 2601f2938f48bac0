"""Fixtures of the browser tests: headless Chromium, `dagster dev` against the emulator, a screenshot folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gh_assets_tests.ui.browser import chromium, chromium_executable
from gh_assets_tests.ui.stack import DagsterDev, dagster_dev


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    chromium_executable()  # skip (or fail) before paying for a webserver when there is no browser
    with dagster_dev(tmp_path_factory.mktemp("dagster-dev")) as d:
        yield d


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the screenshots go: pytest's tmp_path, or the folder named by GH_ASSETS_UI_ARTIFACTS (CI keeps it)."""
    folder = Path(os.environ.get("GH_ASSETS_UI_ARTIFACTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
