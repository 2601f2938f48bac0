"""The issues assets materialised in-process: raw pages -> staged Parquet -> marts.issues, checks and reruns."""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import orjson
import polars as pl
import pytest

from gh_assets.emulator import Emulator
from gh_assets.github.assets import issues, raw_issue_pages
from gh_assets.github.partitions import REPOS_PARTITION, partition_key, range_tags
from gh_assets.github.transform import PageFrames, PageRows, issues_frame, issues_frame_of, page_rows, page_shared
from gh_assets.lake import Lake, parse_utc_iso
from gh_assets.marts.assets import mart_issues
from gh_assets_tests.conftest import DEMO_REPOS, make_resources

ASSETS = [raw_issue_pages, issues, mart_issues]
REPO = DEMO_REPOS[0]


def mart_rows(data_dir: Path, repo: str | None = None) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        where = "WHERE repository = ?" if repo else ""
        return con.execute(f"SELECT * FROM marts.issues {where} ORDER BY repository, id", [repo] if repo else []).fetchall()


def expected_latest(emulator: Emulator, repo: str, start: str, end: str) -> dict[int, str]:
    """id -> updated_at of the emulator's issues updated in [start, end] (dates inclusive)."""
    return {i["id"]: i["updated_at"] for i in emulator.issues(repo) if start <= i["updated_at"][:10] <= end}


def materialize_range(instance: dg.DagsterInstance, resources: dict, repo: str, start: date, end: date, assets=ASSETS) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, instance=instance, resources=resources, tags=range_tags(repo, start, end), raise_on_error=False)


