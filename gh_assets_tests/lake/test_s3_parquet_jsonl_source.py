"""Parquet and JSON Lines table sources on S3 (moto on 127.0.0.1): a prefix (folder), a glob and a key give the
same rows as the local files; a prefix with no such object fails naming it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from gh_assets.tables.runs import materialise_tables
from gh_assets_tests.lake.conftest import s3_env

FRAME = pl.DataFrame({"login": ["ann", "bob", "cy"], "team": ["data", "docs", "data"], "joined_on": ["2024-01-02", "2024-01-02", "2024-02-01"], "age": [31, 42, 27]})
COLUMNS = "{login: string, team: string, joined_on: date, age: int}"


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _jsonl(frame: pl.DataFrame) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in frame.to_dicts()).encode()


def _load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, label: str, kind: str, path: str) -> tuple[bool, str | None, list[tuple]]:
    config = tmp_path / f"{label}.yaml"
    config.write_text(
        "github:\n  start: 2025-01-01\n  repos: [demo-org/alpha]\ntables:\n"
        f"  - name: people\n    kind: {kind}\n    path: {path}\n    columns: {COLUMNS}\n    partition_column: joined_on\n    dedup_keys: [login]\n"
    )
    monkeypatch.setenv("GH_ASSETS_DATA_DIR", str(tmp_path / label))
    with dg.instance_for_test() as instance:
        ok, checks, error = materialise_tables(instance, str(config))
    if not ok:
        return ok, error, []
    assert {outcome for _, _, outcome in checks} == {"passed"}
    with duckdb.connect(str(tmp_path / label / "warehouse.duckdb"), read_only=True) as con:
        return ok, error, con.execute("SELECT * FROM tables.people ORDER BY ALL").fetchall()


@pytest.mark.parametrize(("kind", "encode", "suffix"), [("parquet", _parquet, "parquet"), ("jsonl", _jsonl, "jsonl")])
def test_parquet_and_jsonl_on_s3_load_like_local_files(s3_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, encode, suffix: str) -> None:
    import boto3

    s3_env(monkeypatch, s3_server)
    bucket = f"{kind}-bucket"
    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key=f"people/2024/a.{suffix}", Body=encode(FRAME.head(2)))
    client.put_object(Bucket=bucket, Key=f"people/2024/b.{suffix}", Body=encode(FRAME.tail(1)))
    client.put_object(Bucket=bucket, Key="people/README.txt", Body=b"not data")
    local = tmp_path / "local"
    local.mkdir()
    (local / f"a.{suffix}").write_bytes(encode(FRAME.head(2)))
    (local / f"b.{suffix}").write_bytes(encode(FRAME.tail(1)))

    _, error, expected = _load(tmp_path, monkeypatch, "local", kind, str(local))
    assert expected and len(expected) == 3, error
    for label, path in (("prefix", f"s3://{bucket}/people"), ("glob", f"s3://{bucket}/people/**/*.{suffix}")):
        ok, error, rows = _load(tmp_path, monkeypatch, label, kind, path)
        assert ok, error
        assert rows == expected, label
    ok, error, rows = _load(tmp_path, monkeypatch, "key", kind, f"s3://{bucket}/people/2024/b.{suffix}")
    assert ok and len(rows) == 1, error
    ok, error, _ = _load(tmp_path, monkeypatch, "none", kind, f"s3://{bucket}/nobody")
    assert not ok and f"s3://{bucket}/nobody: no file matches this path" in (error or "")
