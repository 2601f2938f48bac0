"""Checks of the analytics marts: a duplicate key, a negative duration or a lost row fails them."""

import dagster as dg
import duckdb

from gh_assets.marts.analytics import ANALYTICS
from gh_assets.marts.checks import RULES, analytics_checks
from gh_assets.marts.sql import run_sql

KEY = dg.AssetKey(["marts", "pr_lead_times"])


def _built() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for table in ("issues", "pull_requests", "reviews", "pr_files", "issue_comments", "commits"):
        run_sql(con, f"{table}_create")
    con.execute(
        "INSERT INTO marts.pull_requests (repository, row_key, id, number, title, state, created_at, updated_at, is_merged, partition_date) "
        "VALUES ('o/r', 'o/r/1', 11, 1, 't', 'open', TIMESTAMPTZ '2025-01-02 00:00:00+00', TIMESTAMPTZ '2025-01-03 00:00:00+00', false, DATE '2025-01-03'),"
        "       ('o/r', 'o/r/2', 12, 2, 't', 'open', TIMESTAMPTZ '2025-01-02 00:00:00+00', TIMESTAMPTZ '2025-01-03 00:00:00+00', false, DATE '2025-01-03')"
    )
    for name, _ in ANALYTICS:
        run_sql(con, f"analytics_{name}")
    return con


def test_every_analytics_table_has_rules_and_they_pass_on_a_fresh_build() -> None:
    assert set(RULES) == {name for name, _ in ANALYTICS}
    con = _built()
    for name, _ in ANALYTICS:
        results = analytics_checks(con, name, dg.AssetKey(["marts", name]))
        assert all(r.passed for r in results), [(r.check_name, r.metadata) for r in results if not r.passed]


def test_duplicates_negative_durations_and_lost_rows_fail() -> None:
    con = _built()
    con.execute("INSERT INTO marts.pr_lead_times (repository, number, lead_time_hours) VALUES ('o/r', 1, -2.0)")
    failed = {r.check_name for r in analytics_checks(con, "pr_lead_times", KEY) if not r.passed}
    assert failed == {"pr_lead_times_keys_unique", "pr_lead_times_durations_non_negative", "pr_lead_times_reconciled"}
