"""Copying partitions of a DuckDB mart to PostgreSQL: DuckDB writes CSV, psycopg streams it with COPY.

No Dagster here. DuckDB formats every value the way PostgreSQL's CSV input reads it (arrays as ``{"a","b"}``
literals, timestamps in UTC with their offset, doubles at full precision), so no Python touches a row.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from gh_assets.publish.errors import PublishError, SchemaMismatch

if TYPE_CHECKING:
    import psycopg

COPY_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class PublishedTable:
    """A mart published under the same name in both engines (schema ``marts``), keyed as in DuckDB."""

    name: str
    key: tuple[str, ...]
    partition_column: str = "partition_date"


@dataclass(frozen=True)
class Column:
    name: str
    duckdb_type: str


@dataclass(frozen=True)
class Export:
    """One repository's rows of the run's partitions, as a CSV file PostgreSQL's COPY reads."""

    repository: str
    dates: tuple[date, ...]
    path: Path
    rows: int  # rows DuckDB holds for these partitions (counted apart from the COPY)
    bytes: int
    seconds: float


@dataclass(frozen=True)
class Loaded:
    """What one PostgreSQL transaction did for one repository."""

    repository: str
    inserted: int
    replaced: int  # rows of the same partitions deleted first
    moved: int  # rows of the same keys deleted from other partitions (the entity's newest version moved day)
    seconds: float


def ddl(table: PublishedTable) -> str:
    """``sql/<table>_create.sql``: schema, table and indexes, each ``IF NOT EXISTS``."""
    return resources.files("gh_assets.publish").joinpath("sql", f"{table.name}_create.sql").read_text(encoding="utf-8")


def duckdb_columns(con: duckdb.DuckDBPyConnection, table: PublishedTable) -> list[Column]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position",
        [table.name],
    ).fetchall()
    if not rows:
        raise PublishError(f"DuckDB has no marts.{table.name}: materialise marts/{table.name} before publishing it")
    return [Column(name, kind) for name, kind in rows]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _csv_expression(column: Column) -> str:
    """The DuckDB expression that renders ``column`` as PostgreSQL's CSV input expects it."""
    c = _quoted(column.name)
    # PostgreSQL text cannot hold NUL characters; GitHub text can (as \u0000), so they are dropped.
    if column.duckdb_type == "VARCHAR":
        return f"replace({c}, chr(0), '')"
    if column.duckdb_type == "VARCHAR[]":
        element = "CASE WHEN x IS NULL THEN 'NULL' ELSE '\"' || replace(replace(replace(x, chr(0), ''), '\\', '\\\\'), '\"', '\\\"') || '\"' END"
        return f"CASE WHEN {c} IS NULL THEN NULL ELSE '{{' || array_to_string(list_transform({c}, lambda x: {element}), ',') || '}}' END"
    if column.duckdb_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"strftime(timezone('UTC', {c}), '%Y-%m-%d %H:%M:%S.%f') || '+00'"
    if column.duckdb_type in ("DOUBLE", "FLOAT"):
        return f"CAST({c} AS VARCHAR)"  # DuckDB prints the shortest text that reads back to the same double
    return c


