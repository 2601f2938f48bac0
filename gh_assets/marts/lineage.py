"""Which tables a SQL file reads, parsed with sqlglot: the exact upstream of the analytics and feature assets.

A statement that creates a table (``CREATE [TEMP] TABLE t AS ...``, ``INSERT INTO t ...``) makes ``t`` stand for
what it read, so a later read of ``t`` counts as a read of those: a feature table built from the prelude's temp
tables depends on the marts those temp tables were built from, and on nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import dagster as dg
import sqlglot
from sqlglot import exp

from gh_assets.marts.sql import statements

_PARAM_RE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")
# Tables that are not SQL but registered frames, and the asset each comes from.
REGISTERED = {"milestone_due_input": dg.AssetKey(["github", "raw_issue_pages"])}  # milestone due dates from the raw issue pages


def _name(table: exp.Table) -> str:
    return f"{table.db}.{table.name}" if table.db else table.name


def tables_read(sql: Iterable[str]) -> dict[str, set[str]]:
    """For each table the statements create or fill, the base tables it was made from (temp tables resolved).

    A statement that creates nothing (a plain SELECT) is recorded under ``""``.
    """
    made_from: dict[str, set[str]] = {}
    for statement in sql:
        tree = sqlglot.parse_one(_PARAM_RE.sub("NULL", statement), read="duckdb")
        if tree is None:
            continue
        target = ""
        if isinstance(tree, (exp.Create, exp.Insert)):
            node = tree.this
            while isinstance(node, exp.Schema):  # INSERT INTO t (a, b) / CREATE TABLE t (a INT)
                node = node.this
            target = _name(node) if isinstance(node, exp.Table) else ""
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        reads = {_name(t) for t in tree.find_all(exp.Table) if t.name and _name(t) != target and t.name not in ctes}
        resolved: set[str] = set()
        for table in reads:
            resolved |= made_from.get(table, {table})
        made_from[target] = made_from.get(target, set()) | resolved
    return made_from


def upstream_of(tables: Iterable[str]) -> list[dg.AssetKey]:
    """The asset keys of base tables: ``marts.x`` -> ``marts/x``, a registered frame -> its asset."""
    keys = set()
    for table in tables:
        schema, _, name = table.rpartition(".")
        if schema in ("marts", "features", "tables"):
            keys.add(dg.AssetKey([schema, name]))
        elif table in REGISTERED:
            keys.add(REGISTERED[table])
    return sorted(keys, key=lambda k: k.to_user_string())


def analytics_deps(name: str) -> list[dg.AssetKey]:
    """What ``marts/sql/analytics_<name>.sql`` reads to build ``marts.<name>``."""
    return upstream_of(tables_read(statements(f"analytics_{name}")).get(f"marts.{name}", set()))


def feature_deps(entity: str) -> list[dg.AssetKey]:
    """What ``features/sql/prelude.sql`` + ``features/sql/<entity>.sql`` read for that entity's tables.

    Only the prelude's temp tables the entity's SQL uses count (through what they were made from).
    """
    prelude = tables_read(statements("prelude", "gh_assets.features"))
    mine = tables_read(statements(entity, "gh_assets.features"))
    base: set[str] = set()
    for sources in mine.values():
        for table in sources:
            base |= _resolve(table, prelude)
    return upstream_of(base)


def _resolve(table: str, made_from: dict[str, set[str]]) -> set[str]:
    return made_from.get(table, {table})
