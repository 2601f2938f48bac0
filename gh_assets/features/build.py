"""Building one feature table in DuckDB: raw values (SQL files), then missing values and 0-1 normalisation.

Nothing here imports Dagster. ``build_feature_table`` leaves two temp tables, ``<entity>_raw_new`` and
``<entity>_new``; ``publish`` swaps them into ``features.<entity>_raw`` / ``features.<entity>`` in one
transaction.

Point in time: every raw value at event time T uses only records timestamped <= T, and every statistic the
policies use is taken over rows with event_timestamp <= T (``minmax`` and ``median``: all rows of the table
up to T, i.e. an expanding window; ``percent_rank``: the rows of the same event_timestamp). So adding,
changing or removing records after T never changes a row at or before T.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from gh_assets.features.catalogue import ENTITIES, Feature, column_names, features_of
from gh_assets.features.config import FeaturesConfig
from gh_assets.features.sql import run_feature_sql

_HISTORY = "hist AS (ORDER BY event_timestamp RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"


@dataclass(frozen=True)
class Column:
    """One output column of a feature table with the policies that apply to it."""

    name: str
    feature: Feature
    window_days: int | None
    normalisation: str
    missing: str


def columns(entity: str, config: FeaturesConfig) -> tuple[Column, ...]:
    out = []
    for feature in features_of(entity):
        for name, window in zip(column_names(feature, config.windows), config.windows if feature.windowed else (None,), strict=True):
            out.append(Column(name, feature, window, config.normalisation_of(feature), config.missing_of(feature)))
    return tuple(out)


def catalogue_frame(config: FeaturesConfig) -> pl.DataFrame:
    """One row per output column of every feature table: what it is and how it was treated."""
    rows = [
        {
            "entity": entity,
            "column": c.name,
            "feature": c.feature.name,
            "window_days": c.window_days,
            "definition": c.feature.definition,
            "normalisation": c.normalisation,
            "missing": c.missing,
        }
        for entity in ENTITIES
        for c in columns(entity, config)
    ]
    return pl.DataFrame(rows, schema={"entity": pl.String, "column": pl.String, "feature": pl.String, "window_days": pl.Int64,
                                      "definition": pl.String, "normalisation": pl.String, "missing": pl.String})


def sql_params(config: FeaturesConfig) -> dict[str, object]:
    labels = {k.lower(): v for k, v in config.priority_labels.items()}
    return {
        "windows": list(config.windows),
        "max_window": max(config.windows),
        "daily": config.snapshots.mode == "daily",
        "dates": list(config.snapshots.dates),
        "bug_labels": [b.lower() for b in config.bug_labels],
        "in_progress_labels": [b.lower() for b in config.in_progress_labels],
        "blocked_labels": [b.lower() for b in config.blocked_labels],
        "priority_labels": list(labels),
        "priority_weights": list(labels.values()),
    }


def prepare(con: duckdb.DuckDBPyConnection, config: FeaturesConfig, dues: pl.DataFrame) -> None:
    """The shared temp tables (windows, snapshots, events, references) every entity builds from."""
    con.register("milestone_due_input", dues)
    run_feature_sql(con, "prelude", sql_params(config))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pivot_sql(entity: str, cols: tuple[Column, ...]) -> str:
    keys = ", ".join(ENTITIES[entity].keys + ("event_timestamp",))
    windowed = [c for c in cols if c.window_days is not None]
    static = [c for c in cols if c.window_days is None]
    picks = ", ".join(f"max(w.{_q(c.feature.name)}) FILTER (WHERE w.window_days = {int(c.window_days)}) AS {_q(c.name)}" for c in windowed)
    static_cols = ", ".join(f"s.{_q(c.name)}" for c in static)
    return (
        f"CREATE OR REPLACE TEMP TABLE {entity}_raw_new AS "
        f"WITH wide AS (SELECT {keys}, {picks} FROM {entity}_windowed w GROUP BY {keys}) "
        f"SELECT {', '.join('s.' + k for k in ENTITIES[entity].keys)}, s.event_timestamp, {static_cols}"
        f"{', ' if windowed else ''}{', '.join('wide.' + _q(c.name) for c in windowed)} "
        f"FROM {entity}_static s LEFT JOIN wide USING ({keys}) ORDER BY {keys}"
    )


def _impute(c: Column) -> str:
    col = _q(c.name)
    if c.feature.kind == "list":
        return f"coalesce({col}, []::VARCHAR[]) AS {col}" if c.missing == "zero" else col
    value = f"{col}::DOUBLE"
    if c.missing == "zero":
        return f"coalesce({value}, 0.0) AS {col}"
    if c.missing == "median":
        # the median of every earlier-or-same-time row; 0 until the feature has been seen at all
        return f"coalesce({value}, median({value}) OVER hist, 0.0) AS {col}"
    return f"{value} AS {col}"


def _normalise(c: Column) -> str:
    col = _q(c.name)
    if c.feature.kind == "list" or c.normalisation == "none":
        return col
    if c.normalisation == "identity":
        # DuckDB's least/greatest skip nulls, so a kept null must be handled before clipping
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE least(greatest({col}, 0.0), 1.0) END AS {col}"
    if c.normalisation == "percent_rank":
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE percent_rank() OVER (PARTITION BY event_timestamp, {col} IS NULL ORDER BY {col}) END AS {col}"
    lo, hi = f"min({col}) OVER hist", f"max({col}) OVER hist"
    return f"CASE WHEN {col} IS NULL THEN NULL WHEN {hi} = {lo} THEN 0.0 ELSE least(greatest(({col} - {lo}) / ({hi} - {lo}), 0.0), 1.0) END AS {col}"


def _normalised_sql(entity: str, cols: tuple[Column, ...]) -> str:
    keys = ENTITIES[entity].keys + ("event_timestamp",)
    key_list = ", ".join(keys)
    dropped = [f"{_q(c.name)} IS NOT NULL" for c in cols if c.missing == "drop"]
    where = f" WHERE {' AND '.join(dropped)}" if dropped else ""
    return (
        f"CREATE OR REPLACE TEMP TABLE {entity}_new AS "
        f"WITH kept AS (SELECT * FROM {entity}_raw_new{where}), "
        f"imputed AS (SELECT {key_list}, {', '.join(_impute(c) for c in cols)} FROM kept WINDOW {_HISTORY}) "
        f"SELECT {key_list}, {', '.join(_normalise(c) for c in cols)} FROM imputed WINDOW {_HISTORY} ORDER BY {key_list}"
    )


def build_feature_table(con: duckdb.DuckDBPyConnection, entity: str, config: FeaturesConfig) -> tuple[Column, ...]:
    """Raw values into ``<entity>_raw_new``, then policies into ``<entity>_new`` (temp tables; ``prepare`` first)."""
    cols = columns(entity, config)
    run_feature_sql(con, entity, sql_params(config))
    con.execute(_pivot_sql(entity, cols)).fetchall()
    con.execute(_normalised_sql(entity, cols)).fetchall()
    return cols


def publish(con: duckdb.DuckDBPyConnection, entity: str, config: FeaturesConfig) -> None:
    """Replace ``features.<entity>``, ``features.<entity>_raw`` and the entity's catalogue rows in one transaction."""
    catalogue = catalogue_frame(config).filter(pl.col("entity") == entity)
    con.register("catalogue_input", catalogue)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TABLE features.{entity} AS SELECT * FROM {entity}_new").fetchall()
        con.execute(f"CREATE OR REPLACE TABLE features.{entity}_raw AS SELECT * FROM {entity}_raw_new").fetchall()
        con.execute("CREATE TABLE IF NOT EXISTS features.catalogue AS SELECT * FROM catalogue_input WHERE false").fetchall()
        con.execute("DELETE FROM features.catalogue WHERE entity = ?", [entity]).fetchall()
        con.execute("INSERT INTO features.catalogue SELECT * FROM catalogue_input").fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("catalogue_input")


def fetch(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    """A table as Polars, timestamps labelled ``UTC`` (DuckDB hands them over as ``Etc/UTC``)."""
    frame = con.sql(f"SELECT * FROM {table}").pl()
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC") for name, dtype in frame.schema.items() if isinstance(dtype, pl.Datetime)
    )
