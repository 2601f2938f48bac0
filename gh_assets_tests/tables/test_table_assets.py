"""Table assets from config: checks enforced, dedup, partitioned lake output, identical reruns, DuckDB = staged, config errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pytest

from gh_assets.config import ConfigError, load_sources
from gh_assets.tables.assets import table_assets
from gh_assets_tests.tables.conftest import HEADER, Run

EVENTS = """\
  - name: events
    kind: csv
    path: events.csv
    delimiter: ";"
    columns: {ID: int, Who: string, kind: string, score: float, at: datetime, ok: bool}
    rename: {ID: id, Who: login}
    dedup_keys: [id]
    partition_column: at
    checks:
      not_null: [login]
      unique: [[login, at]]
      ranges: {score: {min: 0, max: 10}, at: {min: 2025-01-01}}
      allowed: {kind: [push, pull]}
"""
ROWS = """\
ID;Who;kind;score;at;ok
1;ann;push;1.5;2025-01-01T10:00:00Z;true
2;bob;pull;2;2025-01-01 23:30:00+02:00;no
2;bob;pull;3;2025-01-02T08:00:00Z;yes
3;cid;fork;4;2025-01-02T09:00:00Z;true
4;;push;5;2025-01-02T10:00:00Z;false
5;dee;push;11;2025-01-03T00:00:00Z;1
6;eve;push;1;2024-12-31T00:00:00Z;0
7;fay;push;1;;true
8;ann;push;9;2025-01-01T10:00:00Z;true
"""


def test_checks_from_config_partitions_and_duckdb(project: Callable[..., Run]) -> None:
    run = project(EVENTS, {"events.csv": ROWS})
    assert run.checks() == {"events_schema": False, "events_reconciled": True}
    staged = run.staged("events").sort("id")
    assert staged.columns == ["id", "login", "kind", "score", "at", "ok"]
    assert staged.select("id", "login", "ok").rows() == [(2, "bob", True)]  # the later row of id 2 wins
    reasons = dict(run.quarantined("events").select("id", "quarantine_reason").rows())
    assert reasons == {
        "1": "duplicate (login, at)",
        "3": "kind: isin(['push', 'pull']) (value fork)",
        "4": "login: not_nullable (value null)",
        "5": "score: in_range(0.0, 10.0) (value 11.0)",
        "6": "at: greater_than_or_equal_to(2025-01-01 00:00:00+00:00) (value 2024-12-31 00:00:00.000000+00:00)",
        "7": "at: missing (partition_column)",
        "8": "duplicate (login, at)",
    }
    lake = run.data_dir / "lake"
    assert sorted(p.name for p in (lake / "staged" / "tables" / "events").iterdir()) == [
        "date=2024-12-31", "date=2025-01-01", "date=2025-01-02", "date=2025-01-03"
    ]
    assert (lake / "quarantine" / "tables" / "events" / "date=unplaced" / "part-0.parquet").exists()
    meta = run.metadata("events")
    assert (meta["records_read"], meta["records_written"], meta["records_failed"], meta["duplicates_dropped"]) == (9, 1, 7, 1)
    assert run.check_metadata("events_reconciled")["duckdb_rows_loaded"] == 1
    assert run.duckdb("""SELECT id, login, timezone('UTC', "at") FROM tables.events""") == [(2, "bob", datetime(2025, 1, 2, 8))]


def test_rerun_is_identical_and_reloads_only_its_days(project: Callable[..., Run], tmp_path: Path) -> None:
    config = EVENTS.replace("      unique: [[login, at]]\n", "")
    good = "ID;Who;kind;score;at;ok\n1;ann;push;1;2025-01-01T10:00:00Z;true\n2;bob;pull;2;2025-01-02T10:00:00Z;false\n"
    first = project(config, {"events.csv": good})
    assert first.success, first.error()
    files = sorted((tmp_path / "data" / "lake" / "staged").rglob("*.parquet"))
    before = [f.read_bytes() for f in files]
    rows = first.duckdb("SELECT * FROM tables.events ORDER BY id")
    second = project(config, {"events.csv": good})
    assert second.success
    assert [f.read_bytes() for f in sorted((tmp_path / "data" / "lake" / "staged").rglob("*.parquet"))] == before
    assert second.duckdb("SELECT * FROM tables.events ORDER BY id") == rows
    # A later file with one day: that day is replaced, the other day stays, DuckDB matches the lake.
    third = project(config, {"events.csv": "ID;Who;kind;score;at;ok\n3;cid;push;1;2025-01-02T11:00:00Z;true\n"})
    assert third.success
    assert third.duckdb("SELECT id FROM tables.events ORDER BY id") == [(1,), (3,)]
    assert sorted(third.staged("events")["id"]) == [1, 3]


def test_inferred_schema_is_shown_and_the_all_partition(project: Callable[..., Run]) -> None:
    config = "  - name: people\n    kind: csv\n    path: people.csv\n    infer: true\n    rename: {Name: name}\n"
    run = project(config, {"people.csv": "Name,age,height,born,member,seen\nann,30,1.7,2000-01-02,true,2025-01-01T00:00:00Z\nbob,,1,1999-12-31,false,\n"})
    assert run.success, run.error()
    meta = run.metadata("people")
    assert "| name | string |" in meta["inferred_schema"] and "| age | int |" in meta["inferred_schema"]
    assert "| height | float |" in meta["inferred_schema"] and "| born | date |" in meta["inferred_schema"]
    assert "| member | bool |" in meta["inferred_schema"] and "| seen | datetime |" in meta["inferred_schema"]
    assert [p.name for p in (run.data_dir / "lake" / "staged" / "tables" / "people").iterdir()] == ["date=all"]
    assert run.duckdb("SELECT name, age, born FROM tables.people ORDER BY name") == [("ann", 30, date(2000, 1, 2)), ("bob", None, date(1999, 12, 31))]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  - {name: Bad-Name, kind: csv, path: a.csv, infer: true}\n", "tables[0].name: 'Bad-Name' is not a table name"),
        ("  - {name: t, kind: csv, path: a.csv}\n", "give either columns (name: type) or infer: true"),
        ("  - {name: t, kind: csv, path: a.csv, columns: {a: money}}\n", "tables[0].columns.a: Input should be 'string', 'int'"),
        ("  - {name: t, kind: csv, path: a.csv, columns: {a: int}, checks: {ranges: {a: {min: x}}}}\n", "checks.ranges.a.min: 'x' is not a int"),
        ("  - {name: t, kind: csv, path: a.csv, columns: {a: string}, partition_column: a}\n", "partition_column 'a' must be a date or datetime column"),
        ("  - {name: t, kind: csv, path: a.csv, columns: {a: int}, dedup_keys: [b]}\n", "unknown columns b"),
        ("  - {name: t, kind: sql, dsn_env: 'postgresql://u:p@h/db', table: x, infer: true}\n", "dsn_env is the NAME of an environment variable"),
        ("  - {name: t, kind: sql, dsn_env: PG, infer: true}\n", "kind sql needs exactly one of query and table"),
        ("  - {name: t, kind: csv, path: 'gs://b/a.csv', infer: true}\n", "a local path or an s3:// URL is supported"),
        ("  - {name: t, kind: csv, path: a.csv, infer: true}\n  - {name: t, kind: csv, path: b.csv, infer: true}\n", "table 't' is listed twice"),
    ],
)
def test_bad_table_config_names_the_file_and_field(tmp_path: Path, entry: str, expected: str) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(HEADER + entry)
    with pytest.raises(ConfigError) as info:
        load_sources(config)
    assert str(config) in str(info.value) and expected in str(info.value)
    with pytest.raises(ConfigError):  # the definitions fail to load with the same message
        table_assets(config)


def test_the_shipped_config_defines_the_demo_table() -> None:
    root = Path(__file__).resolve().parents[2]
    (asset,) = table_assets(root / "sources.yaml")
    assert asset.key == dg.AssetKey(["tables", "team_members"])
    checks = {k.name for k in asset.check_keys}
    assert checks == {"team_members_schema", "team_members_reconciled"}
    assert all(spec.blocking for spec in asset.check_specs)


def test_demo_table_materialises(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gh_assets.tables.runs import materialise_tables

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("GH_ASSETS_DATA_DIR", str(tmp_path))
    with dg.instance_for_test() as instance:
        ok, checks, error = materialise_tables(instance, str(root / "sources.yaml"))
    assert (ok, error) == (True, None)
    assert sorted(checks) == [("tables/team_members", "team_members_reconciled", "passed"), ("tables/team_members", "team_members_schema", "passed")]
