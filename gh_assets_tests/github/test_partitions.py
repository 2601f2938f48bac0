"""Partitions from the sources config: they start at its earliest `start`, so history before 2020 is ingestible."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github.partitions import FIRST_DAY_ENV, first_day

REPO = "demo-org/old"


def test_first_day_is_the_earliest_start_of_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FIRST_DAY_ENV, raising=False)
    config = tmp_path / "sources.yaml"
    config.write_text("github:\n  start: 2025-01-01\n  repos:\n    - a/b\n    - name: c/d\n      start: 2016-03-01\n  orgs:\n    - org: e\n      start: 2019-05-01\n")
    assert first_day(str(config)) == date(2016, 3, 1)
    monkeypatch.setenv(FIRST_DAY_ENV, "2012-01-01")  # an explicit earlier day widens them; never narrows
    assert first_day(str(config)) == date(2012, 1, 1)
    assert first_day(str(tmp_path / "missing.yaml")) == date(2012, 1, 1)


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The command in a fresh process whose partitions come from ``cwd``'s config alone (no test override)."""
    base = {k: v for k, v in os.environ.items() if k not in (FIRST_DAY_ENV, "GITHUB_TOKEN", "GITHUB_TOKENS", "GH_ASSETS_CONFIG", "DAGSTER_HOME")}
    return subprocess.run([sys.executable, "-m", "gh_assets.cli", *args], cwd=cwd, env={**base, **env}, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_config_starting_in_2016_ingests_2016(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(f"github:\n  start: 2016-03-01\n  repos: [{REPO}]\n")
    env = {"GH_ASSETS_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home")}
    with Emulator(EmulatorConfig(seed=3, repos=(REPO,), issues_per_repo=40, start="2016-03-01", days=10)) as emu:
        env["GITHUB_API_URL"] = emu.url
        proc = _cli(["ingest", "--repo", REPO, "--start", "2016-03-01", "--end", "2016-03-10", "--entities", "issues,pulls"], tmp_path, **env)
        assert proc.returncode == 0, proc.stderr[-3000:]
        expected = sum(1 for i in emu.issues(REPO) if "2016-03-01" <= i["updated_at"][:10] <= "2016-03-10")
        before = _cli(["ingest", "--repo", REPO, "--start", "2016-02-20", "--end", "2016-03-10"], tmp_path, **env)
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        (rows, first) = con.execute("SELECT count(*), min(updated_at)::DATE FROM marts.issues").fetchone()
    assert rows == expected > 0 and first.year == 2016
    # Before the first partition: one line naming the day, the config and what to do; no traceback.
    assert before.returncode != 0 and "Traceback" not in before.stderr
    assert "--start 2016-02-20 is before the first partition day 2016-03-01" in before.stderr and "sources.yaml" in before.stderr


def test_a_first_load_from_before_the_partitions_starts_at_the_first_partition() -> None:
    from datetime import UTC, datetime

    from gh_assets.config import SourcesConfig
    from gh_assets.github.partitions import FIRST_DAY
    from gh_assets.github.sensors import plan_repo_sync

    config = SourcesConfig.model_validate({"github": {"start": "2025-01-01", "repos": [{"name": "a/b", "start": "2001-01-01"}]}})
    assert FIRST_DAY > date(2001, 1, 1)  # the config changed after the definitions loaded
    result = plan_repo_sync(config, [], datetime(2025, 3, 1, tzinfo=UTC))
    daily, monthly = result.run_requests
    assert daily.tags["dagster/asset_partition_range_start"] == f"{FIRST_DAY}|a/b"
    assert "2001-01-01 (config) is before the first partition day" in daily.tags["gh_assets/start_before_partitions"]
    assert monthly.tags["dagster/asset_partition_range_start"] >= f"{FIRST_DAY.replace(day=1)}|a/b"
