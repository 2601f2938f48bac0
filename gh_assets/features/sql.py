"""Running the feature SQL files (``gh_assets/features/sql/<name>.sql``) with the marts' SQL runner."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from gh_assets.marts.sql import run_sql


def run_feature_sql(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any]) -> None:
    """Execute every statement of ``features/sql/<name>.sql`` with the parameters each one names."""
    run_sql(con, name, params, package="gh_assets.features")
