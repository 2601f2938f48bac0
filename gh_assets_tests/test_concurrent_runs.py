"""Two runs writing the DuckDB marts at the same time, from two processes, both succeed."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets_tests.ingest import point_cli_at

REPOS = ("demo-org/left", "demo-org/right")
START, END = date(2025, 1, 1), date(2025, 1, 10)


@pytest.mark.slow
def test_two_processes_load_marts_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(EmulatorConfig(seed=3, repos=REPOS, issues_per_repo=120, start=str(START), days=10)) as emu:
        data_dir, home = point_cli_at(monkeypatch, emu.url, tmp_path, REPOS[0], START)
        (tmp_path / "sources.yaml").write_text(f"github:\n  start: {START}\n  repos: [{', '.join(REPOS)}]\n")
        home.mkdir(parents=True)
        (home / "dagster.yaml").write_text((Path(__file__).parents[1] / "dagster.yaml").read_text())  # pools: duckdb limit 1
        # The instance's SQLite schema is created once (as `dagster dev` does); two first-time creators race.
        dg.DagsterInstance.from_config(str(home)).dispose()
        command = [sys.executable, "-m", "gh_assets.cli", "ingest", "--start", str(START), "--end", str(END)]
        procs = [
            subprocess.Popen([*command, "--repo", repo], env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for repo in REPOS
        ]
        outputs = [p.communicate(timeout=500) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out[-2000:] + err[-2000:]
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        loaded = dict(con.execute("SELECT repository, count(*) FROM marts.issues GROUP BY 1").fetchall())
        prs = dict(con.execute("SELECT repository, count(*) FROM marts.pull_requests GROUP BY 1").fetchall())
    assert set(loaded) == set(REPOS) and all(n > 0 for n in loaded.values())
    assert set(prs) == set(REPOS)
