"""Feature tables from emulator marts: materialised as assets, point-in-time correct, normalised, reproducible."""

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.features.assets import FEATURE_ASSETS
from gh_assets.features.build import build_feature_table, columns, fetch, prepare, publish
from gh_assets.features.catalogue import ENTITIES
from gh_assets.features.config import FeaturesConfig, load_features_config
from gh_assets.features.milestones import read_milestone_dues
from gh_assets.resources import LakeResource
from gh_assets_tests.ingest import ingest

pytestmark = pytest.mark.slow

REPO = "demo-org/alpha"
REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 1, 20, 23, 59, 59, 999999, tzinfo=UTC)  # the end of a UTC day inside the loaded range
ENTITY_NAMES = tuple(ENTITIES)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Marts of one emulated repo (~300 issues over 40 days; seed 5 has milestones with and without due dates), then the four feature assets."""
    root = tmp_path_factory.mktemp("features")
    config = EmulatorConfig(seed=5, repos=(REPO,), issues_per_repo=300, start="2025-01-01", days=40, many_files_fraction=0.02, many_reviews_fraction=0.02)
    mp = pytest.MonkeyPatch()
    with Emulator(config) as emulator:
        data_dir, _ = ingest(mp, emulator.url, root, REPO, date(2025, 1, 1), date(2025, 2, 9))
    mp.setenv("GH_ASSETS_FEATURES_CONFIG", str(REPO_ROOT / "features.yaml"))
    timings = []
    with dg.instance_for_test() as instance:
        results = []
        for _ in range(2):  # the second run proves reruns are identical
            started = time.monotonic()
            result = dg.materialize(FEATURE_ASSETS, instance=instance, resources=_resources(data_dir))
            timings.append(time.monotonic() - started)
            assert result.success
            results.append((result, {e: _snapshot(data_dir, e) for e in ENTITY_NAMES}))
        yield {"data_dir": data_dir, "results": results, "timings": timings}
    mp.undo()


def _resources(data_dir: Path) -> dict[str, object]:
    return {"duckdb": DuckDBResource(database=str(data_dir / "warehouse.duckdb")), "lake": LakeResource(data_dir=str(data_dir))}


def _snapshot(data_dir: Path, entity: str) -> tuple[pl.DataFrame, pl.DataFrame, bytes]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        table, raw = fetch(con, f"features.{entity}"), fetch(con, f"features.{entity}_raw")
    return table, raw, (data_dir / "features" / entity / "part-0.parquet").read_bytes()


def _marts(data_dir: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return {t: fetch(con, f"marts.{t}") for t in ("issues", "pull_requests", "reviews", "issue_comments", "commits")}


def test_assets_materialise_and_checks_pass(built: dict) -> None:
    result, tables = built["results"][0]
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {f"{e}_features_schema" for e in ENTITY_NAMES}
    assert all(c.passed for c in checks)
    counts = {}
    for entity, (table, raw, _) in tables.items():
        keys = [*ENTITIES[entity].keys, "event_timestamp"]
        assert table.height > 0 and table.height == raw.height
        assert table.select(keys).is_duplicated().sum() == 0
        offline = pl.read_parquet(built["data_dir"] / "features" / entity / "part-0.parquet")
        assert offline.equals(table), entity
        assert set(table["event_timestamp"].dt.time().unique()) == {datetime(2025, 1, 1, 23, 59, 59, 999999).time()}
        counts[entity] = table.height
    mat = {e.materialization.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert mat["features/repo"]["published"].value is True
    print(f"\nrows {counts}; materialise all four: first {built['timings'][0]:.2f}s, rerun {built['timings'][1]:.2f}s")
    # grid sizes: one repo row per day of the 40-day range; issues only while open; contributors only while active
    assert counts["repo"] == 40
    issue = tables["issue"][1]
    with duckdb.connect(str(built["data_dir"] / "warehouse.duckdb"), read_only=True) as con:
        (opened_rows,) = con.execute(
            "SELECT count(*) FROM features.issue_raw f JOIN marts.issues i ON i.repository = f.repository AND i.number = f.number "
            "WHERE i.created_at > f.event_timestamp OR i.closed_at <= f.event_timestamp OR i.is_pull_request"
        ).fetchone()
    assert opened_rows == 0 and issue.height > 0


def test_rerun_gives_identical_tables(built: dict) -> None:
    (_, first), (_, second) = built["results"]
    for entity in ENTITY_NAMES:
        assert first[entity][0].equals(second[entity][0]), entity
        assert first[entity][1].equals(second[entity][1]), entity
        assert first[entity][2] == second[entity][2], entity


def test_normalised_features_are_in_bounds_and_policies_applied(built: dict) -> None:
    config = load_features_config(REPO_ROOT / "features.yaml")
    _, tables = built["results"][0]
    for entity in ENTITY_NAMES:
        table, raw, _ = tables[entity]
        for c in columns(entity, config):
            if c.feature.kind == "list":
                assert table[c.name].dtype == pl.List(pl.String)
                continue
            values = table[c.name]
            assert values.dtype == pl.Float64
            assert values.drop_nulls().is_between(0.0, 1.0).all(), (entity, c.name)
            if c.missing in ("zero", "median"):
                assert values.null_count() == 0, (entity, c.name)
            if c.missing == "keep":
                assert (values.is_null() == raw[c.name].is_null()).all(), (entity, c.name)
            if c.missing == "zero":
                assert (table.filter(raw[c.name].is_null())[c.name] == 0.0).all(), (entity, c.name)
            if c.normalisation == "identity":
                expected = raw[c.name].cast(pl.Float64).clip(0.0, 1.0)
                if c.missing == "zero":
                    expected = expected.fill_null(0.0)
                if c.missing != "median":
                    assert (table[c.name].is_null() == expected.is_null()).all(), (entity, c.name)
                    assert ((table[c.name] - expected).abs().max() or 0.0) < 1e-12, (entity, c.name)
    # min-max over history: the latest value of a monotone count (issue age) reaches 1 at least once per snapshot day
    issue = tables["issue"][0]
    assert issue.group_by("event_timestamp").agg(pl.col("age_days").max())["age_days"].min() > 0.0
    assert tables["repo"][0]["open_issues"].max() == 1.0
    # a null that the policy imputes with the median: velocity of contributors without merges
    raw = tables["contributor"][1]
    assert raw["median_hours_to_merge_28d"].null_count() > 0
    # milestones: due dates read from the raw pages; unknown ones stay null
    milestone = tables["milestone"][1]
    assert milestone["days_to_due"].null_count() > 0 and milestone["days_to_due"].drop_nulls().len() > 0


def test_point_in_time_values_match_a_hand_computation(built: dict) -> None:
    marts = _marts(built["data_dir"])
    _, tables = built["results"][0]
    issues, prs, reviews, comments = marts["issues"], marts["pull_requests"], marts["reviews"], marts["issue_comments"]

    # contributor: the busiest PR author up to T0
    c_raw = tables["contributor"][1].filter(pl.col("event_timestamp") == T0)
    login = prs.filter(pl.col("created_at") <= T0).group_by("user_login").len().sort("len", "user_login", descending=True)["user_login"][0]
    row = c_raw.filter(pl.col("login") == login).row(0, named=True)
    w28 = T0 - timedelta(days=28)
    assert row["prs_opened_28d"] == prs.filter((pl.col("user_login") == login) & pl.col("created_at").is_between(w28, T0, closed="right")).height
    merged = prs.filter((pl.col("user_login") == login) & pl.col("is_merged") & pl.col("merged_at").is_between(w28, T0, closed="right"))
    assert row["prs_merged_28d"] == merged.height
    assert row["median_hours_to_merge_28d"] == (merged["lead_time_hours"].median() if merged.height else None)
    w7 = T0 - timedelta(days=7)
    assert row["reviews_given_7d"] == reviews.filter((pl.col("user_login") == login) & pl.col("submitted_at").is_between(w7, T0, closed="right")).height
    assigned_open = issues.filter(
        pl.col("assignees").list.contains(login) & ~pl.col("is_pull_request") & (pl.col("created_at") <= T0) & (pl.col("closed_at").is_null() | (pl.col("closed_at") > T0))
    )
    assert row["open_assigned_issues"] == assigned_open.height
    firsts = [
        issues.filter((pl.col("user_login") == login) & ~pl.col("is_pull_request"))["created_at"].min(),
        prs.filter(pl.col("user_login") == login)["created_at"].min(),
        reviews.filter(pl.col("user_login") == login)["submitted_at"].min(),
        comments.filter(pl.col("user_login") == login)["created_at"].min(),
        marts["commits"].filter(pl.col("author_login") == login)["committer_date"].min(),
    ]
    first = min(f for f in firsts if f is not None)
    assert row["experience_days"] == pytest.approx((T0 - first).total_seconds() / 86400)

    # issue: an issue open at T0 that was closed later (the future closing must not show)
    i_raw = tables["issue"][1].filter(pl.col("event_timestamp") == T0)
    later_closed = issues.filter(~pl.col("is_pull_request") & (pl.col("created_at") <= T0) & (pl.col("closed_at") > T0)).sort("number")
    assert later_closed.height > 0
    for issue in later_closed.head(5).iter_rows(named=True):
        row = i_raw.filter(pl.col("number") == issue["number"]).row(0, named=True)
        mine = comments.filter((pl.col("issue_number") == issue["number"]) & (pl.col("created_at") <= T0))
        assert row["comments_total"] == mine.height
        assert row["participants"] == mine["user_login"].drop_nulls().n_unique()
        assert row["age_days"] == pytest.approx((T0 - issue["created_at"]).total_seconds() / 86400)
        assert row["body_length"] == len(issue["body"] or "")
    assert set(i_raw["number"]) == set(
        issues.filter(~pl.col("is_pull_request") & (pl.col("created_at") <= T0) & (pl.col("closed_at").is_null() | (pl.col("closed_at") > T0)))["number"]
    )

    # milestone counts at T0
    m_raw = tables["milestone"][1].filter(pl.col("event_timestamp") == T0)
    for m in m_raw.iter_rows(named=True):
        members = issues.filter((pl.col("milestone_number") == m["milestone_number"]) & (pl.col("created_at") <= T0))
        closed = members.filter(pl.col("closed_at") <= T0).height
        assert (m["total_issues"], m["closed_issues"], m["open_issues"]) == (members.height, closed, members.height - closed)

    # repo: active contributors in 7 days, open issues
    r = tables["repo"][1].filter(pl.col("event_timestamp") == T0).row(0, named=True)
    active = pl.concat([
        issues.filter(~pl.col("is_pull_request")).select(pl.col("user_login").alias("login"), pl.col("created_at").alias("at")),
        prs.select(pl.col("user_login").alias("login"), pl.col("created_at").alias("at")),
        prs.filter(pl.col("is_merged")).select(pl.col("user_login").alias("login"), pl.col("merged_at").alias("at")),
        reviews.select(pl.col("user_login").alias("login"), pl.col("submitted_at").alias("at")),
        comments.select(pl.col("user_login").alias("login"), pl.col("created_at").alias("at")),
        marts["commits"].select(pl.col("author_login").alias("login"), pl.col("committer_date").alias("at")),
    ]).filter(pl.col("at").is_between(w7, T0, closed="right"))["login"].drop_nulls().n_unique()
    assert r["active_contributors_7d"] == active
    assert r["open_issues"] == issues.filter(~pl.col("is_pull_request") & (pl.col("created_at") <= T0) & (pl.col("closed_at").is_null() | (pl.col("closed_at") > T0))).height


def _build_all(data_dir: Path, config: FeaturesConfig) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        prepare(con, config, read_milestone_dues(data_dir / "lake"))
        out = {}
        for entity in ENTITY_NAMES:
            build_feature_table(con, entity, config)
            publish(con, entity, config)
            out[entity] = (fetch(con, f"features.{entity}"), fetch(con, f"features.{entity}_raw"))
        return out


def test_changing_the_future_leaves_earlier_rows_unchanged(built: dict, tmp_path: Path) -> None:
    config = load_features_config(REPO_ROOT / "features.yaml")
    copy = tmp_path / "data"
    shutil.copytree(built["data_dir"], copy, ignore=shutil.ignore_patterns("features"))
    before = _build_all(copy, config)
    with duckdb.connect(str(copy / "warehouse.duckdb")) as con:
        con.execute("SET TimeZone = 'UTC'")
        t0 = T0.isoformat()
        # everything after T0 rewritten: issues closed later re-opened, later merges undone, later records removed or moved
        con.execute(f"UPDATE marts.issues SET closed_at = NULL, state = 'open' WHERE closed_at > '{t0}'")
        con.execute(f"DELETE FROM marts.issues WHERE created_at > '{t0}' AND number % 2 = 0")
        con.execute(f"UPDATE marts.pull_requests SET merged_at = NULL, is_merged = false, lead_time_hours = NULL WHERE merged_at > '{t0}'")
        con.execute(f"DELETE FROM marts.reviews WHERE submitted_at > '{t0}'")
        con.execute(f"UPDATE marts.issue_comments SET created_at = created_at + INTERVAL 3 DAY WHERE created_at > '{t0}'")
        con.execute(f"DELETE FROM marts.commits WHERE committer_date > '{t0}'")
        con.execute(f"INSERT INTO marts.commits SELECT * REPLACE (sha || 'x' AS sha, committer_date + INTERVAL 2 DAY AS committer_date, row_key || 'x' AS row_key) FROM marts.commits WHERE committer_date > '{t0}'::TIMESTAMPTZ - INTERVAL 2 DAY")
    after = _build_all(copy, config)
    for entity in ENTITY_NAMES:
        for b, a in zip(before[entity], after[entity], strict=True):
            early_b, early_a = b.filter(pl.col("event_timestamp") <= T0), a.filter(pl.col("event_timestamp") <= T0)
            assert early_b.height > 0
            assert early_b.equals(early_a), entity
    # and the future did change
    assert not before["repo"][1].equals(after["repo"][1])


def test_missing_value_policies_zero_and_drop(built: dict, tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(built["data_dir"], copy, ignore=shutil.ignore_patterns("features"))
    base = load_features_config(REPO_ROOT / "features.yaml")
    config = base.model_copy(update={"missing": {**base.missing, "contributor.median_hours_to_merge": "drop", "milestone.days_to_due": "zero"}})
    out = _build_all(copy, config)
    table, raw = out["contributor"]
    assert raw.filter(pl.col("median_hours_to_merge_7d").is_null()).height > 0
    assert table.height == raw.filter(pl.all_horizontal(pl.col(f"median_hours_to_merge_{w}d").is_not_null() for w in config.windows)).height
    milestone, m_raw = out["milestone"]
    assert milestone["days_to_due"].null_count() == 0 and m_raw["days_to_due"].null_count() > 0
