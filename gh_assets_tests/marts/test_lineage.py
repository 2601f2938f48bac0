"""Exact lineage: each analytics and feature asset depends on the tables its SQL reads, and on nothing else."""

import re
from importlib import resources

import dagster as dg

from gh_assets.definitions import defs
from gh_assets.marts.analytics import ANALYTICS
from gh_assets.marts.lineage import tables_read

# What a reader of the SQL files sees (declared here, beside the SQL, and checked against the definitions).
FEATURES_EXPECTED = {
    # every entity's snapshots span its repository's first to last activity: issues, PRs, reviews, commits, comments
    "contributor": {"marts/issues", "marts/pull_requests", "marts/reviews", "marts/commits", "marts/issue_comments", "marts/pr_files"},
    "issue": {"marts/issues", "marts/pull_requests", "marts/reviews", "marts/commits", "marts/issue_comments", "github/raw_issue_pages"},
    "milestone": {"marts/issues", "marts/pull_requests", "marts/reviews", "marts/commits", "marts/issue_comments", "github/raw_issue_pages"},
    "repo": {"marts/issues", "marts/pull_requests", "marts/reviews", "marts/commits", "marts/issue_comments"},
}


def _deps(key: dg.AssetKey) -> set[str]:
    graph = defs.resolve_asset_graph()
    return {k.to_user_string() for k in graph.get(key).parent_keys}


def test_analytics_depend_on_exactly_the_marts_their_sql_reads() -> None:
    for name, _ in ANALYTICS:
        text = resources.files("gh_assets.marts").joinpath("sql", f"analytics_{name}.sql").read_text()
        mentioned = {f"marts/{t}" for t in re.findall(r"\bmarts\.(\w+)", text)} - {f"marts/{name}"}
        assert _deps(dg.AssetKey(["marts", name])) == mentioned, name
    assert _deps(dg.AssetKey(["marts", "commit_activity_monthly"])) == {"marts/commits"}


def test_features_depend_on_the_tables_their_sql_reads_through_the_prelude() -> None:
    for entity, expected in FEATURES_EXPECTED.items():
        assert _deps(dg.AssetKey(["features", entity])) == expected, entity


def test_temp_tables_stand_for_what_they_were_made_from() -> None:
    made = tables_read(
        [
            "CREATE TEMP TABLE a AS SELECT * FROM marts.issues JOIN marts.reviews USING (repository)",
            "CREATE TEMP TABLE b AS WITH c AS (SELECT * FROM a) SELECT * FROM c WHERE $flag",
            "INSERT INTO marts.out SELECT * FROM b UNION ALL SELECT * FROM marts.commits",
        ]
    )
    assert made["b"] == {"marts.issues", "marts.reviews"}
    assert made["marts.out"] == {"marts.issues", "marts.reviews", "marts.commits"}


def test_analytics_column_lineage_follows_the_sql() -> None:
    import duckdb

    from gh_assets.marts.lineage import analytics_column_lineage
    from gh_assets.marts.sql import run_sql

    con = duckdb.connect()
    for table in ("issues", "pull_requests", "reviews", "pr_files", "issue_comments", "commits"):
        run_sql(con, f"{table}_create")
    for name, _ in ANALYTICS:
        deps = analytics_column_lineage(con, name).deps_by_column
        assert deps, name
        assert {d.asset_key.to_user_string() for ds in deps.values() for d in ds} <= _deps(dg.AssetKey(["marts", name])), name
    lead = analytics_column_lineage(con, "pr_lead_times").deps_by_column
    assert lead["author"] == [dg.TableColumnDep(asset_key=dg.AssetKey(["marts", "pull_requests"]), column_name="user_login")]
    assert {(d.asset_key.path[-1], d.column_name) for d in lead["time_to_first_review_hours"]} == {("pull_requests", "created_at"), ("reviews", "submitted_at")}
    health = analytics_column_lineage(con, "repo_health_daily").deps_by_column  # SELECT *, expanded
    assert ("issues", "closed_at") in {(d.asset_key.path[-1], d.column_name) for d in health["open_issues_net"]}
