"""Publish assets end to end: an emulated ingest into DuckDB, then PostgreSQL equals DuckDB per partition,
reruns are identical, a failure keeps the previous rows, the DSN never leaks, and sql/ runs on both engines."""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest
from dagster._serdes import serialize_value
from dagster_duckdb import DuckDBResource

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github.partitions import REPOS_PARTITION, month_range_tags, partition_key, range_tags
from gh_assets.publish.assets import PUBLISH_ASSETS, publish_commits, publish_issues, publish_pull_requests
from gh_assets.publish.resources import DSN_ENV, PostgresResource
from gh_assets_tests.ingest import ingest
from gh_assets_tests.publish.conftest import PASSWORD

pytestmark = pytest.mark.slow

REPO = "demo-org/alpha"
START, END = date(2025, 1, 1), date(2025, 2, 9)
KEYS = {"commits": "sha", "pull_requests": "number", "issues": "id"}
SQL_DIR = Path(__file__).resolve().parents[2] / "sql"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One emulated repository ingested through the CLI; yields the DuckDB warehouse with its marts."""
    root = tmp_path_factory.mktemp("publish")
    mp = pytest.MonkeyPatch()
    with Emulator(EmulatorConfig(seed=5, repos=(REPO,), issues_per_repo=200, start=str(START), days=40)) as emu:
        ingest(mp, emu.url, root, REPO, START, END)
    mp.undo()
    yield root / "data" / "warehouse.duckdb"


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        inst.add_dynamic_partitions(REPOS_PARTITION, [REPO])
        yield inst


def resources(warehouse: Path) -> dict[str, object]:
    return {"duckdb": DuckDBResource(database=str(warehouse)), "postgres": PostgresResource(dsn=dg.EnvVar(DSN_ENV))}


def publish(instance: dg.DagsterInstance, warehouse: Path, assets: list | None = None) -> list[dg.ExecuteInJobResult]:
    """Publish the whole window: commits by month, pull requests and issues by day (one run per partitioning)."""
    results = []
    assets = assets or PUBLISH_ASSETS
    if publish_commits in assets:
        results.append(dg.materialize([publish_commits], instance=instance, resources=resources(warehouse), tags=month_range_tags(REPO, START, END), raise_on_error=False))
    daily = [a for a in assets if a is not publish_commits]
    if daily:
        results.append(dg.materialize(daily, instance=instance, resources=resources(warehouse), tags=range_tags(REPO, START, END), raise_on_error=False))
    return results


def duck_rows(warehouse: Path, table: str) -> dict[object, tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM marts.{table}")
        i = [d[0] for d in cursor.description].index(KEYS[table])
        return {r[i]: tuple(r) for r in cursor.fetchall()}


def pg_rows(dsn: str, table: str) -> dict[object, tuple]:
    with psycopg.connect(dsn) as conn:
        cursor = conn.execute(f"SELECT * FROM marts.{table}")
        i = [d[0] for d in cursor.description].index(KEYS[table])
        return {r[i]: tuple(r) for r in cursor.fetchall()}


def materialisation(result: dg.ExecuteInJobResult, table: str) -> dict[str, object]:
    """The metadata of the step (one materialisation per partition, all with the step's metadata)."""
    events = result.asset_materializations_for_node(f"publish__{table}")
    return {k: v.value for k, v in events[0].metadata.items()} | {"materialisations": len(events)}


def checks(result: dg.ExecuteInJobResult) -> dict[str, bool]:
    return {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}


def test_publish_copies_every_mart_row(instance: dg.DagsterInstance, warehouse: Path, dsn_env: str) -> None:
    started = time.monotonic()
    results = publish(instance, warehouse)
    seconds = time.monotonic() - started
    assert all(r.success for r in results)
    assert {k: v for r in results for k, v in checks(r).items()} == {
        "commits_published_rows": True,
        "pull_requests_published_rows": True,
        "issues_published_rows": True,
    }
    for table in KEYS:
        duck = duck_rows(warehouse, table)
        assert duck, table
        assert pg_rows(dsn_env, table) == duck, table
    meta = {"commits": materialisation(results[0], "commits")} | {t: materialisation(results[1], t) for t in ("pull_requests", "issues")}
    assert meta["issues"]["rows_published"] == len(duck_rows(warehouse, "issues"))
    assert meta["issues"]["partitions"] == meta["issues"]["materialisations"] == (END - START).days + 1
    assert meta["commits"]["partitions"] == meta["commits"]["materialisations"] == 2
    print(f"published {({t: m['rows_published'] for t, m in meta.items()})} in {seconds:.2f}s "
          f"(step durations {({t: m['duration_seconds'] for t, m in meta.items()})})")


def test_rerun_leaves_identical_tables(instance: dg.DagsterInstance, warehouse: Path, dsn_env: str) -> None:
    publish(instance, warehouse)
    before = {t: pg_rows(dsn_env, t) for t in KEYS}
    results = publish(instance, warehouse)
    assert all(r.success for r in results)
    assert {t: pg_rows(dsn_env, t) for t in KEYS} == before
    issues = materialisation(results[1], "issues")
    assert issues["rows_replaced"] == issues["rows_published"] == len(before["issues"]) and issues["rows_moved_from_other_partitions"] == 0


def test_failure_mid_publish_keeps_the_previous_rows(instance: dg.DagsterInstance, warehouse: Path, dsn_env: str) -> None:
    publish(instance, warehouse, [publish_issues])
    before = pg_rows(dsn_env, "issues")
    with psycopg.connect(dsn_env, autocommit=True) as conn:
        # fails on the INSERT, after the transaction deleted the partitions' rows
        conn.execute("ALTER TABLE marts.issues ADD CONSTRAINT refuse_every_row CHECK (number < 0) NOT VALID")
    try:
        (result,) = publish(instance, warehouse, [publish_issues])
    finally:
        with psycopg.connect(dsn_env, autocommit=True) as conn:
            conn.execute("ALTER TABLE marts.issues DROP CONSTRAINT refuse_every_row")
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = failure.step_failure_data.error.cause.message  # Dagster wraps the asset's error
    assert "PublishError" in message and "rolled back" in message and "refuse_every_row" in message and REPO in message
    assert pg_rows(dsn_env, "issues") == before
    assert not result.get_asset_check_evaluations()  # no result: the asset failed before its check


def test_a_row_that_moved_partition_replaces_its_older_version(instance: dg.DagsterInstance, warehouse: Path, dsn_env: str, tmp_path: Path) -> None:
    publish(instance, warehouse, [publish_issues])
    moved = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, moved)
    with duckdb.connect(str(moved)) as con:
        # the issue's newest version now comes from a later day, as after it is updated again and re-ingested
        (issue_id, day) = con.execute("SELECT id, partition_date FROM marts.issues WHERE partition_date < ? ORDER BY id LIMIT 1", [END]).fetchone()
        con.execute("UPDATE marts.issues SET partition_date = partition_date + 1, title = 'moved' WHERE id = ?", [issue_id])
    key = partition_key(REPO, day + timedelta(days=1))
    result = dg.materialize([publish_issues], instance=instance, resources=resources(moved), partition_key=key)
    assert checks(result) == {"issues_published_rows": True}
    assert materialisation(result, "issues")["rows_moved_from_other_partitions"] == 1
    rows = pg_rows(dsn_env, "issues")
    assert rows == duck_rows(moved, "issues")
    assert rows[issue_id][-1] == day + timedelta(days=1) and "moved" in rows[issue_id]
    publish(instance, warehouse, [publish_issues])  # back to the module's warehouse
    assert pg_rows(dsn_env, "issues") == duck_rows(warehouse, "issues")


