"""Page-size changes under 502s lose nothing end to end: every commit and pull request of the emulator is staged."""

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from gh_assets import cli
from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets_tests.ingest import point_cli_at

REPO = "emu-org/hello-world"


@pytest.mark.slow
def test_fifteen_percent_502s_keep_every_commit_and_pull(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The reported loss: 15% 502s shrank the page 100 -> 50 -> 25 -> 12 -> 10 and a page-number formula
    # jumped over items 875-1439 of /commits. The sweep now counts items, so the shrink costs no record.
    cfg = EmulatorConfig(
        seed=5, repos=(REPO,), issues_per_repo=400, commits_per_repo=1666, start="2024-01-01", days=517, fault_rate=0.15, fault_kinds=("502",),
        large_page_fail_above=11,  # pages above 11 items time out: every sweep goes 100 -> 50 -> 25 -> 12 -> 10 and back
    )
    with Emulator(cfg) as emu:
        data_dir, _ = point_cli_at(monkeypatch, emu.url, tmp_path, REPO, date(2024, 1, 1))
        code = cli.main(["ingest", "--repo", REPO, "--start", "2024-01-01", "--end", "2025-05-31", "--entities", "commits,pulls"])
        assert code == 0
        sizes = {int(r.query["per_page"]) for r in emu.request_log if "per_page" in r.query}
        commits = {c["sha"] for c in emu.commits(REPO)}
        pulls = {p["number"] for p in emu.pulls(REPO)}
        faults = sum(1 for r in emu.request_log if r.fault)
    staged = data_dir / "lake" / "staged"
    got_commits = set(pl.scan_parquet(staged / "commits" / "**" / "*.parquet", hive_partitioning=True).select("sha").collect()["sha"])
    got_pulls = set(pl.scan_parquet(staged / "pull_requests" / "**" / "*.parquet", hive_partitioning=True).select("number").collect()["number"])
    assert faults > 10  # the random 502s really happened
    assert {100, 50, 25, 12, 10} <= sizes  # and pages shrank through sizes that do not divide each other
    assert len(commits) == 1666
    assert got_commits == commits
    assert got_pulls == pulls
