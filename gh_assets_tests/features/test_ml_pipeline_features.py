"""The features the ML pipeline had, recomputed by hand on a tiny hand-written set of marts: workload by label
(in progress, blocked), effort proxies (PR size, files touched, review rounds) and experience avg/min/max."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from gh_assets.features.build import build_feature_table, catalogue_frame, fetch, prepare, publish
from gh_assets.features.config import FeaturesConfig
from gh_assets.features.milestones import read_milestone_dues
from gh_assets.features.schemas import feature_schema
from gh_assets.marts.sql import run_sql

REPO = "o/r"
T = datetime(2025, 1, 20, 23, 59, 59, 999999, tzinfo=UTC)  # the event timestamp every expectation is taken at
CONFIG = FeaturesConfig.model_validate(
    {"windows_days": ["7", "28"], "in_progress_labels": ["in progress", "wip"], "blocked_labels": ["blocked"], "normalisation": {"contributor.avg_pr_size": "percent_rank"}}
)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 1, day, hour, tzinfo=UTC)


# number, author, is_pr, created, closed, assignees, labels
ISSUES = [
    (1, "ann", False, at(2), None, ["bob"], ["In Progress"]),
    (2, "ann", False, at(5), at(25), ["bob", "cy"], ["blocked"]),  # closed after T: open at T
    (3, "cy", False, at(6), at(10), ["bob"], ["blocked"]),  # closed before T
    (4, "cy", False, at(22), None, ["bob"], ["blocked"]),  # created after T
    (10, "bob", True, at(15), None, ["bob"], ["WIP"]),
    (11, "bob", True, at(1), at(3), [], []),
    (12, "ann", True, at(19), None, [], []),
]
# number, author, created, merged
PULLS = [(10, "bob", at(15), None), (11, "bob", at(1), at(3)), (12, "ann", at(19), None)]
# pull, filename, additions, deletions
FILES = [(10, "a.py", 10, 5), (10, "docs/b.md", 3, 0), (11, "c.py", 100, 20)]
# id, pull, reviewer, commit, submitted
REVIEWS = [
    (1, 10, "ann", "c1", at(16)),
    (3, 10, "ann", "c2", at(18)),
    (4, 10, "ann", "c3", at(22)),  # after T
    (5, 10, "bob", "c4", at(17)),  # the author's own
    (6, 11, "ann", "c9", at(2)),
    (7, 11, "cy", "c9", at(3, 9)),
]


def write_marts(con: duckdb.DuckDBPyConnection) -> None:
    """The hand-written marts above in an empty DuckDB database (every mart table created, most left empty)."""
    for table in ("issues", "pull_requests", "reviews", "pr_files", "issue_comments", "commits"):
        run_sql(con, f"{table}_create")
    for n, author, is_pr, created, closed, assignees, labels in ISSUES:
        con.execute(
            "INSERT INTO marts.issues (repository, id, number, title, state, is_pull_request, user_login, labels, assignees, comments, created_at, updated_at, closed_at, partition_date) "
            "VALUES (?, ?, ?, 't', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
            [REPO, 1000 + n, n, "closed" if closed else "open", is_pr, author, labels, assignees, created, closed or created, closed, (closed or created).date()],
        )
    for n, author, created, merged in PULLS:
        con.execute(
            "INSERT INTO marts.pull_requests (repository, row_key, id, number, title, state, user_login, created_at, updated_at, closed_at, merged_at, is_merged, lead_time_hours, partition_date) "
            "VALUES (?, ?, ?, ?, 't', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [REPO, f"{REPO}/{n}", 2000 + n, n, "closed" if merged else "open", author, created, merged or created, merged, merged, merged is not None,
             (merged - created).total_seconds() / 3600 if merged else None, (merged or created).date()],
        )
    for n, name, add, delete in FILES:
        con.execute(
            "INSERT INTO marts.pr_files (repository, row_key, pull_number, filename, status, additions, deletions, changes, extension, top_directory, partition_date) "
            "VALUES (?, ?, ?, ?, 'modified', ?, ?, ?, ?, ?, ?)",
            [REPO, f"{REPO}/{n}/{name}", n, name, add, delete, add + delete, name.rsplit(".", 1)[1], name.split("/")[0] if "/" in name else "(root)", date(2025, 1, 15)],
        )
    for i, n, who, commit, submitted in REVIEWS:
        con.execute(
            "INSERT INTO marts.reviews (repository, row_key, pull_number, id, user_login, state, submitted_at, commit_id, partition_date) VALUES (?, ?, ?, ?, ?, 'COMMENTED', ?, ?, ?)",
            [REPO, f"{REPO}/{n}/{i}", n, i, who, submitted, commit, date(2025, 1, 15)],
        )


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[pl.DataFrame, pl.DataFrame]]]:
    root = tmp_path_factory.mktemp("ml-features")
    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        write_marts(con)
        prepare(con, CONFIG, read_milestone_dues(root / "lake"))
        out = {}
        for entity in ("contributor", "repo"):
            cols = build_feature_table(con, entity, CONFIG)
            publish(con, entity, CONFIG)
            table, raw = fetch(con, f"features.{entity}"), fetch(con, f"features.{entity}_raw")
            feature_schema(entity, cols).validate(table, lazy=True)  # 0-1, nulls only where kept, unique keys
            out[entity] = (table, raw)
        yield out


def row(frame: pl.DataFrame, **keys: object) -> dict:
    (found,) = frame.filter(pl.col("event_timestamp") == T, *(pl.col(k) == v for k, v in keys.items())).iter_rows(named=True)
    return found


def test_workload_by_label(tables: dict) -> None:
    _, raw = tables["contributor"]
    bob, cy, ann = row(raw, login="bob"), row(raw, login="cy"), row(raw, login="ann")
    # bob: #1 (in progress) and #10 (WIP, a PR) in progress, #2 blocked; #3 closed before T and #4 created after T do not count
    assert (bob["open_assigned_in_progress"], bob["open_assigned_blocked"]) == (2, 1)
    assert (bob["open_assigned_issues"], bob["open_assigned_prs"]) == (2, 1)
    assert (cy["open_assigned_in_progress"], cy["open_assigned_blocked"]) == (0, 1)
    assert (ann["open_assigned_in_progress"], ann["open_assigned_blocked"]) == (0, 0)


def test_effort_proxies(tables: dict) -> None:
    table, raw = tables["contributor"]
    bob = row(raw, login="bob")
    # 7 days: #10 only (18 lines, 2 files; rounds c1 and c2 - c3 comes after T, c4 is bob's own review)
    assert (bob["avg_pr_size_7d"], bob["avg_files_touched_7d"], bob["avg_review_rounds_7d"]) == (18.0, 2.0, 2.0)
    # 28 days: #10 and #11 (120 lines, 1 file, one round: c9 reviewed twice)
    assert (bob["avg_pr_size_28d"], bob["avg_files_touched_28d"], bob["avg_review_rounds_28d"]) == ((18 + 120) / 2, 1.5, 1.5)
    ann = row(raw, login="ann")  # #12: no file, no review
    assert (ann["avg_pr_size_7d"], ann["avg_files_touched_7d"], ann["avg_review_rounds_7d"]) == (0.0, 0.0, 0.0)
    cy = row(raw, login="cy")  # no PR: null raw, 0 after the `zero` policy
    assert cy["avg_pr_size_28d"] is None and cy["avg_review_rounds_28d"] is None
    assert row(table, login="cy")["avg_review_rounds_28d"] == 0.0
    # percent_rank among the rows of T: ann 0 and cy 0 (imputed) below bob's 18
    assert {r: row(table, login=r)["avg_pr_size_7d"] for r in ("ann", "bob", "cy")} == {"ann": 0.0, "bob": 1.0, "cy": 0.0}


def test_experience_spread_avg_min_max(tables: dict) -> None:
    _, raw = tables["repo"]
    r = row(raw, repository=REPO)
    first = {"ann": at(2), "bob": at(1), "cy": at(3, 9)}  # first issue, PR or review of each
    days = {login: (T - f) / timedelta(days=1) for login, f in first.items()}
    # 7 days (after the end of 2025-01-13): ann and bob; cy's last activity before T is on 2025-01-06
    active7 = ["ann", "bob"]
    active28 = ["ann", "bob", "cy"]
    for window, active in ((7, active7), (28, active28)):
        values = [days[a] for a in active]
        assert r[f"experience_avg_{window}d"] == pytest.approx(sum(values) / len(values))
        assert r[f"experience_min_{window}d"] == pytest.approx(min(values))
        assert r[f"experience_max_{window}d"] == pytest.approx(max(values))
    mean = sum(days.values()) / 3
    assert r["experience_spread_28d"] == pytest.approx((sum((v - mean) ** 2 for v in days.values()) / 3) ** 0.5)
    # a day with only bob active: the spread collapses to one contributor
    early = raw.filter(pl.col("event_timestamp") == datetime(2025, 1, 1, 23, 59, 59, 999999, tzinfo=UTC)).row(0, named=True)
    assert early["experience_min_7d"] == early["experience_max_7d"] == pytest.approx((early["event_timestamp"] - first["bob"]) / timedelta(days=1))


def test_catalogue_rows(tables: dict) -> None:
    catalogue = catalogue_frame(CONFIG)
    new = catalogue.filter(
        pl.col("feature").is_in(["open_assigned_in_progress", "open_assigned_blocked", "avg_pr_size", "avg_files_touched", "avg_review_rounds",
                                 "experience_avg", "experience_min", "experience_max"])
    )
    assert new.height == 2 + 3 * 2 + 3 * 2
    assert set(new.filter(pl.col("feature") == "avg_pr_size")["column"]) == {"avg_pr_size_7d", "avg_pr_size_28d"}
    assert new.filter(pl.col("feature") == "avg_pr_size")["normalisation"].unique().to_list() == ["percent_rank"]
    assert set(new["missing"]) == {"zero"}
    for entity, (table, _) in tables.items():
        assert set(catalogue.filter(pl.col("entity") == entity)["column"]) <= set(table.columns)