def export_partitions(
    con: duckdb.DuckDBPyConnection, table: PublishedTable, columns: Sequence[Column], repository: str, dates: Sequence[date], path: Path
) -> Export:
    """Write ``repository``'s rows of the ``dates`` partitions to ``path`` as headerless CSV."""
    started = time.monotonic()
    where = f"repository = $repository AND list_contains($dates, {_quoted(table.partition_column)})"
    params = {"repository": repository, "dates": list(dates)}
    select = ", ".join(f"{_csv_expression(c)} AS {_quoted(c.name)}" for c in columns)
    # quoting every text value tells an empty string (quoted) from NULL (nothing), as PostgreSQL's CSV reads them
    text = ", ".join(_quoted(c.name) for c in columns if c.duckdb_type in ("VARCHAR", "VARCHAR[]"))
    force_quote = f", FORCE_QUOTE ({text})" if text else ""
    con.execute(
        f"COPY (SELECT {select} FROM marts.{_quoted(table.name)} WHERE {where}) TO '{_literal(path)}' (FORMAT csv, HEADER false{force_quote})",
        params,
    )
    (rows,) = con.execute(f"SELECT count(*) FROM marts.{_quoted(table.name)} WHERE {where}", params).fetchone()
    return Export(repository, tuple(dates), path, rows, path.stat().st_size, time.monotonic() - started)


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def ensure_table(conn: psycopg.Connection, table: PublishedTable, columns: Sequence[Column]) -> None:
    """Create the schema, table and indexes if missing; fail clearly when the table lacks a DuckDB column."""
    conn.execute(ddl(table))  # no parameters: psycopg sends the whole file as one multi-statement query
    have = {
        name
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = %s", [table.name]
        ).fetchall()
    }
    missing = [c.name for c in columns if c.name not in have]
    if missing:
        raise SchemaMismatch(
            f"PostgreSQL marts.{table.name} lacks DuckDB columns {missing}: add them to gh_assets/publish/sql/{table.name}_create.sql "
            f"and ALTER TABLE marts.{table.name} ADD COLUMN ... on the server"
        )


def replace_partitions(conn: psycopg.Connection, table: PublishedTable, columns: Sequence[Column], export: Export) -> Loaded:
    """In one transaction: COPY the export into a temporary table, delete the partitions' rows (and older
    versions of the same keys in other partitions), insert the copied rows. Any error rolls all of it back."""
    import psycopg
    from psycopg import sql

    started = time.monotonic()
    target = sql.Identifier("marts", table.name)
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
    same_key = sql.SQL(" AND ").join(sql.SQL("t.{0} = s.{0}").format(sql.Identifier(k)) for k in table.key)
    partition = sql.Identifier(table.partition_column)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE TEMPORARY TABLE publish_stage (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(target))
            with cur.copy(sql.SQL("COPY publish_stage ({}) FROM STDIN (FORMAT csv)").format(names)) as copy, export.path.open("rb") as csv:
                while chunk := csv.read(COPY_CHUNK_BYTES):
                    copy.write(chunk)
            cur.execute(sql.SQL("DELETE FROM {} WHERE repository = %s AND {} = ANY(%s)").format(target, partition), [export.repository, list(export.dates)])
            replaced = cur.rowcount
            # An entity's newest version can sit in a later partition than the one published before (an issue
            # updated again): drop the older row by key, or the primary key would refuse the insert.
            cur.execute(sql.SQL("DELETE FROM {} AS t USING publish_stage AS s WHERE {}").format(target, same_key))
            moved = cur.rowcount
            cur.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM publish_stage").format(target, names, names))
            inserted = cur.rowcount
    except psycopg.Error as exc:
        span = f"{export.dates[0]}..{export.dates[-1]}" if export.dates else "no partitions"
        # server messages carry no connection string; `from None` keeps the chain short in the UI
        raise PublishError(
            f"publishing marts.{table.name} for {export.repository} ({span}, {len(export.dates)} partitions) failed and was rolled back; "
            f"PostgreSQL keeps the previous rows. {type(exc).__name__}: {exc}"
        ) from None
    return Loaded(export.repository, inserted, replaced, moved, time.monotonic() - started)


def count_published(conn: psycopg.Connection, table: PublishedTable, repository: str, dates: Sequence[date]) -> int:
    from psycopg import sql

    query = sql.SQL("SELECT count(*) FROM {} WHERE repository = %s AND {} = ANY(%s)").format(
        sql.Identifier("marts", table.name), sql.Identifier(table.partition_column)
    )
    (rows,) = conn.execute(query, [repository, list(dates)]).fetchone()
    return rows


def count_table(conn: psycopg.Connection, table: PublishedTable) -> int:
    from psycopg import sql

    (rows,) = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("marts", table.name))).fetchone()
    return rows
