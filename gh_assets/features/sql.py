"""Running the feature SQL files (``sql/<name>.sql``): statements split at line-ending semicolons, ``$parameters`` bound."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import duckdb

_PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@cache
def statements(name: str) -> tuple[str, ...]:
    """The statements of ``gh_assets/features/sql/<name>.sql`` (files, so analysts can run them in the duckdb CLI)."""
    text = resources.files("gh_assets.features").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return tuple(s.strip() for s in re.split(r";\s*(?:\n|$)", body) if s.strip())


def run_feature_sql(con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any]) -> None:
    """Execute every statement of ``sql/<name>.sql`` with the parameters each one names."""
    for statement in statements(name):
        wanted = set(_PARAM_RE.findall(statement))
        missing = wanted - params.keys()
        if missing:
            raise KeyError(f"features/sql/{name}.sql needs parameters {sorted(missing)}")
        con.execute(statement, {k: params[k] for k in wanted} if wanted else None).fetchall()
