"""Publish assets: the run's partitions of a DuckDB mart replaced in PostgreSQL's ``marts`` schema.

Each asset is partitioned like its mart (repo x day, or repo x month for commits) and runs a range as a single
run. DuckDB is read first, in one short connection (it takes the file lock that mart writers also need), then
each repository's partitions are replaced in one PostgreSQL transaction: delete their rows, COPY DuckDB's.
One transaction per repository rather than per partition: a 40-day backfill is one COPY, not forty, and a
failure leaves the repository exactly as the previous publish left it.
"""

import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from gh_assets.github.partitions import days_by_repo, months_by_repo, repo_day_partitions, repo_month_partitions
from gh_assets.publish.checks import published_rows_result, published_rows_spec
from gh_assets.publish.resources import PostgresResource, publish_resources
from gh_assets.publish.transfer import (
    PublishedTable,
    count_published,
    count_table,
    duckdb_columns,
    ensure_table,
    export_partitions,
    replace_partitions,
)

COMMITS = PublishedTable("commits", key=("repository", "sha"))
PULL_REQUESTS = PublishedTable("pull_requests", key=("repository", "number"))
ISSUES = PublishedTable("issues", key=("repository", "id"))

# A partition is published after its mart partition updates, from whichever run loaded it (a backfill of past
# days too: no latest-time-window limit) and only once the mart's blocking checks passed (a mart that lost
# records against GitHub is not published). The publish_automation_sensor evaluates it.
AUTOMATION = (
    dg.AutomationCondition.eager().without(dg.AutomationCondition.in_latest_time_window())
    & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager_after_passing_marts")


def build_publish_asset(
    table: PublishedTable,
    partitions_def: dg.PartitionsDefinition,
    by_repo: Callable[[Sequence[str]], dict[str, list[date]]],
) -> dg.AssetsDefinition:
    """``publish/<table>``: PostgreSQL ``marts.<table>`` for the run's partitions, from DuckDB ``marts.<table>``."""
    key = dg.AssetKey(["publish", table.name])

    @dg.asset(
        key=key,
        deps=[dg.AssetKey(["marts", table.name])],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="postgres",
        automation_condition=AUTOMATION,
        group_name="publish",
        kinds={"postgres", "duckdb"},
        description=f"The rows of DuckDB marts.{table.name} of each partition, in PostgreSQL marts.{table.name} (same grain and key).",
        check_specs=[published_rows_spec(table.name, key)],
    )
    def _publish(context: dg.AssetExecutionContext, duckdb: DuckDBResource, postgres: PostgresResource) -> dg.MaterializeResult:
        started = time.monotonic()
        partitions = by_repo(context.partition_keys)
        with tempfile.TemporaryDirectory(prefix=f"publish-{table.name}-") as tmp:
            with duckdb.get_connection() as con:
                columns = duckdb_columns(con, table)
                exports = [
                    export_partitions(con, table, columns, repo, dates, Path(tmp) / f"{n}.csv") for n, (repo, dates) in enumerate(partitions.items())
                ]
            exported = time.monotonic()
            with postgres.connect() as conn:
                ensure_table(conn, table, columns)
                loaded = []
                for export in exports:
                    loaded.append(replace_partitions(conn, table, columns, export))
                    context.log.info(f"marts.{table.name} {export.repository}: {len(export.dates)} partitions, {export.rows} rows published")
                published = {e.repository: count_published(conn, table, e.repository, e.dates) for e in exports}
                total = count_table(conn, table)
        return dg.MaterializeResult(
            metadata={
                "rows_published": sum(x.inserted for x in loaded),
                "rows_replaced": sum(x.replaced for x in loaded),
                "rows_moved_from_other_partitions": sum(x.moved for x in loaded),
                "partitions": sum(len(e.dates) for e in exports),
                "repositories": len(exports),
                "csv_bytes": sum(e.bytes for e in exports),
                "export_seconds": round(exported - started, 3),
                "load_seconds": round(sum(x.seconds for x in loaded), 3),
                "duration_seconds": round(time.monotonic() - started, 3),
                "table_rows": total,
            },
            check_results=[published_rows_result(table.name, key, {e.repository: e.rows for e in exports}, published)],
        )

    return _publish


# Commits first: the monthly partitions are the cheapest way to see a publish work end to end.
publish_commits = build_publish_asset(COMMITS, repo_month_partitions, months_by_repo)
publish_pull_requests = build_publish_asset(PULL_REQUESTS, repo_day_partitions, days_by_repo)
publish_issues = build_publish_asset(ISSUES, repo_day_partitions, days_by_repo)
PUBLISH_ASSETS = [publish_commits, publish_pull_requests, publish_issues]


def publish_assets() -> list[dg.AssetsDefinition]:
    """The publish assets when ``$GH_ASSETS_POSTGRES_DSN`` is set; none otherwise, so the default location is unchanged."""
    return PUBLISH_ASSETS if publish_resources() else []
