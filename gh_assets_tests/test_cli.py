"""The gh-assets command: the offline demo end to end, ingest, repos, and one-paragraph errors."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig

ROOT = Path(__file__).resolve().parents[1]


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "GITHUB_API_URL", "GH_ASSETS_DATA_DIR", "GH_ASSETS_CONFIG", "GITHUB_TOKEN")}
    return subprocess.run(
        [sys.executable, "-m", "gh_assets.cli", *args], cwd=cwd, env={**base, **env}, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    (tmp_path / "sources.yaml").write_text("github:\n  start: 2025-01-01\n  repos:\n    - demo-org/one\n    - name: demo-org/two\n      start: 2025-01-10\n")
    return tmp_path


@pytest.mark.slow
def test_demo_materialises_everything_and_prints_a_summary(workdir: Path) -> None:
    proc = run_cli(["demo", "--issues", "150", "--days", "20"], workdir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    # per repository: 7 checks on github/issues, 2 on each other staged entity (3 on reviews and pr_files: their counts),
    # 1 on each mart (2 on issues, pull requests and commits: their completeness against GitHub); 4 feature tables;
    # 17 on the six analytics marts (keys, reconciliation with their source marts, durations where they have some)
    assert "Checks: 77 passed, 0 warned, 0 failed" in out
    assert "marts/pr_lead_times        3 passed   0 warned   0 failed" in out
    assert "features/contributor       1 passed   0 warned   0 failed" in out
    assert "github/issues             14 passed   0 warned   0 failed" in out
    assert "github/pull_requests       4 passed   0 warned   0 failed" in out
    assert f"Lake:      {workdir / 'data' / 'lake'}" in out
    assert str(workdir / "data" / "warehouse.duckdb") in out
    with duckdb.connect(str(workdir / "data" / "warehouse.duckdb"), read_only=True) as con:
        per_repo = dict(con.execute("SELECT repository, count(*) FROM marts.issues GROUP BY 1").fetchall())
    assert per_repo["demo-org/one"] == 150
    # demo-org/two starts on 2025-01-10: only issues last updated since then
    assert 0 < per_repo["demo-org/two"] < 150
    assert f"duckdb marts.issues                    {sum(per_repo.values())}" in out
    assert (workdir / ".dagster_home" / "history" / "runs").exists()
    report = run_cli(["quality-report", "--format", "json"], workdir)
    assert report.returncode == 0, report.stderr[-2000:]
    document = json.loads(report.stdout)
    assert document["summary"]["github/issues"] == {"passed": 7, "warned": 0, "failed": 0}
    assert document["summary"]["marts/issues"] == {"passed": 2, "warned": 0, "failed": 0}
    assert document["summary"]["marts/commits"] == {"passed": 2, "warned": 0, "failed": 0}
    assert {c["check"] for c in document["checks"]} >= {"issues_schema", "issues_drift", "issues_reconciled"}


def test_ingest_refuses_a_bad_repo_name(workdir: Path) -> None:
    proc = run_cli(["ingest", "--repo", "../etc", "--start", "2025-01-01", "--end", "2025-01-02"], workdir)
    assert proc.returncode == 2
    assert proc.stderr.startswith("gh-assets: --repo '../etc'") and "Traceback" not in proc.stderr


def test_ingest_of_a_missing_repo_fails_in_one_paragraph(workdir: Path) -> None:
    with Emulator(EmulatorConfig(seed=1, repos=("demo-org/one",), issues_per_repo=5)) as emu:
        proc = run_cli(
            ["ingest", "--repo", "demo-org/gone", "--start", "2025-01-01", "--end", "2025-01-01"],
            workdir,
            GITHUB_API_URL=emu.url,
            GITHUB_TOKEN="ghp_secretvalue123",
            GH_ASSETS_LOG_LEVEL="CRITICAL",
        )
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Ingesting demo-org/gone failed: NotFound: " in proc.stderr and "no partition was added" in proc.stderr.replace("\n  ", " ")
    assert "NotFound" in proc.stderr and "does not exist" in proc.stderr
    assert "ghp_secretvalue123" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_repos_sync_and_list(workdir: Path) -> None:
    proc = run_cli(["repos", "sync"], workdir)
    assert proc.returncode == 0, proc.stderr
    assert "added: demo-org/one, demo-org/two" in proc.stdout
    listed = run_cli(["repos", "list"], workdir)
    assert "demo-org/two" in listed.stdout and "start 2025-01-10" in listed.stdout
