"""Shared fixtures: a GitHub emulator on 127.0.0.1, a throwaway data directory and Dagster instance."""

from __future__ import annotations

import os

# Day partitions start at the earliest `start` of the sources config read when gh_assets is imported (./sources.yaml
# here, 2025); tests write their own configs with earlier days, so the suite's partitions start earlier (set
# before any gh_assets import). Subprocesses inherit it; a test of the config-derived start removes it.
os.environ.setdefault("GH_ASSETS_PARTITIONS_START", "2015-01-01")

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github.resources import GitHubResource, SourcesResource
from gh_assets.resources import LakeResource

DEMO_REPOS = ("demo-org/alpha", "demo-org/beta")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """Two repositories x 600 issues over January-February 2025; the state is shared by a module's tests."""
    with Emulator(EmulatorConfig(seed=7, repos=DEMO_REPOS, issues_per_repo=600, start="2025-01-01", days=60)) as emu:
        yield emu


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def make_resources(api_url: str, data_dir: Path, *, token: str | None = None, config: Path | None = None, **github: object) -> dict[str, object]:
    if config is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        config = data_dir / "sources.yaml"
        if not config.exists():
            config.write_text("github:\n  start: 2025-01-01\n  repos: [demo-org/alpha, demo-org/beta]\n")
    return {
        "github": GitHubResource(api_url=api_url, token=token, max_retry_seconds=30, **github),
        "lake": LakeResource(data_dir=str(data_dir)),
        "duckdb": DuckDBResource(database=str(data_dir / "warehouse.duckdb")),
        "sources": SourcesResource(path=str(config)),
    }
