"""Dagster's standard asset metadata: per-partition figures, row counts, column schemas, table names.

Dagster's UI reads ``dagster/row_count``, ``dagster/column_schema``, ``dagster/table_name`` and ``dagster/uri``
(the "Row count" and "Columns" of an asset page and the catalog); keys of our own are kept only for what
Dagster has no name for. A step that materialises a range of partitions reports each partition's own
figures on that partition's event; what covers the whole run is named ``run_total_*``.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandera.polars as pa
from dagster._core.execution.context.metadata_logging import AssetMetadataHandle, OutputMetadataAccumulator


def run_totals(figures: Mapping[str, Any]) -> dict[str, Any]:
    """``{"requests": 3}`` -> ``{"run_total_requests": 3}``: figures of the whole run, not of one partition.

    A budget left (``*_remaining``) is a reading at the end of the step, not a sum: its name is kept.
    """
    return {k if k.endswith("_remaining") else f"run_total_{k}": v for k, v in figures.items()}


def add_partition_metadata(
    context: dg.AssetExecutionContext, by_partition: Mapping[str, Mapping[str, Any]], asset_key: dg.AssetKey | None = None
) -> None:
    """Attach ``by_partition[key]`` to the materialisation event of partition ``key`` (and only to it).

    The same as ``context.add_asset_metadata(metadata, partition_key=key)`` for each partition, which Dagster
    1.13 validates by listing every partition of the run's range (and the dynamic ones from the instance) per
    call: ~8 ms a call, 3 s for a year of days, minutes for ten. Here the range is checked once and the
    step's metadata accumulator is extended once. If Dagster's internals move, the public call is used
    (gh_assets_tests/test_partition_metadata.py reads the events back from the instance either way).
    """
    if not by_partition:
        return
    step = getattr(context, "_step_execution_context", None)
    accumulator = getattr(step, "_metadata_accumulator", None)
    if not isinstance(accumulator, OutputMetadataAccumulator):
        for partition, metadata in by_partition.items():
            context.add_asset_metadata(metadata, asset_key=asset_key, partition_key=partition)
        return
    key = asset_key or context.assets_def.key
    if key not in context.assets_def.keys:
        raise dg.DagsterInvariantViolationError(f"metadata for {key.to_user_string()}, which this step does not materialise")
    targeted = set(context.partition_keys)
    stray = [p for p in by_partition if p not in targeted]
    if stray:
        raise dg.DagsterInvariantViolationError(f"metadata for partitions this run does not target: {stray[:5]}")
    current = accumulator.per_output_metadata
    added = {}
    for partition, metadata in by_partition.items():
        handle = AssetMetadataHandle(asset_key=key, partition_key=partition)
        added[handle] = {**current.get(handle, {}), **metadata}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata={**current, **added})  # noqa: SLF001


def row_count(rows: int) -> dict[str, Any]:
    """``dagster/row_count`` (the asset page's "Row count")."""
    return {"dagster/row_count": int(rows)}


def table_name(name: str) -> dict[str, Any]:
    """``dagster/table_name`` of a DuckDB table, e.g. ``marts.issues``."""
    return {"dagster/table_name": name}


def uri(location: str) -> dict[str, Any]:
    """``dagster/uri`` of a lake table (a folder or an ``s3://`` prefix)."""
    return {"dagster/uri": location}


def lake_uri(path: str | os.PathLike[str]) -> str:
    """A lake path as a URI: ``s3://...`` as it is, a local folder as ``file:///...``."""
    text = str(path)
    return text if "://" in text else Path(text).resolve().as_uri()


def column_schema(schema: dg.TableSchema) -> dict[str, Any]:
    """``dagster/column_schema`` (the asset page's "Columns")."""
    return {"dagster/column_schema": dg.MetadataValue.table_schema(schema)}


def model_table_schema(model: type[pa.DataFrameModel], descriptions: Mapping[str, str] | None = None) -> dg.TableSchema:
    """The columns of a Pandera model as Dagster's ``TableSchema``: name, Polars type, nullability, uniqueness,
    description (the model's, else ``descriptions[name]``: the mart's column comments for the same column)."""
    schema = model.to_schema()
    unique = set(schema.unique or [])
    columns = []
    for name, column in schema.columns.items():
        checks = [str(c.error or c.name) for c in column.checks]
        columns.append(
            dg.TableColumn(
                name=name,
                type=str(column.dtype),
                description=column.description or (descriptions or {}).get(name),
                constraints=dg.TableColumnConstraints(nullable=bool(column.nullable), unique=bool(column.unique) or unique == {name}, other=checks),
            )
        )
    return dg.TableSchema(columns=columns)


def duckdb_table_schema(con: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    """The columns of DuckDB table ``schema.name`` from the catalog, with the comments set by ``COMMENT ON COLUMN``."""
    schema_name, name = table.split(".", 1)
    rows = con.execute(
        "SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns() "
        "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema_name, name],
    ).fetchall()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=c, type=t, description=comment or None, constraints=dg.TableColumnConstraints(nullable=bool(nullable)))
            for c, t, nullable, comment in rows
        ]
    )


