"""Parquet and JSON Lines table sources on local disk: a file, a folder and a glob, native types kept, bad rows
quarantined with their file and line (or row), whole-file problems failing with one message, and the retry
policy: transient storage and database errors are retried, schema errors are not."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from gh_assets.tables import sources
from gh_assets.tables.assets import TABLE_RETRY, is_transient
from gh_assets.tables.sources import TableSourceError, TransientSourceError
from gh_assets_tests.tables.conftest import Run

PEOPLE = pl.DataFrame(
    {
        "login": ["ann", "bob", "cy", "dee"],
        "age": [31, 42, 27, 55],
        "score": [0.5, 1.5, 2.0, None],
        "joined": [datetime(2024, 1, 2, 10, tzinfo=UTC), datetime(2024, 1, 2, 23, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)],
        "tags": [["a"], [], ["b", "c"], None],
    }
)
DECLARED = "    columns: {login: string, age: int, score: float, joined: datetime, tags: string}\n"


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def rows_of(run: Run) -> list[tuple]:
    return run.duckdb("SELECT login, age, score, joined, tags FROM tables.people ORDER BY login")


EXPECTED = [
    ("ann", 31, 0.5, datetime(2024, 1, 2, 10, tzinfo=UTC), '["a"]'),
    ("bob", 42, 1.5, datetime(2024, 1, 2, 23, tzinfo=UTC), "[]"),
    ("cy", 27, 2.0, datetime(2024, 2, 1, tzinfo=UTC), '["b","c"]'),
    ("dee", 55, None, datetime(2024, 3, 1, tzinfo=UTC), None),
]


def _utc(rows: list[tuple]) -> list[tuple]:
    return [(a, b, c, d.astimezone(UTC) if d else d, e) for a, b, c, d, e in rows]


@pytest.mark.parametrize("where", ["file", "folder", "glob"])
def test_parquet_file_folder_and_glob(project: Callable[..., Run], where: str) -> None:
    files = {"in/part-1.parquet": parquet_bytes(PEOPLE.head(2)), "in/sub/part-2.parquet": parquet_bytes(PEOPLE.tail(2)), "in/notes.txt": "not data"}
    path = {"file": "in/part-1.parquet", "folder": "in", "glob": "in/**/*.parquet"}[where]
    run = project(f"  - name: people\n    kind: parquet\n    path: {path}\n{DECLARED}    partition_column: joined\n", files)
    assert run.success, run.error()
    assert run.checks() == {"people_schema": True, "people_reconciled": True}
    assert _utc(rows_of(run)) == (EXPECTED[:2] if where == "file" else EXPECTED)
    meta = run.metadata("people")
    assert meta["files"] == (1 if where == "file" else 2) and meta["records_written"] == (2 if where == "file" else 4)
    assert sorted(p.name for p in (run.data_dir / "lake/staged/tables/people").iterdir())[0] == "date=2024-01-02"


def test_parquet_inferred_types_are_the_files_own(project: Callable[..., Run]) -> None:
    run = project("  - name: people\n    kind: parquet\n    path: people.parquet\n    infer: true\n    dedup_keys: [login]\n", {"people.parquet": parquet_bytes(PEOPLE)})
    assert run.success, run.error()
    schema = dict(run.duckdb("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'tables' AND table_name = 'people'"))
    assert schema == {"login": "VARCHAR", "age": "BIGINT", "score": "DOUBLE", "joined": "TIMESTAMP WITH TIME ZONE", "tags": "VARCHAR"}


def test_jsonl_rows_types_quarantine_and_lines(project: Callable[..., Run]) -> None:
    rows = [
        {"login": "ann", "age": 31, "score": 0.5, "joined": "2024-01-02T10:00:00Z", "tags": ["a"]},
        {"login": "bob", "age": "forty-two", "joined": "2024-01-02T23:00:00Z"},  # not an int: quarantined
        {"login": "cy", "age": 27, "score": 2, "joined": "2024-02-01", "extra": {"k": 1}},
    ]
    text = jsonl(rows[:1]) + "\n" + jsonl(rows[1:])  # a blank line 2: skipped and counted
    run = project(
        "  - name: people\n    kind: jsonl\n    path: data/*.jsonl\n" + DECLARED + "    partition_column: joined\n    checks: {not_null: [login]}\n",
        {"data/people.jsonl": text},
    )
    assert not run.success  # the blocking schema check fails on the quarantined row
    assert run.checks()["people_schema"] is False and run.checks()["people_reconciled"] is True
    assert [r[0] for r in rows_of(run)] == ["ann", "cy"]
    assert run.duckdb("SELECT tags, score FROM tables.people ORDER BY login") == [('["a"]', 0.5), (None, 2.0)]
    bad = run.quarantined("people")
    assert bad.select("login", "age", "quarantine_reason", "source_line").to_dicts() == [
        {"login": "bob", "age": "forty-two", "quarantine_reason": "age: not an int (value forty-two)", "source_line": 3}
    ]
    assert bad["source_file"].item().endswith("data/people.jsonl")
    meta = run.metadata("people")
    assert (meta["blank_lines_skipped"], meta["records_read"], meta["records_failed"]) == (1, 3, 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"login": "ann"}\n{"login": \n', "people.jsonl, line 2: not JSON"),
        ('{"login": "ann"}\n\n[1, 2]\n', "people.jsonl, line 3: expected one JSON object per line, found list"),
        (b'{"login": "\xe9"}\n', "people.jsonl: not UTF-8 at byte offset 11 (line 1, byte 0xe9)"),
        ('{"name": "ann"}\n', "people.jsonl: missing required columns login (the file has name)"),
    ],
)
def test_jsonl_whole_file_problems_name_the_file_and_line(project: Callable[..., Run], content: str | bytes, message: str) -> None:
    run = project("  - name: people\n    kind: jsonl\n    path: people.jsonl\n    columns: {login: string}\n", {"people.jsonl": content})
    assert not run.success
    assert message in run.error()


def test_parquet_problems(project: Callable[..., Run]) -> None:
    run = project("  - name: people\n    kind: parquet\n    path: p.parquet\n    columns: {login: string}\n", {"p.parquet": b"PAR1 not really"})
    assert not run.success and "p.parquet: not a readable Parquet file" in run.error()
    run = project("  - name: people\n    kind: parquet\n    path: empty\n    columns: {login: string}\n", {"empty/readme.md": "x"})
    assert not run.success and "empty: no file matches this path (a folder must hold *.parquet or *.pq files)" in run.error()
    files = {"m/a.parquet": parquet_bytes(pl.DataFrame({"login": ["a"], "n": [1]})), "m/b.parquet": parquet_bytes(pl.DataFrame({"login": ["b"], "n": [2.5]}))}
    run = project("  - name: people\n    kind: parquet\n    path: m\n    infer: true\n", files)  # int and float: float
    assert run.success and run.duckdb("SELECT n FROM tables.people ORDER BY login") == [(1.0,), (2.5,)]


def test_delimiter_belongs_to_csv(tmp_path: Path) -> None:
    from gh_assets.config import ConfigError, load_sources

    config = tmp_path / "sources.yaml"
    config.write_text("github:\n  start: 2025-01-01\n  repos: [o/r]\ntables:\n  - {name: t, kind: jsonl, path: x.jsonl, delimiter: ';', infer: true}\n")
    with pytest.raises(ConfigError, match="delimiter belongs to kind csv"):
        load_sources(config)


# ------------------------------------------------------------------------------------------------ retries
def test_transient_errors_are_told_from_schema_errors() -> None:
    import duckdb

    assert is_transient(TransientSourceError("s3://b/k: reading failed: ConnectionResetError"))
    assert is_transient(ConnectionResetError("reset")) and is_transient(TimeoutError())
    assert is_transient(duckdb.IOException("Could not set lock on file"))
    assert not is_transient(TableSourceError("p.csv, line 1: missing required columns b"))
    assert not is_transient(PermissionError("AccessDenied"))
    assert not is_transient(ValueError("schema"))
    assert TABLE_RETRY.max_retries == 3


class Flaky:
    """``read_bytes`` that raises ``error`` on the first ``failures`` calls, then reads."""

    def __init__(self, error: BaseException, failures: int) -> None:
        self.error, self.failures, self.calls = error, failures, 0
        self.real = sources.read_bytes

    def __call__(self, path: Path | str) -> bytes:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.real(path)


def _retries(run: Run) -> int:
    return sum(1 for e in run.result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)


def test_a_transient_storage_error_is_retried(project: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = Flaky(TransientSourceError("s3://bucket/people.parquet: reading failed: ConnectionResetError: reset by peer"), failures=1)
    monkeypatch.setattr(sources, "read_bytes", flaky)
    run = project("  - name: people\n    kind: parquet\n    path: people.parquet\n" + DECLARED, {"people.parquet": parquet_bytes(PEOPLE)})
    assert run.success, run.error()
    assert _retries(run) == 1 and flaky.calls == 2
    assert len(rows_of(run)) == 4


def test_a_schema_error_is_not_retried(project: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = Flaky(OSError("never"), failures=0)
    monkeypatch.setattr(sources, "read_bytes", flaky)
    run = project("  - name: people\n    kind: parquet\n    path: people.parquet\n    columns: {login: string, missing: int}\n", {"people.parquet": parquet_bytes(PEOPLE)})
    assert not run.success and "missing required columns missing" in run.error()
    assert _retries(run) == 0 and flaky.calls == 1
