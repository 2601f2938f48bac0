"""A client that never loses a record: faults, rate limits, several tokens, data changing mid-sweep, search cap, secrets."""

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github import errors
from gh_assets.github.assets import issues, raw_issue_pages
from gh_assets.github.client import GitHubClient
from gh_assets.github.pagination import iter_pages, sweep_issues
from gh_assets.github.partitions import REPOS_PARTITION, range_tags
from gh_assets.github.search import SEARCH_CAP, search_issues
from gh_assets.lake import Lake
from gh_assets.marts.assets import mart_issues
from gh_assets_tests.conftest import make_resources

REPO = "acme/widgets"
START = datetime(2025, 1, 1, tzinfo=UTC)
FAR = datetime(2030, 1, 1, tzinfo=UTC)
ASSETS = [raw_issue_pages, issues, mart_issues]


def fast_client(emu: Emulator, **kw: object) -> GitHubClient:
    return GitHubClient(emu.url, backoff_initial=0.01, backoff_max=0.1, max_attempts=30, **kw)


def mart(data_dir: Path) -> dict[int, str]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT id, strftime(updated_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), count(*) OVER (PARTITION BY id) FROM marts.issues").fetchall()
    assert all(n == 1 for _, _, n in rows), "duplicate ids in marts.issues"
    return {i: u for i, u, _ in rows}


def last_day(emu: Emulator, repo: str) -> date:
    return max(datetime.strptime(i["updated_at"], "%Y-%m-%dT%H:%M:%SZ") for i in emu.issues(repo)).date()


@pytest.mark.slow
def test_ten_percent_faults_of_every_kind_lose_nothing(tmp_path: Path) -> None:
    cfg = EmulatorConfig(seed=11, repos=(REPO,), issues_per_repo=5200, days=120, fault_rate=0.10, slow_seconds=0.05, secondary_retry_after=1)
    with Emulator(cfg) as emu, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(REPOS_PARTITION, [REPO])
        # 20 per page: ~260 requests, so each of the eight fault kinds is drawn several times
        resources = make_resources(emu.url, tmp_path, per_page=20)
        result = dg.materialize(ASSETS, instance=instance, resources=resources, tags=range_tags(REPO, date(2025, 1, 1), last_day(emu, REPO)))
        assert result.success
        faults = {r.fault for r in emu.request_log if r.fault}
        expected = {i["id"]: i["updated_at"] for i in emu.issues(REPO)}
    assert faults == set(cfg.fault_kinds)  # every kind was injected at least once
    assert mart(tmp_path) == expected  # exactly the emulator's issues, each at its latest version


def test_spent_budget_mid_sweep_waits_for_the_reset_and_completes() -> None:
    clock = [1_000_000.0]
    cfg = EmulatorConfig(seed=2, repos=(REPO,), issues_per_repo=1000, rate_limit=4, rate_reset_seconds=5, clock=lambda: clock[0])
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the emulator's clock moves instead of the test sleeping
        slept.append(seconds)
        clock[0] += seconds

    with Emulator(cfg) as emu:
        with GitHubClient(emu.url, sleep=sleep, clock=lambda: clock[0], max_rate_limit_wait=60) as client:
            pages = list(iter_pages(client, f"/repos/{REPO}/issues", {"state": "all", "per_page": 100}))
            stats = client.stats
    assert sum(len(p.data) for p in pages) == 1000
    assert stats.rate_limit_waits >= 2 and all(0 < s <= 60 for s in slept)


def test_spent_budget_with_reset_beyond_max_wait_fails_clearly() -> None:
    with Emulator(EmulatorConfig(seed=2, repos=(REPO,), issues_per_repo=300, rate_limit=2, rate_reset_seconds=120)) as emu:
        with GitHubClient(emu.url, max_rate_limit_wait=5) as client, pytest.raises(errors.RateLimitExceeded) as err:
            list(iter_pages(client, f"/repos/{REPO}/issues", {"state": "all", "per_page": 100}))
    message = str(err.value)
    assert "rate limit" in message and "resets at" in message and "GITHUB_TOKENS" in message
    assert err.value.reset_at and err.value.reset_at > datetime.now(tz=UTC).timestamp() + 60


def test_two_tokens_share_the_load_and_a_spent_one_is_skipped() -> None:
    cfg = EmulatorConfig(seed=4, repos=(REPO,), issues_per_repo=2000, tokens=("tok-a", "tok-b"), rate_limit=100)
    with Emulator(cfg) as emu:
        with fast_client(emu, tokens=["tok-a", "tok-b"]) as client:
            list(iter_pages(client, f"/repos/{REPO}/issues", {"state": "all", "per_page": 100}))
            used = [r.token for r in emu.request_log]
            assert {"tok-a", "tok-b"} == set(used)
            assert abs(used.count("tok-a") - used.count("tok-b")) <= 2
            emu.clear_log()
            emu.set_rate_limit(remaining=0, reset_in=3600, token="tok-a")
            pages = list(iter_pages(client, f"/repos/{REPO}/issues", {"state": "all", "per_page": 100}))
        log = emu.request_log
    assert sum(len(p.data) for p in pages) == 2000
    assert [r.token for r in log if r.status == 200] == ["tok-b"] * 20
    assert len([r for r in log if r.token == "tok-a"]) <= 1  # at most one 403 before it is skipped


