"""Data-quality checks: each check type passes on clean data and fails (with its severity) on bad data."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

import gh_assets.github.assets as github_assets
from gh_assets import quality_report
from gh_assets.config import IssueQuality
from gh_assets.emulator import Emulator
from gh_assets.github.assets import issues, raw_issue_pages
from gh_assets.github.partitions import REPOS_PARTITION, partition_key
from gh_assets.github.quality import categorical, completeness, drift, psi
from gh_assets.github.schemas import CATEGORICAL
from gh_assets.marts.assets import mart_issues
from gh_assets_tests.conftest import DEMO_REPOS, make_resources

REPO = DEMO_REPOS[0]


def test_completeness_flags_columns_over_threshold() -> None:
    frame = pl.DataFrame({"title": ["a", None, "c", "d"], "body": [None, None, None, "x"]})
    ok = completeness(frame, {"title": 0.5, "body": 0.8})
    assert ok.passed and ok.metadata["null_fraction_title"] == 0.25
    bad = completeness(frame, {"title": 0.0, "body": 0.8})
    assert not bad.passed and "title" in bad.description and bad.sample is not None


def test_categorical_counts_undocumented_values() -> None:
    frame = pl.DataFrame({"id": [1, 2, 3], "number": [1, 2, 3], "state": ["open", "closed", "merged"],
                          "state_reason": [None, "completed", None], "author_association": ["OWNER", "ALIEN", "NONE"]})
    result = categorical(frame, CATEGORICAL)
    assert not result.passed
    assert result.metadata["unknown_state"] == 1 and result.metadata["unknown_author_association"] == 1
    assert set(result.sample["value"]) == {"merged", "ALIEN"}
    assert categorical(frame.filter(pl.col("id") == 1), CATEGORICAL).passed


def test_psi_is_zero_for_equal_and_large_for_shifted_distributions() -> None:
    assert psi({"open": 50, "closed": 50}, {"open": 5, "closed": 5}) == pytest.approx(0.0, abs=1e-9)
    assert psi({"open": 90, "closed": 10}, {"open": 5, "closed": 95}) > 1.0


def test_drift_flags_a_day_ten_times_busier_with_shifted_states() -> None:
    cfg = IssueQuality(drift_window_days=7, drift_min_rows=10)
    day = date(2025, 3, 10)
    normal = [(day - timedelta(days=d), s) for d in range(1, 8) for s in ["open", "closed", "closed"] * 3]
    history = pl.DataFrame({"partition_date": [d for d, _ in normal], "state": [s for _, s in normal]})
    history = history.with_columns(pl.lit(False).alias("is_pull_request"), pl.lit("NONE").alias("author_association"))
    calm = pl.concat([history, history.filter(pl.col("partition_date") == day - timedelta(days=1)).with_columns(pl.lit(day).alias("partition_date"))])
    assert drift(calm, day, cfg).passed
    busy_day = pl.DataFrame({"partition_date": [day] * 100, "state": ["open"] * 100, "is_pull_request": [False] * 100, "author_association": ["NONE"] * 100})
    result = drift(pl.concat([history, busy_day]), day, cfg)
    assert not result.passed and result.metadata["row_ratio"] > 3 and result.metadata["psi_state"] > 0.25


def materialize_day(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path, day: date, assets=None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets or [raw_issue_pages, issues, mart_issues],
        instance=instance,
        resources=make_resources(emulator.url, tmp_path),
        partition_key=partition_key(REPO, day),
        raise_on_error=False,
    )


def test_reconciliation_fails_when_a_row_is_dropped(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, list(DEMO_REPOS))
    real = github_assets.split_valid

    def lossy(frame: pl.DataFrame):  # a staging bug that loses one row
        split = real(frame)
        return type(split)(split.staged.slice(1), split.quarantined, split.duplicates_dropped, split.duplicates_by_day)

    monkeypatch.setattr(github_assets, "split_valid", lossy)
    result = materialize_day(emulator, instance, tmp_path, date(2025, 1, 20))
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["issues_reconciled_raw"].passed is False
    assert checks["issues_reconciled_raw"].severity == dg.AssetCheckSeverity.ERROR
    assert "2025-01-20" in str(checks["issues_reconciled_raw"].metadata["mismatched_days"].value)
    assert not [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == "marts/issues"]


def test_quality_report_lists_every_check(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, list(DEMO_REPOS))
    assert materialize_day(emulator, instance, tmp_path, date(2025, 1, 21)).success
    from gh_assets.definitions import defs

    keys = defs.get_repository_def().asset_graph.asset_check_keys
    rows = quality_report.collect(instance, keys, None)
    materialised = {k for k in keys if k.asset_key.to_user_string() in ("github/issues", "marts/issues")}
    assert {(r["asset"], r["check"]) for r in rows} == {(k.asset_key.to_user_string(), k.name) for k in materialised}
    assert quality_report.summary(rows) == {"github/issues": {"passed": 7, "warned": 0, "failed": 0}, "marts/issues": {"passed": 2, "warned": 0, "failed": 0}}
    markdown = quality_report.to_markdown(rows)
    assert "| github/issues | issues_drift | passed | WARN |" in markdown
