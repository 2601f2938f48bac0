"""One asset per table source in the sources config: ``tables/<name>``, staged in the lake and loaded in DuckDB.

The factory runs when the definitions load, so adding a table is a config entry. Each asset reads its source
(CSV, Parquet or JSON Lines files: a file, folder or glob, local or s3://; or a PostgreSQL query in batches), types, renames, de-duplicates and validates the rows
with a Pandera schema built from the config, quarantines failing rows with their reason, writes staged
Parquet per partition atomically and loads ``tables.<name>`` in one transaction. Two blocking checks:
``<name>_schema`` (no row failed) and ``<name>_reconciled`` (read = staged + quarantined + duplicates, and
DuckDB holds the staged rows). Transient storage and database failures are retried (``TABLE_RETRY``); a
source that does not fit its config fails at once.
"""


import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from gh_assets.config import TableSource, config_path, load_sources
from gh_assets.github.quality import markdown_table
from gh_assets.tables.resources import PostgresTableSource, source_resource_key
from gh_assets.interrupts import interrupts_stop_the_run
from gh_assets.tables.sources import SourceRead, TableSourceError, TransientSourceError, is_transient_io, quote_table, read_csv_source, read_file_source
from gh_assets.tables.staging import ALL, PART, UNPLACED, StagedTable, days_of, stage_table
from gh_assets.tables.storage import TableLake, load_duckdb

GROUP = "tables"
# A reset connection, an S3 5xx or a DuckDB file held by another writer usually heal within seconds; three
# more tries over ~7 s, then the step fails. Schema and config errors are never retried (see table_failures).
TABLE_RETRY = dg.RetryPolicy(max_retries=3, delay=1, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
KINDS = {"csv": "csv", "parquet": "parquet", "jsonl": "json", "sql": "postgres"}


def table_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, name])


def csv_pattern(spec: TableSource, base_dir: Path) -> str:
    """The path, folder or glob of a file source; a relative one is relative to the config file's folder."""
    if (spec.path or "").startswith("s3://"):
        return spec.path or ""
    path = Path(spec.path or "")
    return str(path if path.is_absolute() else base_dir / path)


def read_source(spec: TableSource, base_dir: Path, resources: object) -> SourceRead:
    if spec.kind == "csv":
        if spec.columns is not None:
            keep = list(spec.columns)
            expected = keep
        else:
            keep = None
            source_of = {v: k for k, v in spec.rename.items()}
            expected = [source_of.get(c, c) for c in spec.checks.required]
        return read_csv_source(csv_pattern(spec, base_dir), expected, spec.delimiter, keep)
    if spec.kind in ("parquet", "jsonl"):
        source_of = {v: k for k, v in spec.rename.items()}
        expected = list(spec.columns) if spec.columns is not None else [source_of.get(c, c) for c in spec.checks.required]
        return read_file_source(spec.kind, csv_pattern(spec, base_dir), expected, list(spec.columns) if spec.columns is not None else None)
    source: PostgresTableSource = getattr(resources, source_resource_key(spec.name))
    query = spec.query if spec.query is not None else f"SELECT * FROM {quote_table(spec.table or '')}"
    read = source.read(query, spec.batch_bytes, spec.name)
    if spec.columns is not None:
        missing = [c for c in spec.columns if c not in read.header_columns]
        if missing:
            raise TableSourceError(
                f"table {spec.name}: the query returns no column {', '.join(missing)} (it returns {', '.join(read.header_columns)})"
            )
        read.ignored_columns = [c for c in read.header_columns if c not in spec.columns]
        read.frame = read.frame.drop(read.ignored_columns)
    return read


def write_lake(lake: TableLake, spec: TableSource, staged: StagedTable) -> tuple[list[Path], list, int]:
    """Write every partition the read fills; returns the staged files, the days (empty: the `all` partition) and bytes."""
    columns = list(staged.types)
    quarantine_columns = [c for c in staged.quarantined.columns if c != PART]
    files: list[Path] = []
    if spec.partition_column is None:
        days: list = []
        parts = {ALL: (staged.staged.select(columns), staged.quarantined.drop(PART))}
        for layer in ("staged", "quarantine"):  # a table that had a partition column before: its days go
            for old in lake.parts(layer):
                if old != ALL:
                    lake.remove(layer, old)
    else:
        days = days_of(staged)
        by_day = staged.staged.partition_by(PART, as_dict=True)
        bad = staged.quarantined.partition_by(PART, as_dict=True)
        empty = staged.staged.select(columns).clear()
        parts = {
            day.isoformat(): (
                by_day.get((day,), empty).select(columns),
                bad[(day.isoformat(),)].select(quarantine_columns) if (day.isoformat(),) in bad else None,
            )
            for day in days
        }
        unplaced = bad.get((UNPLACED,))
        if unplaced is not None:
            lake.write("quarantine", UNPLACED, unplaced.select(quarantine_columns))
        else:
            lake.remove("quarantine", UNPLACED)
        for layer in ("staged", "quarantine"):
            lake.remove(layer, ALL)
    for part, (good, rejected) in parts.items():
        files.append(lake.write("staged", part, good))
        if rejected is not None and rejected.height:
            lake.write("quarantine", part, rejected)
        else:
            lake.remove("quarantine", part)
    return files, days, sum(f.stat().st_size for f in files)


