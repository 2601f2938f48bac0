"""Which tables (and columns) a SQL file reads, parsed with sqlglot: the exact upstream of the analytics and feature assets.

A statement that creates a table (``CREATE [TEMP] TABLE t AS ...``, ``INSERT INTO t ...``) makes ``t`` stand for
what it read, so a later read of ``t`` counts as a read of those: a feature table built from the prelude's temp
tables depends on the marts those temp tables were built from, and on nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import dagster as dg
import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify

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


def column_lineage(create: str, schema: dict[str, dict[str, dict[str, str]]]) -> dict[str, set[tuple[str, str]]]:
    """For each output column of ``CREATE TABLE ... AS SELECT``, the base ``(table, column)`` pairs it is computed from.

    ``schema`` is ``{schema: {table: {column: type}}}`` of the tables read (to expand ``*``). A column made of no
    base column (``count(*)``) maps to an empty set; one sqlglot cannot trace is left out.
    """
    select = sqlglot.parse_one(_PARAM_RE.sub("NULL", create), read="duckdb").expression
    qualified = qualify(select, schema=schema, dialect="duckdb")
    out: dict[str, set[tuple[str, str]]] = {}
    for column in qualified.named_selects:
        try:
            node = lineage(column, qualified, schema=schema, dialect="duckdb")
        except sqlglot.errors.SqlglotError:
            continue  # a column sqlglot cannot trace is left out of the lineage; it never fails the asset
        out[column] = {
            (_name(n.expression), n.name.rsplit(".", 1)[-1].strip('"')) for n in node.walk() if not n.downstream and isinstance(n.expression, exp.Table)
        }
    return out


def analytics_column_lineage(con: duckdb.DuckDBPyConnection, name: str) -> dg.TableColumnLineage:
    """``dagster/column_lineage`` of ``marts.<name>``: each column's source columns in the entity marts."""
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for schema_name, table, column, data_type in con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts'"
    ).fetchall():
        schema.setdefault(schema_name, {}).setdefault(table, {})[column] = data_type
    (create,) = [s for s in statements(f"analytics_{name}") if s.lstrip().upper().startswith("CREATE")]
    deps = {
        column: [dg.TableColumnDep(asset_key=key, column_name=source) for table, source in sorted(sources) for key in upstream_of([table])]
        for column, sources in column_lineage(create, schema).items()
        if sources
    }
    return dg.TableColumnLineage(deps_by_column=deps)