def test_single_partition(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, list(DEMO_REPOS))
    resources = make_resources(emulator.url, tmp_path)
    result = dg.materialize(ASSETS, instance=instance, resources=resources, partition_key=partition_key(REPO, date(2025, 1, 10)))
    assert result.success
    expected = expected_latest(emulator, REPO, "2025-01-10", "2025-01-10")
    staged = pl.read_parquet(Lake(tmp_path / "lake").parquet_path("staged", "issues", REPO, date(2025, 1, 10)))
    assert dict(zip(staged["id"], staged["updated_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))) == expected
    assert len(mart_rows(tmp_path, REPO)) == len(expected) > 0
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "issues_schema": True, "issues_id_unique": True, "issues_ranges": True, "issues_reconciled_raw": True,
        "issues_completeness": True, "issues_categorical": True, "issues_drift": True, "issues_reconciled": True, "issues_complete": True,
    }
    raw = [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == "github/raw_issue_pages"]
    meta = raw[0].materialization.metadata
    assert meta["run_total_requests"].value >= 1 and meta["pages"].value >= 1 and "rate_limit_remaining" in meta


def test_range_is_one_run_with_every_issue(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, list(DEMO_REPOS))
    resources = make_resources(emulator.url, tmp_path)
    emulator.clear_log()
    result = materialize_range(instance, resources, REPO, date(2025, 1, 1), date(2025, 3, 31))
    assert result.success
    materialized = {(m.asset_key.to_user_string(), m.partition) for m in result.get_asset_materialization_events()}
    assert len([p for k, p in materialized if k == "github/issues"]) == 90
    # one paginated sweep: ~ one request per 100 issues, not one per day
    requests = [r for r in emulator.request_log if r.path.endswith("/issues")]
    assert len(requests) <= 600 // 99 + 2
    rows = mart_rows(tmp_path, REPO)
    expected = {i["id"]: i for i in emulator.issues(REPO)}
    assert {r[1] for r in rows} == set(expected)
    by_id = {r[1]: r for r in rows}
    some = next(iter(expected.values()))
    assert by_id[some["id"]][4] == some["title"]  # unicode titles survive byte-for-byte
    assert by_id[some["id"]][9] == ("pull_request" in some)


def test_rerun_gives_identical_mart_rows(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, list(DEMO_REPOS))
    resources = make_resources(emulator.url, tmp_path)
    assert materialize_range(instance, resources, REPO, date(2025, 1, 1), date(2025, 1, 20)).success
    first = mart_rows(tmp_path)
    emulator.clear_log()
    # the same range again: an unchanged window is re-read with ETags, so every page comes back 304
    assert materialize_range(instance, resources, REPO, date(2025, 1, 1), date(2025, 1, 20)).success
    assert mart_rows(tmp_path) == first
    statuses = [r.status for r in emulator.request_log if r.path.endswith("/issues") and not r.path.startswith("/search")]  # not the count
    assert statuses and set(statuses) == {304}
    # one day inside the range on its own (a different sweep, fresh pages): the same rows
    assert dg.materialize(ASSETS, instance=instance, resources=resources, partition_key=partition_key(REPO, date(2025, 1, 5))).success
    assert mart_rows(tmp_path) == first


def test_blocking_check_fails_on_bad_data_and_mart_does_not_run(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, list(DEMO_REPOS))
    resources = make_resources(emulator.url, tmp_path)
    day = date(2025, 1, 12)
    key = partition_key(REPO, day)
    assert dg.materialize([raw_issue_pages], instance=instance, resources=resources, partition_key=key).success
    # corrupt the captured page: an issue "closed" before it was created, and a negative comment count
    lake = Lake(tmp_path / "lake")
    meta, body, path = next(lake.raw_pages("issues", REPO, day))
    items = orjson.loads(body)
    on_day = [i for i in items if i["updated_at"].startswith("2025-01-12")]
    on_day[0]["state"], on_day[0]["closed_at"] = "closed", "2000-01-01T00:00:00Z"
    on_day[1]["comments"] = -4
    import zstandard

    Path(path).write_bytes(zstandard.ZstdCompressor().compress(orjson.dumps(items)))

    result = dg.materialize([issues, mart_issues], instance=instance, resources=resources, partition_key=key, raise_on_error=False)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["issues_ranges"].passed is False
    assert checks["issues_ranges"].metadata["failed_rows"].value == 2
    assert checks["issues_schema"].passed and checks["issues_reconciled_raw"].passed
    assert not [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == "marts/issues"]
    # the bad rows are quarantined with their reasons, never staged
    quarantined = pl.read_parquet(lake.parquet_path("quarantine", "issues", REPO, day))
    assert set(quarantined["id"]) == {on_day[0]["id"], on_day[1]["id"]}
    reasons = " ".join(quarantined["quarantine_reason"])
    assert "closed_not_before_created" in reasons and "comments: greater_than_or_equal_to(0) (value -4)" in reasons
    staged = pl.read_parquet(lake.parquet_path("staged", "issues", REPO, day))
    assert not set(staged["id"]) & set(quarantined["id"])
    assert staged.height + quarantined.height == len({i["id"] for i in on_day})


def test_malformed_raw_page_fails_with_file_named(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, list(DEMO_REPOS))
    resources = make_resources(emulator.url, tmp_path)
    key = partition_key(REPO, date(2025, 1, 13))
    assert dg.materialize([raw_issue_pages], instance=instance, resources=resources, partition_key=key).success
    lake = Lake(tmp_path / "lake")
    _, _, path = next(lake.raw_pages("issues", REPO, date(2025, 1, 13)))
    import zstandard

    Path(path).write_bytes(zstandard.ZstdCompressor().compress(b'{"message": "not a list"}'))
    result = dg.materialize([issues], instance=instance, resources=resources, partition_key=key, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error)
    assert "expected a JSON array" in message and path in message


def test_unknown_repo_fails_the_run_with_not_found(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, ["demo-org/nope"])
    resources = make_resources(emulator.url, tmp_path)
    key = partition_key("demo-org/nope", date(2025, 1, 2))
    result = dg.materialize([raw_issue_pages], instance=instance, resources=resources, partition_key=key, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "NotFound" in str(failure.step_failure_data.error) and "demo-org/nope" in str(failure.step_failure_data.error)
    # nothing half-written is left behind
    assert not list((tmp_path / "lake").rglob("manifest.json"))


def test_a_partition_that_is_all_bad_fails_loudly(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, list(DEMO_REPOS))
    resources = make_resources(emulator.url, tmp_path)
    (tmp_path / "sources.yaml").write_text(
        "github:\n  start: 2025-01-01\n  repos: [demo-org/alpha]\nquality:\n  issues:\n    max_quarantined_fraction: 0.5\n"
    )
    day = date(2025, 1, 14)
    key = partition_key(REPO, day)
    assert dg.materialize([raw_issue_pages], instance=instance, resources=resources, partition_key=key).success
    lake = Lake(tmp_path / "lake")
    import zstandard

    for _, body, path in list(lake.raw_pages("issues", REPO, day)):
        items = orjson.loads(body)
        for item in items:
            item["comments"] = -1
        Path(path).write_bytes(zstandard.ZstdCompressor().compress(orjson.dumps(items)))
    result = dg.materialize([issues, mart_issues], instance=instance, resources=resources, partition_key=key, raise_on_error=False)
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["issues_ranges"]
    # a 50% tolerance does not make an all-bad partition pass: nothing would be staged
    assert check.passed is False and check.description.startswith("every row of 1 partitions failed")
    assert "demo-org/alpha 2025-01-14" in check.description
    assert not [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == "marts/issues"]


def test_mart_reads_staged_files_of_an_older_layout(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    """The mart reads by the first file's columns; a file written without a column falls back to the union."""
    instance.add_dynamic_partitions(REPOS_PARTITION, list(DEMO_REPOS))
    resources = make_resources(emulator.url, tmp_path)
    assert materialize_range(instance, resources, REPO, date(2025, 1, 1), date(2025, 1, 10)).success
    first = mart_rows(tmp_path)
    lake = Lake(tmp_path / "lake")
    # the newest day, as an earlier layout without node_id would have written it (read after the first file)
    path = lake.parquet_path("staged", "issues", REPO, date(2025, 1, 10))
    old = pl.read_parquet(path)
    assert old.height > 0
    old.drop("node_id").write_parquet(path)
    result = dg.materialize([mart_issues], instance=instance, resources=resources, tags=range_tags(REPO, date(2025, 1, 1), date(2025, 1, 10)))
    assert result.success
    rows = mart_rows(tmp_path)
    assert len(rows) == len(first)
    changed = {r[1] for r in rows} & set(old["id"])
    by_id = {r[1]: r for r in rows}
    assert changed and all(by_id[i][2] is None for i in changed)  # node_id read as null, every other value kept
    assert [r[:2] + r[3:] for r in rows] == [r[:2] + r[3:] for r in first]


def test_consecutive_days_parse_each_stored_page_once(emulator: Emulator, instance: dg.DagsterInstance, tmp_path: Path) -> None:
    """Pages spanning days are stored under each; a range read parses them once and gives the same rows per day."""
    instance.add_dynamic_partitions(REPOS_PARTITION, list(DEMO_REPOS))
    resources = make_resources(emulator.url, tmp_path)
    assert materialize_range(instance, resources, REPO, date(2025, 1, 1), date(2025, 1, 20), assets=[raw_issue_pages]).success
    lake = Lake(tmp_path / "lake")
    days = [date(2025, 1, d) for d in range(1, 21)]
    stored = sum(len(lake.raw_manifest("issues", REPO, d) or []) for d in days)
    distinct = len({(m.key, m.fetched_at) for d in days for m in lake.raw_manifest("issues", REPO, d) or []})
    assert distinct < stored  # the sweep's boundary pages are stored under two days

    pages = PageFrames(lake, "issues", REPO, page_rows)
    for day in days:
        rows = [PageRows(frame, page_shared(parse_utc_iso(meta.fetched_at), day)) for meta, frame in pages(day)]
        alone = issues_frame(((body, parse_utc_iso(meta.fetched_at), where) for meta, body, where in lake.raw_pages("issues", REPO, day)), REPO, day)
        assert issues_frame_of(rows, REPO).equals(alone)
    assert (pages.parsed, pages.reused) == (distinct, stored - distinct)

    # a day captured again on its own is a different capture: its pages are parsed, not taken from the day before
    assert dg.materialize([raw_issue_pages], instance=instance, resources=resources, partition_key=partition_key(REPO, days[10])).success
    again = PageFrames(lake, "issues", REPO, page_rows)
    again(days[9])
    again(days[10])
    assert again.reused == 0
