"""Running the SQL files: statements split at line-ending semicolons, named ``$parameters`` bound."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import duckdb

_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


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
