"""Dagster's standard metadata: each partition of a range run carries its own figures, read back from the instance."""

import shutil
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from gh_assets.definitions import build_defs

from gh_assets.emulator import Emulator
from gh_assets.github.assets import ISSUES, RAW_ISSUE_PAGES, issues, raw_issue_pages
from gh_assets.github.entity_assets import RAW_PULL_PAGES, pull_requests, raw_pull_pages
from gh_assets.github.partitions import REPOS_PARTITION, partition_key, range_tags
from gh_assets.github.schemas import IssueSchema
from gh_assets.lake import Lake
from gh_assets.marts.assets import MART_ISSUES, mart_issues
from gh_assets.marts.sql import column_comments
from gh_assets.metadata import model_table_schema
from gh_assets_tests.conftest import DEMO_REPOS, make_resources
from gh_assets_tests.test_cli import ROOT, run_cli

REPO = DEMO_REPOS[0]
DAYS = [date(2025, 1, 6) + timedelta(days=n) for n in range(4)]


def latest(instance: dg.DagsterInstance, key: dg.AssetKey, day: date) -> dict[str, object]:
    """The metadata of the newest materialisation of ``key``'s partition (REPO, day), as stored in the instance."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[str(partition_key(REPO, day))]), limit=1
    ).records
    assert records, f"no materialisation of {key.to_user_string()} {day}"
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def test_range_run_reports_each_partition_its_own_figures(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, [REPO])
    resources = make_resources(emulator.url, tmp_path)
    result = dg.materialize(
        [raw_issue_pages, issues, mart_issues, raw_pull_pages, pull_requests], instance=instance, resources=resources, tags=range_tags(REPO, DAYS[0], DAYS[-1])
    )
    assert result.success
    lake = Lake(tmp_path / "lake")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        mart_days = dict(con.execute("SELECT partition_date, count(*) FROM marts.issues GROUP BY 1").fetchall())
        mart_columns = [r[0] for r in con.execute("DESCRIBE marts.issues").fetchall()]
        mart_comments = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'issues' AND comment IS NOT NULL").fetchall())
    assert mart_days and sum(mart_days.values()) == sum(1 for i in emulator.issues(REPO) if DAYS[0].isoformat() <= i["updated_at"][:10] <= DAYS[-1].isoformat())
    lineage = latest(instance, MART_ISSUES, DAYS[0])["dagster/column_lineage"].deps_by_column
    assert lineage["title"] == [dg.TableColumnDep(asset_key=ISSUES, column_name="title")] and set(lineage) <= set(mart_columns)
    mart_schema = latest(instance, MART_ISSUES, DAYS[0])["dagster/column_schema"]
    assert [c.name for c in mart_schema.columns] == mart_columns
    # descriptions from the CREATE TABLE's comments, written as COMMENT ON COLUMN (the duckdb CLI shows them)
    assert {c.name: c.description for c in mart_schema.columns}["state"] == mart_comments["state"] == "open | closed"
    per_day = {day: pl.read_parquet(lake.parquet_path("staged", "issues", REPO, day)).height for day in DAYS}
    expected = {day: sum(1 for i in emulator.issues(REPO) if i["updated_at"][:10] == day.isoformat()) for day in DAYS}
    assert per_day == expected and len(set(per_day.values())) > 1  # days that differ, so a run total would show

    for day in DAYS:
        staged = latest(instance, ISSUES, day)
        assert staged["dagster/row_count"] == staged["rows"] == per_day[day]
        assert staged["run_total_rows"] == sum(per_day.values())
        assert staged["dagster/uri"].startswith("file://") and staged["dagster/uri"].endswith(day.isoformat())
        raw = latest(instance, RAW_ISSUE_PAGES, day)
        assert raw["records_listed"] >= per_day[day] and raw["pages"] >= 1 and raw["bytes"] > 0
        assert raw["dagster/row_count"] == raw["records_listed"]
        pulls_staged = pl.read_parquet(lake.parquet_path("staged", "pull_requests", REPO, day)).height
        assert latest(instance, dg.AssetKey(["github", "pull_requests"]), day)["dagster/row_count"] == pulls_staged
        assert latest(instance, RAW_PULL_PAGES, day)["pages"] >= 0
        mart = latest(instance, MART_ISSUES, day)
        assert mart["dagster/row_count"] == mart_days.get(day, 0) and mart["dagster/table_name"] == "marts.issues"
    # Pages and records add up to the run's totals; requests are the run's (retries are not a partition's).
    raw_days = [latest(instance, RAW_ISSUE_PAGES, day) for day in DAYS]
    assert sum(r["pages"] for r in raw_days) >= raw_days[0]["run_total_pages"] - 1  # a page past the range sits on the last day
    assert raw_days[0]["run_total_requests"] >= 1

    # One event per partition: the figures ride on Dagster's own events, not on extra ones.
    events = result.get_asset_materialization_events()
    assert sum(1 for e in events if e.asset_key == ISSUES) == len(DAYS)
    assert sum(1 for e in events if e.asset_key == RAW_ISSUE_PAGES) == len(DAYS)


def test_staged_column_schema_is_the_pandera_model(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, [REPO])
    resources = make_resources(emulator.url, tmp_path)
    assert dg.materialize([raw_issue_pages, issues], instance=instance, resources=resources, partition_key=partition_key(REPO, DAYS[0])).success
    schema = latest(instance, ISSUES, DAYS[0])["dagster/column_schema"]
    staged = pl.read_parquet(Lake(tmp_path / "lake").parquet_path("staged", "issues", REPO, DAYS[0]))
    assert [c.name for c in schema.columns] == staged.columns == list(IssueSchema.to_schema().columns)
    assert schema == model_table_schema(IssueSchema, column_comments("issues_create"))
    assert {c.name: c.description for c in schema.columns}["number"] == "the #number within the repository"  # the mart's comment


@pytest.mark.slow
def test_after_the_demo_every_asset_has_a_row_count_and_tables_their_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    tables = (ROOT / "sources.yaml").read_text().split("\ntables:", 1)[1].replace("demo/data/", f"{ROOT}/demo/data/")
    (tmp_path / "sources.yaml").write_text(f"github:\n  start: 2025-01-01\n  repos: [demo-org/one]\ntables:{tables}")
    proc = run_cli(["demo", "--issues", "60", "--days", "10"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / ".dagster_home"))  # the batched event log's default folder
    monkeypatch.setenv("GH_ASSETS_CONFIG", str(tmp_path / "sources.yaml"))
    graph = build_defs().resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    lake = Lake(tmp_path / "data" / "lake")
    with dg.DagsterInstance.from_config(str(tmp_path / ".dagster_home")) as instance, duckdb.connect(
        str(tmp_path / "data" / "warehouse.duckdb"), read_only=True
    ) as con:
        missing = []
        for key in keys:
            if key.path[-1] in ("feast_registry", "online_store"):
                continue  # the Feast store (when installed) is no table of ours, and the demo does not fill it
            event = instance.get_latest_materialization_event(key)
            meta = event.asset_materialization.metadata if event and event.asset_materialization else {}
            if "dagster/row_count" not in meta:
                missing.append(key.to_user_string())
                continue
            if key.path[0] == "github" and not key.path[-1].startswith("raw_"):
                staged = pl.read_parquet(lake.parquet_files("staged", key.path[-1])[0])
                assert [c.name for c in meta["dagster/column_schema"].schema.columns] == staged.columns, key
            if key.path[0] in ("marts", "features"):
                table = f"{key.path[0]}.{key.path[-1]}"
                columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
                assert [c.name for c in meta["dagster/column_schema"].schema.columns] == columns, key
                assert meta["dagster/table_name"].value == table
        assert not missing, f"no dagster/row_count on {missing}"
