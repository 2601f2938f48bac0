"""DuckDB -> PostgreSQL copy: DDL mirrors the marts, awkward values survive COPY, errors never show the DSN."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import psycopg
import pytest

from gh_assets.marts.sql import run_sql
from gh_assets.publish.assets import COMMITS, ISSUES, PULL_REQUESTS
from gh_assets.publish.errors import PostgresConnectionError, PublishError, redact
from gh_assets.publish.resources import PostgresResource
from gh_assets.publish.transfer import PublishedTable, duckdb_columns, ensure_table, export_partitions, replace_partitions

# DuckDB type -> the PostgreSQL type the publish DDL must use (information_schema names)
TYPE_MAP = {
    "VARCHAR": "text",
    "VARCHAR[]": "ARRAY",
    "BIGINT": "bigint",
    "UINTEGER": "bigint",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "DOUBLE": "double precision",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
}


@pytest.mark.parametrize(
    ("dsn", "secret"),
    [
        ("postgresql://me:s3cret-pw@db.example:5432/x", "s3cret-pw"),
        ("postgresql://me:p%40ss%2Fword@db.example/x", "p@ss/word"),
        ("host=db user=me password=s3cret-pw dbname=x", "s3cret-pw"),
        ("host=db password='has space' dbname=x", "has space"),
    ],
)
def test_redact_removes_the_dsn_and_its_password(dsn: str, secret: str) -> None:
    message = f'could not parse "{dsn}"; password was {secret}; other DSN postgresql://a:zz@h/d; password=other'
    out = redact(message, dsn)
    assert secret not in out and dsn not in out and "zz@" not in out and "password=other" not in out
    assert "***" in out


def test_connection_error_names_the_variable_not_the_dsn() -> None:
    dsn = "host=127.0.0.1 port=1 user=me password=s3cret-pw dbname=x connect_timeout=2"
    with pytest.raises(PostgresConnectionError) as raised, PostgresResource(dsn=dsn).connect():
        pass
    assert "GH_ASSETS_POSTGRES_DSN" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_wrong_password_is_refused_without_echo(dsn: str) -> None:
    wrong = dsn.replace(":pw-", ":wrong-pw-")
    with pytest.raises(PostgresConnectionError, match="password authentication failed") as raised, PostgresResource(dsn=wrong).connect():
        pass
    assert "wrong-pw-" not in str(raised.value)


def _duckdb_marts() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table in (COMMITS, PULL_REQUESTS, ISSUES):
        run_sql(con, f"{table.name}_create")
    return con


@pytest.mark.parametrize("table", [COMMITS, PULL_REQUESTS, ISSUES], ids=lambda t: t.name)
def test_postgres_ddl_mirrors_the_duckdb_mart(table: PublishedTable, dsn: str) -> None:
    con = _duckdb_marts()
    columns = duckdb_columns(con, table)
    (duck_key,) = con.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'", [table.name]
    ).fetchone()
    with psycopg.connect(dsn, autocommit=True) as conn:
        ensure_table(conn, table, columns)
        ensure_table(conn, table, columns)  # idempotent
        pg = conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = %s ORDER BY ordinal_position",
            [table.name],
        ).fetchall()
        pg_key = [
            r[0]
            for r in conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
                [f"marts.{table.name}"],
            ).fetchall()
        ]
    duck_nullable = dict(con.execute("SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = ?", [table.name]).fetchall())
    assert [(c.name, TYPE_MAP[c.duckdb_type], duck_nullable[c.name]) for c in columns] == [tuple(r) for r in pg]
    assert pg_key == list(duck_key) == list(table.key)


def _rows(conn_or_con: object, table: str, key: str) -> dict[object, tuple]:
    rows = conn_or_con.execute(f"SELECT * FROM marts.{table}").fetchall()
    return {r[key_index(conn_or_con, table, key)]: tuple(r) for r in rows}


def key_index(conn_or_con: object, table: str, key: str) -> int:
    cursor = conn_or_con.execute(f"SELECT * FROM marts.{table} LIMIT 0")
    return [d[0] for d in cursor.description].index(key)


def test_awkward_values_survive_the_copy(dsn: str, tmp_path: Path) -> None:
    con = _duckdb_marts()
    ts = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    con.execute(
        """INSERT INTO marts.pull_requests BY NAME SELECT * FROM (VALUES
        ('o/r', 'o/r/1', 11, 1, '', 'closed', NULL, false, 'a,b', 5, 'NONE', ['x"y', 'a,b', 'c\\d', NULL, '', '{}', 'NULL'], [], NULL,
         'line
two', E'tab\there', 'sha', NULL, $ts, $ts, $ts, $ts, true, 0.1 + 0.2, 'q"uote''s', DATE '2025-01-02'),
        ('o/r', 'o/r/2', 12, 2, 'nul' || chr(0) || 'x', 'open', true, NULL, NULL, NULL, NULL, NULL, ['only'], 7,
         NULL, NULL, NULL, NULL, $ts, $ts, NULL, NULL, false, CAST(1 AS DOUBLE) / 3, NULL, DATE '2025-01-02'),
        ('o/r', 'o/r/3', 13, 3, 'other day', 'open', true, NULL, NULL, NULL, NULL, NULL, NULL, 7,
         NULL, NULL, NULL, NULL, $ts, $ts, NULL, NULL, false, 1e300, NULL, DATE '2025-01-03')
        ) AS v(repository, row_key, id, number, title, state, draft, locked, user_login, user_id, author_association, labels,
               requested_reviewers, milestone_number, head_ref, base_ref, head_sha, merge_commit_sha, created_at, updated_at,
               closed_at, merged_at, is_merged, lead_time_hours, html_url, partition_date)""",
        {"ts": ts},
    )
    con.execute(
        "INSERT INTO marts.commits (repository, row_key, sha, committer_date, message_length, parents, partition_date) "
        "VALUES ('o/r', 'o/r/abc', 'abc', $ts, 4000000000, 2, DATE '2025-01-01')",
        {"ts": ts},
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table, dates in ((PULL_REQUESTS, [date(2025, 1, 2), date(2025, 1, 3)]), (COMMITS, [date(2025, 1, 1)])):
            conn.execute(f"DROP TABLE IF EXISTS marts.{table.name}")
            columns = duckdb_columns(con, table)
            ensure_table(conn, table, columns)
            export = export_partitions(con, table, columns, "o/r", dates, tmp_path / f"{table.name}.csv")
            loaded = replace_partitions(conn, table, columns, export)
            assert loaded.inserted == export.rows
        expected = _rows(con, "pull_requests", "number")
        expected[2] = tuple("nulx" if v == "nul\x00x" else v for v in expected[2])  # PostgreSQL text holds no NUL
        assert _rows(conn, "pull_requests", "number") == expected
        assert _rows(conn, "commits", "sha") == _rows(con, "commits", "sha")
        # a failing COPY (a type PostgreSQL refuses) rolls back and keeps what was there
        bad = export_partitions(con, PULL_REQUESTS, duckdb_columns(con, PULL_REQUESTS), "o/r", [date(2025, 1, 2)], tmp_path / "bad.csv")
        bad.path.write_text(bad.path.read_text().replace("2025-01-02 03:04:05.123456+00", "not a time", 1))
        with pytest.raises(PublishError, match="rolled back"):
            replace_partitions(conn, PULL_REQUESTS, duckdb_columns(con, PULL_REQUESTS), bad)
        assert _rows(conn, "pull_requests", "number") == expected