def test_the_dsn_never_appears_in_events_metadata_or_errors(
    instance: dg.DagsterInstance, warehouse: Path, dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV, dsn.replace(PASSWORD, "Wrong-" + PASSWORD[::-1]))
    (failed,) = publish(instance, warehouse, [publish_commits])
    assert not failed.success
    (failure,) = [e for e in failed.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error = failure.step_failure_data.error.cause  # Dagster wraps the asset's error
    assert "PostgresConnectionError" in error.message
    assert "password authentication failed" in error.message and DSN_ENV in error.message
    assert error.cause is None and error.context is None  # psycopg's own exception is not chained
    # every event and run record of every run of the module, the successful ones included
    for run in instance.get_runs():
        text = serialize_value(run) + "".join(serialize_value(e) for e in instance.all_logs(run.run_id))
        assert PASSWORD not in text and PASSWORD[::-1] not in text, run.run_id


def _query(name: str) -> str:
    return (SQL_DIR / name).read_text()


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b  # aware datetimes compare as instants, whatever each engine's session time zone
    return a == b


@pytest.mark.parametrize("name", sorted(p.name for p in SQL_DIR.glob("*.sql")))
def test_analyst_sql_runs_unchanged_on_both_engines(name: str, instance: dg.DagsterInstance, warehouse: Path, dsn_env: str) -> None:
    publish(instance, warehouse, [publish_commits, publish_pull_requests])
    query = _query(name)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        duck = con.execute(query).fetchall()
        duck_columns = [d[0] for d in con.description]
    with psycopg.connect(dsn_env) as conn:
        cursor = conn.execute(query)
        pg = cursor.fetchall()
        pg_columns = [d.name for d in cursor.description]
    assert duck and pg_columns == duck_columns
    assert len(pg) == len(duck)
    for d, p in zip(sorted(duck), sorted(pg), strict=True):
        assert all(_same(x, y) for x, y in zip(d, p, strict=True)), (d, p)
