"""Running the SQL files: statements split at line-ending semicolons, named ``$parameters`` bound."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import duckdb

_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
# `    name   TYPE ...,  -- what it is` in a CREATE TABLE: the column's description.
_COLUMN_COMMENT_RE = re.compile(r"^\s+([a-z_][a-z0-9_]*)\s+[A-Z][^-]*--\s*(.+?)\s*$")


@cache
def statements(name: str, package: str = "gh_assets.marts") -> tuple[str, ...]:
    """The statements of ``<package>/sql/<name>.sql`` (kept as files so analysts can run them in the duckdb CLI)."""
    text = resources.files(package).joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return tuple(s.strip() for s in re.split(r";\s*(?:\n|$)", body) if s.strip())


def run_sql(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None, *, package: str = "gh_assets.marts") -> None:
    """Execute every statement of ``<package>/sql/<name>.sql`` with the parameters each one names."""
    params = params or {}
    for statement in statements(name, package):
        wanted = set(_PARAM_RE.findall(statement))
        missing = wanted - params.keys()
        if missing:
            raise KeyError(f"{package}/sql/{name}.sql needs parameters {sorted(missing)}")
        con.execute(statement, {k: params[k] for k in wanted} if wanted else None).fetchall()


@cache
def column_comments(name: str, package: str = "gh_assets.marts") -> dict[str, str]:
    """The ``-- comment`` after each column of the CREATE TABLE in ``<package>/sql/<name>.sql``, by column."""
    text = resources.files(package).joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for line in text.splitlines() if (m := _COLUMN_COMMENT_RE.match(line))}


def comment_columns(con: duckdb.DuckDBPyConnection, table: str, comments: Mapping[str, str]) -> None:
    """Write the descriptions as ``COMMENT ON COLUMN``, so an analyst sees them in the duckdb CLI (``duckdb_columns()``)."""
    for column, text in comments.items():
        quoted = text.replace("'", "''")
        con.execute(f"COMMENT ON COLUMN {table}.{column} IS '{quoted}'")
