"""The blocking check of every publish asset: PostgreSQL holds as many rows of the run's partitions as DuckDB."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg


def published_rows_check_name(table: str) -> str:
    return f"{table}_published_rows"


def published_rows_spec(table: str, key: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        published_rows_check_name(table),
        asset=key,
        blocking=True,
        description=f"Rows of PostgreSQL marts.{table} in the run's partitions = rows of DuckDB's marts.{table} in the same partitions.",
    )


def published_rows_result(table: str, key: dg.AssetKey, duckdb_rows: Mapping[str, int], postgres_rows: Mapping[str, int]) -> dg.AssetCheckResult:
    """Per repository, the count in DuckDB (read when exported) against the count in PostgreSQL after commit."""
    mismatches = {
        repo: {"duckdb": duckdb_rows[repo], "postgres": postgres_rows.get(repo)} for repo in duckdb_rows if postgres_rows.get(repo) != duckdb_rows[repo]
    }
    return dg.AssetCheckResult(
        check_name=published_rows_check_name(table),
        asset_key=key,
        passed=not mismatches,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "duckdb_rows": sum(duckdb_rows.values()),
            "postgres_rows": sum(postgres_rows.values()),
            "repositories": len(duckdb_rows),
            "mismatches": dg.MetadataValue.json(mismatches),
        },
    )
