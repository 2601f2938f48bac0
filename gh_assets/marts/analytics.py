"""Analytics marts in DuckDB, derived from the entity marts: lead times, turnaround, activity, health.

Each table is rebuilt whole by ``sql/analytics_<table>.sql`` (``CREATE OR REPLACE TABLE ... AS``) in one
transaction, so a rerun leaves identical tables. The asset is unpartitioned and follows its upstream marts
on its own: its automation condition requests it once any of them has new data, and the automation sensor
that evaluates it is declared running.
"""

import time
from collections.abc import Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from gh_assets.marts.checks import analytics_check_specs, analytics_checks
from gh_assets.marts.lineage import analytics_column_lineage, analytics_deps
from gh_assets.marts.sql import run_sql
from gh_assets.metadata import duckdb_table

ANALYTICS = (
    ("pr_lead_times", "One row per pull request: time to first review (not by the author) and to merge, review and file counts."),
    ("review_turnaround", "Repository x reviewer x month: reviews given, approvals, change requests, median hours after the PR opened."),
    ("issue_response_times", "One row per issue: time to the first comment by someone other than the author, and to close."),
    ("commit_activity_monthly", "Repository x author (login, else git e-mail) x month: commits and merge commits."),
    ("contributor_stats", "Repository x login: issues and PRs opened, PRs merged, reviews given, commits, comments, first/last activity."),
    ("repo_health_daily", "Repository x day: issues opened/closed, PRs opened/merged, commits, comments, running net of open issues."),
)
ANALYTICS_KEYS = [dg.AssetKey(["marts", name]) for name, _ in ANALYTICS]
BASE_TABLES = ("issues", "pull_requests", "reviews", "pr_files", "issue_comments", "commits")

# Eager, but not held back by upstream partitions that were never loaded (every repo x day from the config's first start
# is a partition; most will never exist). The analytics are rebuilt from whatever the marts hold.
AUTOMATION = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key, deps=analytics_deps(name), description=description, group_name="analytics", kinds={"duckdb", "sql"}, automation_condition=AUTOMATION
        )
        for key, (name, description) in zip(ANALYTICS_KEYS, ANALYTICS, strict=True)
    ],
    check_specs=[spec for key, (name, _) in zip(ANALYTICS_KEYS, ANALYTICS, strict=True) for spec in analytics_check_specs(name, key)],
    pool="duckdb",
    can_subset=False,
)
def analytics_marts(duckdb: DuckDBResource) -> Iterator[dg.MaterializeResult]:
    """Rebuild every analytics table from the entity marts (tables that were never loaded count as empty)."""
    started = time.monotonic()
    with duckdb.get_connection() as con:
        for table in BASE_TABLES:
            run_sql(con, f"{table}_create")
        con.execute("BEGIN TRANSACTION")
        try:
            for name, _ in ANALYTICS:
                run_sql(con, f"analytics_{name}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        tables = {name: {**duckdb_table(con, f"marts.{name}"), "dagster/column_lineage": analytics_column_lineage(con, name)} for name, _ in ANALYTICS}
        checks = {name: analytics_checks(con, name, key) for key, (name, _) in zip(ANALYTICS_KEYS, ANALYTICS, strict=True)}
    seconds = round(time.monotonic() - started, 3)
    for key, (name, _) in zip(ANALYTICS_KEYS, ANALYTICS, strict=True):
        yield dg.MaterializeResult(
            asset_key=key, metadata={**tables[name], "rows": tables[name]["dagster/row_count"], "duration_seconds": seconds}, check_results=checks[name]
        )


analytics_automation_sensor = dg.AutomationConditionSensorDefinition(
    "analytics_automation_sensor",
    target=dg.AssetSelection.assets(*ANALYTICS_KEYS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Rebuilds the analytics marts after their upstream marts change.",
)
