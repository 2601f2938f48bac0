"""Checks of the analytics marts: keys unique, durations not negative, rows reconciled with their source marts.

Each analytics table states its grain (key), its durations and one reconciliation: a figure computed from the
analytics table and the same figure computed from the entity marts it was built from (the filters match the
table's SQL, ``sql/analytics_<table>.sql``).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import duckdb


@dataclass(frozen=True)
class AnalyticsRules:
    key: tuple[str, ...]
    durations: tuple[str, ...]  # SQL expressions that must not be negative (null allowed)
    ours: str  # SELECT of a row of figures from the analytics table
    source: str  # SELECT of the same figures from the entity marts


RULES = {
    "pr_lead_times": AnalyticsRules(
        ("repository", "number"),
        ("lead_time_hours", "time_to_first_review_hours"),
        "SELECT count(*) FROM marts.pr_lead_times",
        "SELECT count(*) FROM marts.pull_requests",
    ),
    "review_turnaround": AnalyticsRules(
        ("repository", "reviewer", "month"),
        ("median_hours_after_open",),
        "SELECT coalesce(sum(reviews), 0) FROM marts.review_turnaround",
        "SELECT count(*) FROM marts.reviews r JOIN marts.pull_requests p ON p.repository = r.repository AND p.number = r.pull_number "
        "WHERE r.submitted_at IS NOT NULL AND r.user_login IS NOT NULL",
    ),
    "issue_response_times": AnalyticsRules(
        ("repository", "number"),
        ("time_to_first_response_hours", "time_to_close_hours"),
        "SELECT count(*) FROM marts.issue_response_times",
        "SELECT count(*) FROM marts.issues",
    ),
    "commit_activity_monthly": AnalyticsRules(
        ("repository", "author", "linked_account", "month"),
        ("date_diff('second', first_commit_at, last_commit_at)",),
        "SELECT coalesce(sum(commits), 0) FROM marts.commit_activity_monthly",
        "SELECT count(*) FROM marts.commits",
    ),
    "contributor_stats": AnalyticsRules(
        ("repository", "login"),
        ("date_diff('second', first_activity_at, last_activity_at)",),
        "SELECT coalesce(sum(prs_opened), 0), coalesce(sum(commits), 0) FROM marts.contributor_stats",
        "SELECT (SELECT count(*) FROM marts.pull_requests WHERE user_login IS NOT NULL), (SELECT count(*) FROM marts.commits WHERE author_login IS NOT NULL)",
    ),
    "repo_health_daily": AnalyticsRules(
        ("repository", "day"),
        (),
        "SELECT coalesce(sum(prs_opened), 0), coalesce(sum(commits), 0), coalesce(sum(comments), 0) FROM marts.repo_health_daily",
        "SELECT (SELECT count(*) FROM marts.pull_requests), (SELECT count(*) FROM marts.commits), (SELECT count(*) FROM marts.issue_comments)",
    ),
}


def analytics_check_specs(name: str, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    rules = RULES[name]
    specs = [
        dg.AssetCheckSpec(f"{name}_keys_unique", asset=key, blocking=True, description=f"One row per ({', '.join(rules.key)})."),
        dg.AssetCheckSpec(f"{name}_reconciled", asset=key, blocking=True, description="Its figures equal the same figures computed from its source marts."),
    ]
    if rules.durations:
        specs.append(dg.AssetCheckSpec(f"{name}_durations_non_negative", asset=key, blocking=True, description=f"No negative {', '.join(rules.durations)}."))
    return specs


def analytics_checks(con: duckdb.DuckDBPyConnection, name: str, key: dg.AssetKey) -> list[dg.AssetCheckResult]:
    """Run the checks of ``marts.<name>`` (after it was rebuilt, on the same connection)."""
    rules = RULES[name]
    keys = ", ".join(rules.key)
    (duplicates,) = con.execute(f"SELECT count(*) FROM (SELECT {keys} FROM marts.{name} GROUP BY ALL HAVING count(*) > 1)").fetchone()
    ours, source = con.execute(rules.ours).fetchone(), con.execute(rules.source).fetchone()
    results = [
        dg.AssetCheckResult(
            check_name=f"{name}_keys_unique",
            asset_key=key,
            passed=duplicates == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{duplicates} keys ({keys}) on more than one row" if duplicates else None,
            metadata={"duplicate_keys": duplicates},
        ),
        dg.AssetCheckResult(
            check_name=f"{name}_reconciled",
            asset_key=key,
            passed=tuple(ours) == tuple(source),
            severity=dg.AssetCheckSeverity.ERROR,
            description=None if tuple(ours) == tuple(source) else f"{rules.ours} gives {tuple(ours)}; the source marts give {tuple(source)}",
            metadata={"ours": dg.MetadataValue.json(list(ours)), "source_marts": dg.MetadataValue.json(list(source))},
        ),
    ]
    if rules.durations:
        negative = {d: con.execute(f"SELECT count(*) FROM marts.{name} WHERE {d} < 0").fetchone()[0] for d in rules.durations}
        results.append(
            dg.AssetCheckResult(
                check_name=f"{name}_durations_non_negative",
                asset_key=key,
                passed=not any(negative.values()),
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"negative_rows": dg.MetadataValue.json(negative)},
            )
        )
    return results
