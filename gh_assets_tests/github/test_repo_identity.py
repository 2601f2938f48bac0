"""Repository names are case-insensitive: one partition, one lake folder, one mart row per item; 404s are not kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from gh_assets import cli
from gh_assets.config import load_sources, repo_slug
from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github.partitions import REPOS_PARTITION
from gh_assets.github.sensors import plan_repo_sync
from gh_assets_tests.ingest import point_cli_at

CANONICAL = "emu-org/Hello-World"  # GitHub's spelling (full_name)
START, END = date(2025, 1, 1), date(2025, 1, 10)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(seed=3, repos=(CANONICAL,), issues_per_repo=80, start="2025-01-01", days=10)) as emulator:
        yield emulator


def _instance(home: Path) -> dg.DagsterInstance:
    home.mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.from_config(str(home))


def test_two_spellings_make_one_partition_one_folder_and_one_mart_row(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir, home = point_cli_at(monkeypatch, emu.url, tmp_path, "emu-org/hello-world", START)
    for spelling in ("EMU-ORG/HELLO-WORLD", "emu-org/hello-world"):
        assert cli.main(["ingest", "--repo", spelling, "--start", str(START), "--end", str(END)]) == 0

    with _instance(home) as instance:
        assert instance.get_dynamic_partitions(REPOS_PARTITION) == [CANONICAL]  # GitHub's spelling, once
    for layer in ("raw", "staged"):
        for entity_dir in (data_dir / "lake" / layer).iterdir():
            assert [p.name for p in entity_dir.iterdir() if p.name.startswith("repo=")] == ["repo=emu-org__hello-world"], entity_dir
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        for table, key in (("issues", "id"), ("pull_requests", "number"), ("issue_comments", "id"), ("commits", "sha")):
            repos, rows, keys = con.execute(f"SELECT count(DISTINCT repository), count(*), count(DISTINCT {key}) FROM marts.{table}").fetchone()
            assert (repos, rows) == (1, keys), table
            assert con.execute(f"SELECT DISTINCT repository FROM marts.{table}").fetchall() == [(CANONICAL,)]
        (issues,) = con.execute("SELECT count(*) FROM marts.issues").fetchone()
        assert issues == sum(1 for i in emu.issues(CANONICAL) if i["updated_at"][:10] <= str(END))
        (health,) = con.execute("SELECT count(*) FROM (SELECT repository, day FROM marts.repo_health_daily GROUP BY ALL HAVING count(*) > 1)").fetchone()
        assert health == 0


def test_a_partition_in_another_spelling_is_reused(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, home = point_cli_at(monkeypatch, emu.url, tmp_path, CANONICAL, START)
    with _instance(home) as instance:
        instance.add_dynamic_partitions(REPOS_PARTITION, ["EMU-ORG/hello-world"])  # e.g. added before this rule
    assert cli.main(["ingest", "--repo", CANONICAL, "--start", str(START), "--end", str(START), "--entities", "issues"]) == 0
    with _instance(home) as instance:
        assert instance.get_dynamic_partitions(REPOS_PARTITION) == ["EMU-ORG/hello-world"]


def test_a_repo_answering_404_is_reported_and_not_kept(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _, home = point_cli_at(monkeypatch, emu.url, tmp_path, CANONICAL, START)
    with _instance(home) as instance:
        instance.add_dynamic_partitions(REPOS_PARTITION, ["emu-org/Gone"])  # an earlier ingest of a repo deleted since
    code = cli.main(["ingest", "--repo", "emu-org/gone", "--repo", "emu-org/never", "--start", str(START), "--end", str(START)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Ingesting emu-org/gone failed: NotFound: GitHub answers 404 for /repos/emu-org/gone" in err
    assert "partition 'emu-org/Gone' was removed" in err.replace("\n  ", " ")
    assert "emu-org/never" in err and "no partition was added" in err.replace("\n  ", " ")
    with _instance(home) as instance:
        assert instance.get_dynamic_partitions(REPOS_PARTITION) == []


def test_a_configured_repo_answering_404_keeps_its_partition(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, home = point_cli_at(monkeypatch, emu.url, tmp_path, "emu-org/gone", START)  # the sources config lists it
    with _instance(home) as instance:
        instance.add_dynamic_partitions(REPOS_PARTITION, ["emu-org/gone"])
    assert cli.main(["ingest", "--repo", "emu-org/gone", "--start", str(START), "--end", str(START)]) == 2
    with _instance(home) as instance:
        assert instance.get_dynamic_partitions(REPOS_PARTITION) == ["emu-org/gone"]


def test_config_and_sync_compare_names_case_insensitively(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("github:\n  start: 2025-01-01\n  repos: [Emu-Org/Hello-World, b/two]\n")
    sources = load_sources(config)
    assert sources.repo_start("emu-org/hello-world") == date(2025, 1, 1) and sources.configured("B/TWO")
    result = plan_repo_sync(sources, ["emu-org/hello-world"], datetime(2025, 2, 1, tzinfo=UTC))
    adds = [list(r.partition_keys) for r in result.dynamic_partitions_requests if isinstance(r, dg.AddDynamicPartitionsRequest)]
    deletes = [r for r in result.dynamic_partitions_requests if isinstance(r, dg.DeleteDynamicPartitionsRequest)]
    assert adds == [["b/two"]] and not deletes  # the existing partition in another spelling stays
    assert repo_slug("Emu-Org/Hello-World") == repo_slug("emu-org/hello-world") == "emu-org__hello-world"


def test_the_config_sensor_adds_new_repositories_in_githubs_spelling(emu: Emulator, tmp_path: Path) -> None:
    from gh_assets.github.resources import GitHubResource, SourcesResource
    from gh_assets.github.sensors import github_repos_sensor

    config = tmp_path / "sources.yaml"
    config.write_text("github:\n  start: 2025-01-01\n  repos: [EMU-ORG/HELLO-WORLD, emu-org/missing]\n")
    resources = {"sources": SourcesResource(path=str(config)), "github": GitHubResource(api_url=emu.url)}
    with dg.instance_for_test() as instance:
        result = github_repos_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    adds = [list(r.partition_keys) for r in result.dynamic_partitions_requests if isinstance(r, dg.AddDynamicPartitionsRequest)]
    assert adds == [[CANONICAL, "emu-org/missing"]]  # a configured repository answering 404 is still added
    assert all(r.tags["dagster/asset_partition_range_end"].endswith(f"|{CANONICAL}") for r in result.run_requests[:2])