def same_name_lineage(columns: Sequence[str], upstream: dg.AssetKey, upstream_columns: Sequence[str]) -> dict[str, Any]:
    """``dagster/column_lineage`` of a table whose columns are copied from ``upstream``'s columns of the same name."""
    known = set(upstream_columns)
    deps = {c: [dg.TableColumnDep(asset_key=upstream, column_name=c)] for c in columns if c in known}
    return {"dagster/column_lineage": dg.TableColumnLineage(deps_by_column=deps)}


def duckdb_table(con: duckdb.DuckDBPyConnection, table: str, rows: int | None = None) -> dict[str, Any]:
    """Standard metadata of a DuckDB table: name, columns from the catalog and (given or counted) rows."""
    if rows is None:
        (rows,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return {**table_name(table), **column_schema(duckdb_table_schema(con, table)), **row_count(rows)}


# --------------------------------------------------------------------------------------------- definitions
OWNERS = ("team:data-platform",)
_PACKAGE = Path(__file__).resolve().parent


def catalogued(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Owners and code references on every asset: links into the git host when the code is a checkout with a
    remote (``GH_ASSETS_GIT_URL`` overrides it), local file references otherwise."""
    owned = dg.map_asset_specs(lambda spec: spec.replace_attributes(owners=[*spec.owners, *(o for o in OWNERS if o not in spec.owners)]), assets)
    referenced = dg.with_source_code_references(owned)
    remote = _git_remote()
    if remote is None:
        return list(referenced)
    url, branch = remote
    mapping = dg.AnchorBasedFilePathMapping(local_file_anchor=_PACKAGE, file_anchor_path_in_repository=f"{_PACKAGE.name}/")
    return list(dg.link_code_references_to_git(referenced, git_url=url, git_branch=branch, file_path_mapping=mapping))


def _git_remote() -> tuple[str, str] | None:
    """``(https URL, branch)`` of the checkout the package lives in, read from ``.git`` (no subprocess); None if not one."""
    git = _PACKAGE.parent / ".git"
    override = os.environ.get("GH_ASSETS_GIT_URL")
    if not git.is_dir() and not override:
        return None
    head = (git / "HEAD").read_text().strip() if (git / "HEAD").is_file() else ""
    branch = head.removeprefix("ref: refs/heads/") if head.startswith("ref: refs/heads/") else "main"
    if override:
        return override.rstrip("/"), branch
    config = configparser.ConfigParser(strict=False)
    try:
        config.read(git / "config")
        url = config.get('remote "origin"', "url")
    except (configparser.Error, OSError):
        return None
    if url.startswith("git@"):  # git@github.com:owner/name.git -> https://github.com/owner/name
        host, _, path = url[4:].partition(":")
        url = f"https://{host}/{path}"
    if not url.startswith("https://"):
        return None
    return url.removesuffix(".git").rstrip("/"), branch
