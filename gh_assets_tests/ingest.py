"""Filling the lake and the marts the way a user does: `gh-assets ingest` against the bundled emulator."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gh_assets import cli


def point_cli_at(mp: pytest.MonkeyPatch, api_url: str, root: Path, repo: str, start: date) -> tuple[Path, Path]:
    """Environment for the CLI under ``root``: the API, a data dir, a Dagster home and a one-repo sources config.

    Returns ``(data_dir, dagster_home)``. Tokens of the developer's shell are dropped: the emulator needs none.
    """
    data_dir, home = root / "data", root / "home"
    config = root / "sources.yaml"
    config.write_text(f"github:\n  start: {start}\n  repos: [{repo}]\n")
    for name, value in (("GITHUB_API_URL", api_url), ("GH_ASSETS_DATA_DIR", str(data_dir)), ("DAGSTER_HOME", str(home)), ("GH_ASSETS_CONFIG", str(config))):
        mp.setenv(name, value)
    mp.delenv("GITHUB_TOKEN", raising=False)
    mp.delenv("GITHUB_TOKENS", raising=False)
    return data_dir, home


def ingest(mp: pytest.MonkeyPatch, api_url: str, root: Path, repo: str, start: date, end: date) -> tuple[Path, Path]:
    """``gh-assets ingest`` of every entity of ``repo`` over ``[start, end]``; returns ``(data_dir, dagster_home)``."""
    data_dir, home = point_cli_at(mp, api_url, root, repo, start)
    assert cli.main(["ingest", "--repo", repo, "--start", str(start), "--end", str(end)]) == 0
    return data_dir, home
