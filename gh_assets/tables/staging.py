"""Staging a table read: type, rename, place, de-duplicate, validate and quarantine, vectorised in Polars.

Every row read ends up in exactly one of: staged, quarantined (with ``quarantine_reason`` and where it came
from), or dropped as an earlier duplicate of a ``dedup_keys`` key; :class:`StagedTable` carries the counts that
prove it. No Dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandera.errors
import polars as pl

from gh_assets.config import TABLE_RESERVED_COLUMNS, TableSource
from gh_assets.tables.schemas import cast_to, infer_text_kind, native_kind, table_schema
from gh_assets.tables.sources import EXPECTED_FIELDS, FIELDS, SOURCE_FILE, SOURCE_LINE, SOURCE_ROW, SourceRead, TableSourceError

ROW = "_row"
PART = "_part"
UNPLACED = "unplaced"  # quarantine partition of rows whose partition column is missing or unreadable
ALL = "all"  # the single partition of a table without partition_column
_ARTICLE = {"string": "a string", "int": "an int", "float": "a float", "bool": "a bool", "date": "a date (YYYY-MM-DD)", "datetime": "a datetime (ISO 8601)"}


@dataclass(frozen=True)
class StagedTable:
    staged: pl.DataFrame  # the table's typed columns + _part (the day, or null for the `all` partition)
    quarantined: pl.DataFrame  # the table's columns as read (text) + quarantine_reason + provenance + _part (text)
    types: dict[str, str]  # table column -> type
    inferred: bool
    read: int
    duplicates: int


def source_types(spec: TableSource, read: SourceRead) -> tuple[dict[str, str], bool]:
    """Source column -> type: declared in the config, else inferred from the values read."""
    if spec.columns is not None:
        return dict(spec.columns), False
    types = {}
    for column in read.header_columns:
        dtype = read.frame.schema[column]
        types[column] = infer_text_kind(read.frame[column]) if dtype == pl.String else native_kind(dtype)
    return types, True


def _table_types(spec: TableSource, source: dict[str, str]) -> dict[str, str]:
    types = {spec.rename.get(c, c): kind for c, kind in source.items()}
    clash = sorted(set(types) & TABLE_RESERVED_COLUMNS)
    if clash:
        raise TableSourceError(f"table {spec.name}: the source has columns reserved for quarantine: {', '.join(clash)}; rename them")
    if spec.columns is None:
        used = {*spec.dedup_keys, *spec.checks.columns(), *([spec.partition_column] if spec.partition_column else [])}
        missing = sorted(used - set(types))
        if missing:
            raise TableSourceError(f"table {spec.name}: the config names columns the source does not have: {', '.join(missing)}")
        try:
            spec.check_types(types)
        except ValueError as exc:
            raise TableSourceError(f"{exc} (inferred types: {', '.join(f'{c} {k}' for c, k in types.items())})") from None
    return types


def _failure_reasons(exc: pandera.errors.SchemaErrors) -> pl.DataFrame:
    cases = exc.failure_cases
    if cases.filter(pl.col("index").is_null()).height:
        raise exc  # a schema-level failure: the staging built the frame wrong, not a bad row
    return (
        cases.with_columns(
            pl.col("index").cast(pl.Int64),
            pl.when(pl.col("schema_context") == "Column")
            .then(pl.format("{}: {} (value {})", "column", "check", pl.col("failure_case").fill_null("null")))
            .otherwise(pl.col("check"))
            .alias("reason"),
        )
        .group_by("index")
        .agg(pl.col("reason").unique().sort().str.join("; "))
    )


def stage_table(spec: TableSource, read: SourceRead) -> StagedTable:
    """Stage one read of a table source (all of it at once: dedup keys span every file and batch)."""
    source, inferred = source_types(spec, read)
    types = _table_types(spec, source)
    final = {c: spec.rename.get(c, c) for c in source}
    frame = read.frame.with_row_index(ROW)
    schema = frame.schema

    typed = {final[c]: cast_to(c, schema[c], kind) for c, kind in source.items()}
    type_errors = [
        pl.when(pl.col(c).is_not_null() & typed[final[c]].is_null()).then(
            pl.format("{}: not {} (value {})", pl.lit(final[c]), pl.lit(_ARTICLE[kind]), pl.col(c).cast(pl.String, strict=False).str.slice(0, 80))
        )
        for c, kind in source.items()
    ]
    if spec.partition_column:
        pc = typed[spec.partition_column]
        day = (pc.dt.date() if types[spec.partition_column] == "datetime" else pc).alias(PART)
        original = next(c for c, f in final.items() if f == spec.partition_column)
        type_errors.append(
            pl.when(pl.col(original).is_null()).then(pl.lit(f"{spec.partition_column}: missing (partition_column)"))
        )
    else:
        day = pl.lit(None, dtype=pl.Date).alias(PART)
    reason = pl.concat_str(type_errors, separator="; ", ignore_nulls=True) if type_errors else pl.lit(None, dtype=pl.String)
    if FIELDS in schema:
        ragged = pl.format("line {}: {} fields, expected {} (ragged row)", SOURCE_LINE, FIELDS, EXPECTED_FIELDS)
        reason = pl.when(pl.col(FIELDS) != pl.col(EXPECTED_FIELDS)).then(ragged).otherwise(reason)
    work = frame.select(ROW, pl.when(reason != "").then(reason).alias("_reason"), day, *(e.alias(n) for n, e in typed.items()))

    pre = work.filter(pl.col("_reason").is_not_null()).select(ROW, pl.col("_reason").alias("quarantine_reason"))
    candidates = work.filter(pl.col("_reason").is_null()).drop("_reason")
    if spec.dedup_keys:
        kept = candidates.unique(subset=spec.dedup_keys, keep="last", maintain_order=True)
    else:
        kept = candidates
    duplicates = candidates.height - kept.height

    checked = pl.DataFrame(schema={ROW: pl.UInt32, "quarantine_reason": pl.String})
    try:
        table_schema(spec, types).validate(kept.select(list(types)), lazy=True)
    except pandera.errors.SchemaErrors as exc:
        reasons = _failure_reasons(exc)
        rows = kept.select(ROW).with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
        checked = rows.join(reasons, on="index").select(ROW, pl.col("reason").alias("quarantine_reason"))
    bad = pl.concat([pre, checked.cast({ROW: pre.schema[ROW]})])
    staged = kept.join(bad, on=ROW, how="anti").select(*types, PART)

    provenance = [c for c in (SOURCE_FILE, SOURCE_LINE, SOURCE_ROW) if c in schema]
    part_text = (
        pl.col(PART).cast(pl.String).fill_null(UNPLACED) if spec.partition_column else pl.lit(ALL)
    ).alias(PART)
    quarantined = (
        frame.join(bad, on=ROW)
        .join(work.select(ROW, PART), on=ROW)
        .sort(ROW)
        .select(
            *(pl.col(c).cast(pl.String, strict=False).alias(final[c]) for c in source),
            "quarantine_reason",
            *provenance,
            part_text,
        )
    )
    return StagedTable(staged, quarantined, types, inferred, read=frame.height, duplicates=duplicates)


def days_of(staged: StagedTable) -> list[date]:
    """The days a read of a partitioned table fills (staged or quarantined rows placed on them)."""
    days = set(staged.staged[PART].drop_nulls().to_list())
    days |= {date.fromisoformat(p) for p in staged.quarantined[PART].unique().to_list() if p not in (UNPLACED, ALL)}
    return sorted(days)