def _count(files: list[Path]) -> int:
    return pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0


def materialise_table(context: dg.AssetExecutionContext, spec: TableSource, base_dir: Path) -> dg.MaterializeResult:
    started = time.monotonic()
    key = table_key(spec.name)
    read = read_source(spec, base_dir, context.resources)
    staged = stage_table(spec, read)
    lake = TableLake(context.resources.lake.lake.root, spec.name)
    files, days, bytes_written = write_lake(lake, spec, staged)

    # Reconciled from what is on disk now, not from the frames that were written.
    written = _count(files)
    quarantine_files = [lake.partition_dir("quarantine", p) / "part-0.parquet" for p in ([ALL] if spec.partition_column is None else [d.isoformat() for d in days] + [UNPLACED])]
    quarantined = _count([f for f in quarantine_files if f.exists()])
    loaded = 0
    if files:
        with context.resources.duckdb.get_connection() as con:
            is_datetime = spec.partition_column is not None and staged.types[spec.partition_column] == "datetime"
            loaded = load_duckdb(con, spec.name, files, spec.partition_column, is_datetime, days)
    accounted = written + quarantined + staged.duplicates
    reconciled = accounted == staged.read and loaded == written

    failing = (
        staged.quarantined.group_by("quarantine_reason").len().sort(["len", "quarantine_reason"], descending=[True, False])
        if staged.quarantined.height
        else pl.DataFrame(schema={"quarantine_reason": pl.String, "len": pl.UInt32})
    )
    schema_table = pl.DataFrame({"column": list(staged.types), "type": list(staged.types.values())})
    schema_meta: dict[str, dg.RawMetadataValue] = {
        "failed_rows": staged.quarantined.height,
        "rows_checked": staged.read - staged.duplicates,
        "failing_rules": dg.MetadataValue.md(markdown_table(failing, 20)),
    }
    if staged.quarantined.height:
        schema_meta["sample"] = dg.MetadataValue.md(markdown_table(staged.quarantined.drop(PART).head(20), 20))
    checks = [
        dg.AssetCheckResult(
            check_name=f"{spec.name}_schema",
            asset_key=key,
            passed=staged.quarantined.height == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{staged.quarantined.height} of {staged.read} rows quarantined",
            metadata=schema_meta,
        ),
        dg.AssetCheckResult(
            check_name=f"{spec.name}_reconciled",
            asset_key=key,
            passed=reconciled,
            severity=dg.AssetCheckSeverity.ERROR,
            description="every row read is staged, quarantined or an earlier duplicate; DuckDB holds the staged rows"
            if reconciled
            else f"read {staged.read}, accounted {accounted}; DuckDB {loaded} rows for {written} staged",
            metadata={
                "records_read": staged.read,
                "staged": written,
                "quarantined": quarantined,
                "duplicates_dropped": staged.duplicates,
                "duckdb_rows_loaded": loaded,
            },
        ),
    ]
    metadata: dict[str, dg.RawMetadataValue] = {
        "records_read": staged.read,
        "records_written": written,
        "records_failed": quarantined,
        "duplicates_dropped": staged.duplicates,
        "error_rate": round(quarantined / staged.read, 6) if staged.read else 0.0,
        "bytes_read": read.bytes_read,
        "bytes_written": bytes_written,
        "partitions_written": len(files),
        "duckdb_table": f"tables.{spec.name}",
        "duckdb_rows_loaded": loaded,
        "duration_seconds": round(time.monotonic() - started, 3),
        ("inferred_schema" if staged.inferred else "schema"): dg.MetadataValue.md(markdown_table(schema_table, 500)),
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in staged.types.items()]),
        "dagster/row_count": written,  # the whole source is read each run: the table holds what was staged
        "dagster/table_name": f"tables.{spec.name}",
    }
    if spec.kind in ("csv", "jsonl"):
        metadata.update(files=read.files, blank_lines_skipped=read.blank_lines)
    elif spec.kind == "parquet":
        metadata.update(files=read.files)
    else:
        metadata.update(batches=read.batches)
    if read.ignored_columns:
        metadata["ignored_columns"] = dg.MetadataValue.json(read.ignored_columns)
    return dg.MaterializeResult(metadata=metadata, check_results=checks)


