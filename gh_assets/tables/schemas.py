"""Column types of table sources in Polars, casting source values to them, and the Pandera schema of a table.

The schema is built at run time from the config (``pa.DataFrameSchema`` for Polars): types, not-null columns,
ranges, allowed values and unique keys. No Dagster here.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandera.polars as pa
import polars as pl

from gh_assets.config import TableSource, parse_table_value

UTC_DATETIME = pl.Datetime(time_unit="us", time_zone="UTC")
POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": UTC_DATETIME,
}
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_BOOLS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}


def _datetime_from_text(text: pl.Expr) -> pl.Expr:
    """ISO dates and timestamps (``T`` or space, optional fraction, ``Z`` or ``±hh:mm``; none means UTC) as UTC."""
    normal = (
        text.str.strip_chars()
        .str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
        .str.replace(r"^(\d{4}-\d{2}-\d{2})$", "${1}T00:00:00")
        .str.replace(r"Z$", "+00:00")
        .str.replace(r"(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$", "${1}+00:00")
    )
    return normal.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", strict=False).dt.convert_time_zone("UTC")


def from_text(text: pl.Expr, kind: str) -> pl.Expr:
    """Strings as ``kind``; a value that is not one becomes null (the staging quarantines its row)."""
    if kind == "string":
        return text
    if kind == "int":
        return text.str.strip_chars().cast(pl.Int64, strict=False)
    if kind == "float":
        return text.str.strip_chars().cast(pl.Float64, strict=False)
    if kind == "bool":
        return text.str.strip_chars().str.to_lowercase().replace_strict(_BOOLS, default=None, return_dtype=pl.Boolean)
    if kind == "date":
        return text.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    if kind == "datetime":
        return _datetime_from_text(text)
    raise ValueError(f"unknown column type {kind!r}")


def cast_to(column: str, source: pl.DataType, kind: str) -> pl.Expr:
    """The source column as ``kind``: from text for CSV, from the database's Arrow type for SQL."""
    col = pl.col(column)
    if source == pl.String:
        return from_text(col, kind)
    if kind == "datetime" and isinstance(source, pl.Datetime):
        return col.dt.convert_time_zone("UTC") if source.time_zone else col.dt.replace_time_zone("UTC")
    if kind == "datetime" and source == pl.Date:
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if kind == "date" and isinstance(source, pl.Datetime):
        return (col.dt.convert_time_zone("UTC") if source.time_zone else col).dt.date()
    if kind in ("int", "float") and (source.is_numeric() or source == pl.Boolean):
        return col.cast(POLARS_TYPES[kind], strict=False)
    if source == POLARS_TYPES[kind]:
        return col
    return from_text(col.cast(pl.String, strict=False), kind)


def native_kind(dtype: pl.DataType) -> str:
    """The column type a database column maps to (anything else is kept as its text)."""
    if dtype.is_integer():
        return "int"
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    return "string"


def infer_text_kind(values: pl.Series) -> str:
    """The narrowest type every non-empty value of a text column reads as (int, float, bool, date, datetime, else string)."""
    present = values.drop_nulls()
    if present.is_empty():
        return "string"
    frame = present.to_frame("v")
    for kind in ("int", "float", "bool", "date", "datetime"):
        if frame.select(from_text(pl.col("v"), kind).null_count()).item() == 0:
            return kind
    return "string"


def _unique(columns: list[str]) -> pa.Check:
    return pa.Check(
        lambda data: data.lazyframe.select(~pl.struct(columns).is_duplicated()),
        name=f"unique({', '.join(columns)})",
        error=f"duplicate ({', '.join(columns)})",
    )


def table_schema(spec: TableSource, types: Mapping[str, str]) -> pa.DataFrameSchema:
    """The Pandera schema of a table: its columns (after rename) and the rules of ``checks``."""
    checks = spec.checks
    columns = {}
    for name, kind in types.items():
        rules = []
        if name in checks.ranges:
            bounds = checks.ranges[name]
            low = parse_table_value(kind, bounds.min) if bounds.min is not None else None
            high = parse_table_value(kind, bounds.max) if bounds.max is not None else None
            if low is not None and high is not None:
                rules.append(pa.Check.in_range(low, high))
            elif low is not None:
                rules.append(pa.Check.ge(low))
            else:
                rules.append(pa.Check.le(high))
        if name in checks.allowed:
            rules.append(pa.Check.isin([parse_table_value(kind, v) for v in checks.allowed[name]]))
        columns[name] = pa.Column(POLARS_TYPES[kind], checks=rules, nullable=name not in checks.not_null, required=True)
    return pa.DataFrameSchema(
        columns,
        checks=[_unique(list(key)) for key in checks.unique],
        strict=True,
        coerce=False,
        name=f"tables/{spec.name}",
    )
