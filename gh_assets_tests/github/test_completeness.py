"""Completeness against GitHub's own counts: a normal ingest passes; lost rows of one day fail naming the gap; --repair restores."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from gh_assets import cli
from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github import completeness
from gh_assets.github.client import GitHubClient
from gh_assets.github.partitions import range_tags
from gh_assets.marts.assets import mart_issues
from gh_assets.marts.completeness import latest_findings
from gh_assets_tests.ingest import ingest, point_cli_at

REPO = "demo-org/alpha"
START, END = date(2025, 1, 1), date(2025, 1, 12)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(seed=11, repos=(REPO,), issues_per_repo=150, start="2025-01-01", days=12)) as emulator:
        yield emulator


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


def test_github_counts_match_the_emulator(emu: Emulator) -> None:
    start, end = datetime(2025, 1, 3, tzinfo=UTC), datetime(2025, 1, 6, tzinfo=UTC)
    issues = [i for i in emu.issues(REPO) if "2025-01-03" <= i["updated_at"][:10] <= "2025-01-05"]
    commits = [c for c in emu.commits(REPO) if "2025-01-03" <= c["commit"]["committer"]["date"][:10] <= "2025-01-05"]
    with GitHubClient(emu.url) as client:
        assert completeness.ISSUES.count(client, REPO, start, end).total == sum(1 for i in issues if "pull_request" not in i)
        assert completeness.PULL_REQUESTS.count(client, REPO, start, end).total == sum(1 for i in issues if "pull_request" in i)
        assert completeness.COMMITS.count(client, REPO, start, end).total == len(commits) > 1


def test_a_shortfall_is_narrowed_to_its_days(emu: Emulator) -> None:
    lost = date(2025, 1, 7)
    updated = [datetime.fromisoformat(i["updated_at"]) for i in emu.issues(REPO) if "pull_request" not in i]

    def ours(lo: datetime, hi: datetime) -> int:  # everything but the issues last updated on `lost`
        return sum(1 for u in updated if lo <= u < hi and u.date() != lost)

    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 13, tzinfo=UTC)
    with GitHubClient(emu.url) as client:
        found = completeness.check(client, completeness.ISSUES, REPO, start, end, ours)
    gone = sum(1 for u in updated if u.date() == lost)
    assert found.missing == gone > 0 and found.extra == 0
    assert [(g.first_day, g.last_day, g.missing) for g in found.gaps] == [(lost, lost, gone)]
    assert f"{gone} missing ({gone} in 2025-01-07..2025-01-07)" in found.describe()


def test_normal_ingest_passes_and_lost_rows_fail_until_repaired(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir, home = ingest(monkeypatch, emu.url, tmp_path, REPO, START, END)
    out = capsys.readouterr().out
    assert "Completeness against GitHub" in out
    lines = [line for line in out.splitlines() if line.startswith(f"  {REPO}") and "github" in line]
    assert len(lines) == 3 and all(line.endswith("complete") for line in lines), lines

    # Lose one day of staged issues, as if its pages had never been fetched, and reload the mart from the lake.
    lost = date(2025, 1, 6)
    shutil.rmtree(data_dir / "lake" / "staged" / "issues" / "repo=demo-org__alpha" / f"date={lost}")
    gone = sum(1 for i in emu.issues(REPO) if "pull_request" not in i and i["updated_at"][:10] == str(lost))
    assert gone > 0
    with _instance(home) as instance:
        ok, checks, error = cli.materialise_in_process(instance, [mart_issues], range_tags(REPO, START, END))
        assert not ok and ("marts/issues", "issues_complete", "failed") in checks, (checks, error)
        (finding,) = [f for f in latest_findings(instance) if f.table == "issues"]
    assert (finding.missing, finding.gaps) == (gone, ((lost, lost, gone),))
    assert f"{gone} MISSING (2025-01-06..2025-01-06: {gone})" in finding.line()

    emu.clear_log()
    assert cli.main(["ingest", "--repair"]) == 0
    out = capsys.readouterr().out
    assert f"repairing {REPO} issues 2025-01-06 .. 2025-01-06" in out
    assert [r.status for r in emu.request_log if "/issues" in r.path and "search" not in r.path] and all(
        r.status == 200 for r in emu.request_log
    )  # pages fetched whole: no stored ETag sent
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        (ours,) = con.execute("SELECT count(*) FROM marts.issues WHERE NOT is_pull_request").fetchone()
    assert ours == sum(1 for i in emu.issues(REPO) if "pull_request" not in i)
    with _instance(home) as instance:
        assert all(f.missing == 0 for f in latest_findings(instance))
    assert cli.main(["ingest", "--repair"]) == 0
    assert "nothing to repair" in capsys.readouterr().out


def test_replay_skips_the_completeness_check(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    point_cli_at(monkeypatch, emu.url, tmp_path, REPO, START)
    assert cli.main(["ingest", "--repo", REPO, "--start", "2025-01-02", "--end", "2025-01-03", "--entities", "issues"]) == 0
    emu.clear_log()
    assert cli.main(["replay", "--repo", REPO, "--start", "2025-01-02", "--end", "2025-01-03", "--entities", "issues"]) == 0
    assert emu.request_log == []


def test_a_page_kept_in_the_lake_cannot_hide_a_loss_from_repair(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stored pages missing one day's issues: a rerun reuses them (304), the check names the day, --repair refetches."""
    import json

    import orjson
    import zstandard

    data_dir, _ = ingest(monkeypatch, emu.url, tmp_path, REPO, START, END)
    raw = data_dir / "lake" / "raw" / "issues" / "repo=demo-org__alpha"
    first_page = json.loads((raw / f"date={START}" / "manifest.json").read_text())["pages"][0]
    items = orjson.loads(zstandard.ZstdDecompressor().decompress((raw / f"date={START}" / first_page["file"]).read_bytes()))
    lost = date.fromisoformat(items[len(items) // 3]["updated_at"][:10])
    assert items[-1]["updated_at"][:10] != str(lost)  # the keyset's next request stays the same: its stored ETag is sent
    gone = sum(1 for i in items if i["updated_at"][:10] == str(lost) and "pull_request" not in i)
    # every stored copy of that page loses the day's items (a capture that lost them: GitHub's ETag still matches)
    for manifest in raw.glob("date=*/manifest.json"):
        for page in json.loads(manifest.read_text())["pages"]:
            if page["key"] == first_page["key"]:
                path = manifest.parent / page["file"]
                body = orjson.loads(zstandard.ZstdDecompressor().decompress(path.read_bytes()))
                path.write_bytes(zstandard.ZstdCompressor().compress(orjson.dumps([i for i in body if i["updated_at"][:10] != str(lost)])))
    for day_dir in (data_dir / "lake" / "staged" / "issues" / "repo=demo-org__alpha").glob(f"date={lost}"):
        shutil.rmtree(day_dir)
    capsys.readouterr()

    # A plain rerun sends the stored ETags, gets 304s and rebuilds from the short page: the check fails naming the
    # day (and the days after it: a short page ends the sweep, so the second page is never asked for).
    assert cli.main(["ingest", "--repo", REPO, "--start", str(START), "--end", str(END), "--entities", "issues"]) != 0
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if " issues " in line and "MISSING" in line]
    assert f"({lost}..{lost}: {gone}" in line and f"{END}..{END}:" in line, line

    emu.clear_log()
    assert cli.main(["ingest", "--repair"]) == 0
    assert not [r for r in emu.request_log if r.status == 304]
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        (ours,) = con.execute("SELECT count(*) FROM marts.issues WHERE NOT is_pull_request").fetchone()
    assert ours == sum(1 for i in emu.issues(REPO) if "pull_request" not in i)