def is_transient(exc: BaseException) -> bool:
    """Worth a retry: storage or database trouble (a lost connection, a timeout, a held DuckDB file lock)."""
    return isinstance(exc, TransientSourceError) or (not isinstance(exc, TableSourceError) and is_transient_io(exc)) or isinstance(exc, duckdb.IOException)


@contextlib.contextmanager
def table_failures(name: str) -> Iterator[None]:
    """Every failure of a table step as a ``dg.Failure`` that the retry policy retries only when it is transient.

    A source that does not fit its config (missing columns, a changed schema, a bad query, a refused login)
    will fail the same way in two seconds: it fails the step at once. An interrupt stops the run.
    """
    try:
        with interrupts_stop_the_run():
            yield
    except dg.Failure:
        raise
    except Exception as exc:  # noqa: BLE001 - classified, then re-raised as the step's failure
        transient = is_transient(exc)
        message = str(exc) if isinstance(exc, TableSourceError) else f"{type(exc).__name__}: {exc}"
        raise dg.Failure(description=message, metadata={"table": name, "transient": transient}, allow_retries=transient) from exc


def build_table_asset(spec: TableSource, base_dir: Path) -> dg.AssetsDefinition:
    """The asset of one table source (its SQL connection, if any, bound from ``dsn_env`` with ``dg.EnvVar``)."""
    key = table_key(spec.name)
    resource_defs: dict[str, object] = {}
    static: dict[str, dg.RawMetadataValue] = {"source_kind": spec.kind, "duckdb_table": f"tables.{spec.name}"}
    if spec.kind in ("csv", "parquet", "jsonl"):
        static["source_path"] = csv_pattern(spec, base_dir)
        what = f"the {dict(csv='CSV', parquet='Parquet', jsonl='JSON Lines')[spec.kind]} rows of {spec.path}"
    else:
        resource_defs[source_resource_key(spec.name)] = PostgresTableSource(dsn=dg.EnvVar(spec.dsn_env or ""))
        static["dsn_env"] = spec.dsn_env or ""
        static["source_query"] = spec.query or f"SELECT * FROM {spec.table}"
        what = f"the PostgreSQL rows of {spec.table or 'a query'}"
    grain = f"one row per ({', '.join(spec.dedup_keys)})" if spec.dedup_keys else "one row per source row"
    layout = f"partitioned by the day of {spec.partition_column}" if spec.partition_column else "one partition"
    if spec.columns is not None:
        static["dagster/column_schema"] = dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in (spec.table_types() or {}).items()])

    @dg.asset(
        key=key,
        group_name=GROUP,
        kinds={KINDS[spec.kind], "polars", "duckdb"},
        pool="duckdb",
        retry_policy=TABLE_RETRY,
        description=f"Table source {spec.name}: {what}, {grain}, {layout}.",
        metadata=static,
        required_resource_keys={"lake", "duckdb", *resource_defs},
        resource_defs=resource_defs or None,
        check_specs=[
            dg.AssetCheckSpec(f"{spec.name}_schema", asset=key, blocking=True, description="Types, not-null, ranges, allowed values and unique keys of every row; failing rows are quarantined."),
            dg.AssetCheckSpec(f"{spec.name}_reconciled", asset=key, blocking=True, description="Rows read = staged + quarantined + earlier duplicates; DuckDB holds the staged rows."),
        ],
    )
    def _table(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        with table_failures(spec.name):
            return materialise_table(context, spec, base_dir)

    return _table


def table_assets(path: str | Path | None = None) -> list[dg.AssetsDefinition]:
    """One asset per ``tables:`` entry of the sources config, read once now.

    An invalid config fails loading with its :class:`~gh_assets.config.ConfigError` (file and field), like the
    rest of the config; a missing file defines no table (the GitHub assets report it when they run).
    """
    file = config_path(path)
    if not file.exists():
        return []
    sources = load_sources(file)
    base = file.resolve().parent
    return [build_table_asset(spec, base) for spec in sources.tables]