def test_mutation_during_pagination_loses_nothing() -> None:
    with Emulator(EmulatorConfig(seed=8, repos=(REPO,), issues_per_repo=1500, days=30)) as emu:
        # offset pages (following rel="next") while items change: updates shift items into pages already read
        seen_offset: dict[int, str] = {}
        with GitHubClient(emu.url) as client:
            url, params = f"/repos/{REPO}/issues", {"state": "all", "sort": "updated", "direction": "asc", "per_page": 100}
            for page in iter_pages(client, url, params):
                seen_offset.update({i["id"]: i["updated_at"] for i in page.data})
                emu.mutate(REPO, update=7, add=1)
        lost_by_offset = {i["id"] for i in emu.issues(REPO)} - set(seen_offset)

        latest: dict[int, str] = {}
        with GitHubClient(emu.url) as client:
            for page in sweep_issues(client, REPO, START, FAR):
                for item in page.items:
                    if item["updated_at"] >= latest.get(item["id"], ""):
                        latest[item["id"]] = item["updated_at"]
                if len(page.items) == 100:  # not the last page: change the data before the next request
                    emu.mutate(REPO, update=7, add=1)
        expected = {i["id"]: i["updated_at"] for i in emu.issues(REPO)}
    assert lost_by_offset, "offset paging should have skipped items (otherwise this test proves nothing)"
    assert latest == expected


def test_identical_timestamps_over_more_than_a_page() -> None:
    cfg = EmulatorConfig(seed=9, repos=(REPO,), issues_per_repo=800, identical_updated_cluster=250)
    with Emulator(cfg) as emu, fast_client(emu) as client:
        items = [i for p in sweep_issues(client, REPO, START, FAR) for i in p.items]
        expected = {i["id"] for i in emu.issues(REPO)}
    assert {i["id"] for i in items} == expected


def test_page_size_halves_on_gateway_errors_and_pagination_stays_correct() -> None:
    cfg = EmulatorConfig(seed=6, repos=(REPO,), issues_per_repo=900, large_page_fail_above=30)
    with Emulator(cfg) as emu, fast_client(emu) as client:
        items = [i for p in sweep_issues(client, REPO, START, FAR) for i in p.items]
        sizes = [int(r.query["per_page"]) for r in emu.request_log]
        expected = {i["id"] for i in emu.issues(REPO)}
    assert {i["id"] for i in items} == expected
    assert sizes[:3] == [100, 50, 25] and max(sizes[3:]) <= 50  # halves, then tries larger again, then settles


def test_search_window_with_2500_matches_returns_all() -> None:
    cfg = EmulatorConfig(seed=10, repos=(REPO,), issues_per_repo=2500, days=60, search_rate_limit=10_000)
    with Emulator(cfg) as emu, fast_client(emu) as client:
        slices = list(search_issues(client, f"repo:{REPO}", START, FAR))
        requests = [r for r in emu.request_log if r.path == "/search/issues"]
    ids = [i["id"] for s in slices for i in s.items]
    assert len(ids) == len(set(ids)) == 2500
    assert all(s.total_count <= SEARCH_CAP and s.complete for s in slices)
    assert not [r for r in requests if r.status == 422]


def test_token_appears_nowhere(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = "ghp_S3cretT0kenValue0123456789abcdefXYZ"
    cfg = EmulatorConfig(seed=12, repos=(REPO,), issues_per_repo=400, tokens=(secret,), fault_rate=0.2, fault_kinds=("502", "reset"))
    caplog.set_level(logging.DEBUG)
    with Emulator(cfg) as emu, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(REPOS_PARTITION, [REPO])
        resources = make_resources(emu.url, tmp_path, token=secret)
        result = dg.materialize(ASSETS, instance=instance, resources=resources, tags=range_tags(REPO, date(2025, 1, 1), date(2025, 3, 31)))
        assert result.success
        bad = make_resources(emu.url, tmp_path / "bad", token=secret + "-wrong")
        failed = dg.materialize([raw_issue_pages], instance=instance, resources=bad, tags=range_tags(REPO, date(2025, 1, 1), date(2025, 1, 2)), raise_on_error=False)
        assert not failed.success
        records = instance.get_event_records(dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_MATERIALIZATION))
        events = [str(e.event_log_entry) for e in records]
        all_logs = [str(e) for e in instance.all_logs(result.run_id)] + [str(e) for e in instance.all_logs(failed.run_id)]
    assert any("BadCredentials" in entry for entry in all_logs)
    haystacks = {"log records": "\n".join(r.getMessage() for r in caplog.records), "events": "\n".join(events + all_logs)}
    lake = Lake(tmp_path / "lake")
    for path in (tmp_path / "lake").rglob("*"):
        if path.is_file():
            data = lake.read_page(path) if path.suffix == ".zst" else path.read_bytes()
            haystacks[str(path)] = data.decode("utf-8", "replace")
    for where, text in haystacks.items():
        assert secret not in text, f"token found in {where}"
        assert secret[:20] not in text, f"token prefix found in {where}"
