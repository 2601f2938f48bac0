"""Each kind of bad data the emulator injects trips the right check, with its severity, counts and quarantine."""

from collections import Counter
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github.assets import issues, raw_issue_pages
from gh_assets.github.partitions import REPOS_PARTITION, partition_key, range_tags
from gh_assets.lake import Lake
from gh_assets.marts.assets import mart_issues
from gh_assets_tests.conftest import make_resources

REPO = "demo-org/alpha"
BAD_DAY = date(2025, 1, 15)
ASSETS = [raw_issue_pages, issues, mart_issues]


def run(cfg: EmulatorConfig, tmp_path: Path, **when: object) -> tuple[Emulator, dg.ExecuteInProcessResult]:
    with Emulator(cfg) as emu, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(REPOS_PARTITION, [REPO])
        resources = make_resources(emu.url, tmp_path)
        result = dg.materialize(ASSETS, instance=instance, resources=resources, raise_on_error=False, **when)
        return emu, result


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def mart_ran(result: dg.ExecuteInProcessResult) -> bool:
    return any(m.asset_key.to_user_string() == "marts/issues" for m in result.get_asset_materialization_events())


def test_error_kinds_are_quarantined_and_block_the_mart(tmp_path: Path) -> None:
    kinds = (("wrong_type", 2), ("null_title", 3), ("closed_before_created", 2), ("negative_count", 1))
    cfg = EmulatorConfig(seed=21, repos=(REPO,), issues_per_repo=1500, days=30, bad_data=kinds, bad_data_day=BAD_DAY.isoformat())
    emu, result = run(cfg, tmp_path, partition_key=partition_key(REPO, BAD_DAY))
    on_day = [i for i in emu.issues(REPO) if i["updated_at"].startswith(BAD_DAY.isoformat())]
    wrong_type = {i["id"] for i in on_day if isinstance(i["comments"], str)}
    null_title = {i["id"] for i in on_day if i["title"] is None}
    ranges = {i["id"] for i in on_day if (isinstance(i["comments"], int) and i["comments"] < 0) or (i["closed_at"] and i["closed_at"] < i["created_at"])}

    checks = checks_of(result)
    assert checks["issues_schema"].passed is False
    assert checks["issues_schema"].metadata["failed_rows"].value == len(wrong_type) + len(null_title) == 5
    assert checks["issues_id_unique"].passed
    assert checks["issues_ranges"].passed is False
    assert checks["issues_ranges"].metadata["failed_rows"].value == len(ranges) == 3
    assert all(checks[n].severity == dg.AssetCheckSeverity.ERROR for n in ("issues_schema", "issues_id_unique", "issues_ranges"))
    assert checks["issues_reconciled_raw"].passed  # every bad row is accounted for in quarantine
    assert "sample" in checks["issues_ranges"].metadata
    assert not mart_ran(result)

    lake = Lake(tmp_path / "lake")
    quarantined = pl.read_parquet(lake.parquet_path("quarantine", "issues", REPO, BAD_DAY))
    staged = pl.read_parquet(lake.parquet_path("staged", "issues", REPO, BAD_DAY))
    assert Counter(quarantined["id"]) == Counter(list(wrong_type) + list(null_title) + list(ranges))
    assert not set(staged["id"]) & set(quarantined["id"])
    unreadable = quarantined.filter(pl.col("raw_json").is_not_null())
    assert set(unreadable["id"]) == wrong_type and all('"many"' in j for j in unreadable["raw_json"])
    assert staged.height + quarantined.height == len(on_day)


def test_duplicate_ids_are_quarantined_in_pairs(tmp_path: Path) -> None:
    cfg = EmulatorConfig(seed=24, repos=(REPO,), issues_per_repo=800, days=20, bad_data=(("duplicate_id", 3),))
    emu, result = run(cfg, tmp_path, tags=range_tags(REPO, date(2025, 1, 1), date(2025, 3, 31)))
    counts = Counter(i["id"] for i in emu.issues(REPO))
    clashing = {i for i, n in counts.items() if n > 1}
    check = checks_of(result)["issues_id_unique"]
    assert len(clashing) == 3
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["failed_rows"].value == 6
    assert not mart_ran(result)
    quarantined = pl.concat(
        pl.read_parquet(p) for p in (tmp_path / "lake" / "quarantine").rglob("*.parquet")
    )
    assert Counter(quarantined["id"]) == Counter([i for i in clashing for _ in range(2)])


def test_warn_kinds_do_not_block_the_mart(tmp_path: Path) -> None:
    cfg = EmulatorConfig(seed=22, repos=(REPO,), issues_per_repo=1500, days=30, bad_data=(("unknown_enum", 4),), bad_data_day=BAD_DAY.isoformat())
    emu, result = run(cfg, tmp_path, partition_key=partition_key(REPO, BAD_DAY))
    checks = checks_of(result)
    assert checks["issues_categorical"].passed is False
    assert checks["issues_categorical"].severity == dg.AssetCheckSeverity.WARN
    assert checks["issues_categorical"].metadata["unknown_author_association"].value == 4
    assert all(checks[n].passed for n in ("issues_schema", "issues_id_unique", "issues_ranges", "issues_reconciled_raw"))
    assert result.success and mart_ran(result)


def test_a_drifted_day_warns(tmp_path: Path) -> None:
    drift_day = date(2025, 1, 25)
    cfg = EmulatorConfig(seed=23, repos=(REPO,), issues_per_repo=1500, days=30, drift_day=drift_day.isoformat(), drift_factor=10.0)
    _, result = run(cfg, tmp_path, tags=range_tags(REPO, date(2025, 1, 8), drift_day))
    checks = checks_of(result)
    drift = checks["issues_drift"]
    assert drift.passed is False and drift.severity == dg.AssetCheckSeverity.WARN
    assert drift.metadata["row_ratio"].value > 3 and drift.metadata["psi_state"].value > 0.25
    assert result.success and mart_ran(result)


@pytest.mark.parametrize("factor", [1.0])
def test_a_normal_day_does_not_warn(tmp_path: Path, factor: float) -> None:
    cfg = EmulatorConfig(seed=23, repos=(REPO,), issues_per_repo=1500, days=30)
    _, result = run(cfg, tmp_path, tags=range_tags(REPO, date(2025, 1, 8), date(2025, 1, 25)))
    assert checks_of(result)["issues_drift"].passed
