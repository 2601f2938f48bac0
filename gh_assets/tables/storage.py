"""Where a table lives: its lake folders (atomic partition writes) and its DuckDB table ``tables.<name>``.

Lake layout (``<root>`` is ``$GH_ASSETS_DATA_DIR/lake``)::

    staged/tables/<name>/date=<YYYY-MM-DD | all>/part-0.parquet
    quarantine/tables/<name>/date=<YYYY-MM-DD | all | unplaced>/part-0.parquet

Not :class:`gh_assets.lake.Lake`: its partitions are per GitHub repository (``repo=owner__name``), which a
table source has none of; a pseudo repository would put a lie in every path. The write is the same: a
temporary sibling renamed into place, so readers never see half a partition.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from gh_assets.tables.sources import TableSourceError

PART_FILE = "part-0.parquet"


class TableLake:
    """The staged and quarantine folders of one table."""

    def __init__(self, root: str | os.PathLike[str], name: str) -> None:
        self.root, self.name = Path(root), name

    def table_dir(self, layer: str) -> Path:
        return self.root / layer / "tables" / self.name

    def partition_dir(self, layer: str, part: str) -> Path:
        return self.table_dir(layer) / f"date={part}"

    def write(self, layer: str, part: str, frame: pl.DataFrame) -> Path:
        """Replace one partition atomically (an empty frame still writes a file: the partition is known empty)."""
        final = self.partition_dir(layer, part)
        tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
        tmp.mkdir(parents=True)
        frame.write_parquet(tmp / PART_FILE, compression="zstd", statistics=True)
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
        return final / PART_FILE

    def remove(self, layer: str, part: str) -> None:
        shutil.rmtree(self.partition_dir(layer, part), ignore_errors=True)

    def parts(self, layer: str) -> list[str]:
        base = self.table_dir(layer)
        return sorted(p.name.removeprefix("date=") for p in base.glob("date=*")) if base.exists() else []


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_duckdb(
    con: duckdb.DuckDBPyConnection, name: str, files: Sequence[Path], partition_column: str | None, is_datetime: bool, days: Sequence[date]
) -> int:
    """Load staged files into ``tables.<name>`` in one transaction; return the table's rows in the loaded partitions.

    Without a partition column the table is replaced whole; with one, the loaded days are deleted and
    inserted again, so reloading any day in any order leaves identical rows.
    """
    table = f"tables.{_ident(name)}"
    source = "read_parquet($files, hive_partitioning = false)"  # the date=<day> folders are not a column
    params = {"files": [str(f) for f in files]}
    con.execute("CREATE SCHEMA IF NOT EXISTS tables")
    con.execute("BEGIN TRANSACTION")
    try:
        if partition_column is None:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {source}", params)
            day_filter, day_params = "TRUE", {}
        else:
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM {source} LIMIT 0", params)
            have = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall()
            want = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})", params).fetchall()
            if have != want:
                raise TableSourceError(
                    f"tables.{name} has columns {', '.join(f'{c} {t}' for c, t in have)} but this read has "
                    f"{', '.join(f'{c} {t}' for c, t in want)}: the schema changed; drop tables.{name} and its lake folders to reload it whole"
                )
            column = _ident(partition_column)
            day = f"CAST(timezone('UTC', {column}) AS DATE)" if is_datetime else column
            day_filter, day_params = f"{day} IN (SELECT unnest($days))", {"days": list(days)}
            con.execute(f"DELETE FROM {table} WHERE {day_filter}", day_params)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {source}", params)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    (rows,) = con.execute(f"SELECT count(*) FROM {table} WHERE {day_filter}", day_params).fetchone()
    return rows
