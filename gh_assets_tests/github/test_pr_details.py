"""Pull-request details over GraphQL: valid queries, the same staged rows as REST, long connections, faults, replay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github import pr_details
from gh_assets.github.client import GitHubClient
from gh_assets.github.entity_assets import pr_files, raw_pull_detail_pages, raw_pull_pages, reviews
from gh_assets.github.partitions import REPOS_PARTITION, range_tags
from gh_assets.graphql_schema import validate_query
from gh_assets_tests.conftest import make_resources

REPO = "acme/widgets"
START, END = date(2025, 1, 1), date(2025, 1, 31)
TOKEN = "ghp_detailtoken"
ASSETS = [raw_pull_pages, raw_pull_detail_pages, reviews, pr_files]
SHARED_FILE_COLUMNS = ["repository", "row_key", "pull_number", "filename", "status", "additions", "deletions", "changes", "extension", "top_directory", "partition_date"]


def test_every_query_the_client_can_send_is_valid_on_githubs_schema() -> None:
    for query in pr_details.sample_queries():
        assert validate_query(query) == [], query[:200]


def _config(**kw: object) -> EmulatorConfig:
    return EmulatorConfig(**{"seed": 3, "repos": (REPO,), "issues_per_repo": 600, "days": 30, **kw})  # type: ignore[arg-type]


def _staged(data_dir: Path, table: str) -> pl.DataFrame:
    frame = pl.read_parquet(data_dir / "lake" / "staged" / table / "**" / "*.parquet", hive_partitioning=False)
    key = ["pull_number", "id"] if table == "reviews" else ["pull_number", "filename"]
    return frame.drop("fetched_at").sort(key)


def _run(emu: Emulator, data_dir: Path, *, token: str | None, assets: list = ASSETS, **github: object) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(REPOS_PARTITION, [REPO])
        result = dg.materialize(
            assets, instance=instance, resources=make_resources(emu.url, data_dir, token=token, **github), tags=range_tags(REPO, START, END)
        )
    assert result.success
    return result


def _metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    events = [e.materialization for e in result.get_asset_materialization_events() if e.materialization.asset_key.to_user_string() == key]
    return {k: v.value for k, v in events[-1].metadata.items()}


@pytest.fixture(scope="module")
def both_paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """One emulator with a PR of 250 files and 150 reviews, ingested once by GraphQL and once by REST."""
    with Emulator(_config()) as emu:
        big = emu.make_big_pull(REPO)
        gql_dir, rest_dir = tmp_path_factory.mktemp("graphql"), tmp_path_factory.mktemp("rest")
        emu.clear_log()
        gql = _run(emu, gql_dir, token=TOKEN)
        gql_log = list(emu.request_log)
        emu.clear_log()
        rest = _run(emu, rest_dir, token=None)
        rest_log = list(emu.request_log)
        truth_reviews = {(n, r["id"]) for n, r in emu.reviews(REPO)}
        truth_files = {(n, f["filename"]) for n, f in emu.pr_files(REPO)}
        yield {
            "big": big,
            "gql_dir": gql_dir,
            "rest_dir": rest_dir,
            "gql": gql,
            "rest": rest,
            "gql_log": gql_log,
            "rest_log": rest_log,
            "truth_reviews": truth_reviews,
            "truth_files": truth_files,
            "emu_url": emu.url,
        }


def test_graphql_stages_what_rest_stages(both_paths: dict) -> None:
    gql_reviews, rest_reviews = _staged(both_paths["gql_dir"], "reviews"), _staged(both_paths["rest_dir"], "reviews")
    assert gql_reviews.height > 100
    assert gql_reviews.equals(rest_reviews)  # every column of every review, including bot logins and ids
    gql_files, rest_files = _staged(both_paths["gql_dir"], "pr_files"), _staged(both_paths["rest_dir"], "pr_files")
    # GraphQL's PatchStatus has no UNCHANGED: such a file is MODIFIED there (documented)
    rest_files = rest_files.with_columns(pl.col("status").replace("unchanged", "modified"))
    assert gql_files.select(SHARED_FILE_COLUMNS).equals(rest_files.select(SHARED_FILE_COLUMNS))
    # GraphQL has no blob sha or previous path: those are null on its path, documented
    assert gql_files["sha"].null_count() == gql_files.height and gql_files["previous_filename"].null_count() == gql_files.height


def test_graphql_rows_are_the_emulators_ground_truth(both_paths: dict) -> None:
    reviews_ = _staged(both_paths["gql_dir"], "reviews")
    files = _staged(both_paths["gql_dir"], "pr_files")
    prs = set(reviews_["pull_number"]) | set(files["pull_number"])
    assert set(reviews_.select("pull_number", "id").iter_rows()) == {t for t in both_paths["truth_reviews"] if t[0] in prs}
    assert set(files.select("pull_number", "filename").iter_rows()) == {t for t in both_paths["truth_files"] if t[0] in prs}


def test_connections_past_100_nodes_are_completed(both_paths: dict) -> None:
    big = both_paths["big"]
    assert _staged(both_paths["gql_dir"], "reviews").filter(pl.col("pull_number") == big).height == 150
    assert _staged(both_paths["gql_dir"], "pr_files").filter(pl.col("pull_number") == big).height == 250
    meta = _metadata(both_paths["gql"], "github/raw_pr_detail_pages")
    assert meta["run_total_graphql_connection_pages_past_100"] >= 3  # 150 reviews: one more page; 250 files: two more


def test_graphql_costs_a_fraction_of_rest(both_paths: dict) -> None:
    gql_detail = [r for r in both_paths["gql_log"] if r.resource == "graphql"]
    rest_detail = [r for r in both_paths["rest_log"] if "/reviews" in r.path or "/files" in r.path]
    prs = _metadata(both_paths["gql"], "github/raw_pr_detail_pages")["run_total_pull_requests"]
    assert not [r for r in both_paths["gql_log"] if "/reviews" in r.path or "/files" in r.path]  # no REST fan-out
    assert len(rest_detail) >= 2 * prs
    meta = _metadata(both_paths["gql"], "github/raw_pr_detail_pages")
    # 50 PRs or connection pages past 100 nodes per query; a connection's pages come one after another, so the
    # big PR's last two pages of files may trail the last batch
    assert len(gql_detail) <= -(-(prs + meta["run_total_graphql_connection_pages_past_100"]) // 50) + 2
    assert meta["detail_api"] == "graphql" and meta["run_total_graphql_points"] == sum(r.cost for r in gql_detail)
    assert _metadata(both_paths["rest"], "github/raw_review_pages")["detail_api"] == "rest"


def test_graphql_pages_are_stored_with_their_variables_and_cost(both_paths: dict) -> None:
    from gh_assets.lake import Lake

    lake = Lake(str(both_paths["gql_dir"] / "lake"))
    metas = [m for day in pl.date_range(START, END, eager=True) for m in (lake.raw_manifest(pr_details.RAW_ENTITY, REPO, day) or [])]
    assert metas and all(m.rate_limit_resource == "graphql" and m.graphql_cost is not None for m in metas)
    batch = next(m for m in metas if m.key.startswith("graphql:PullRequestDetails"))
    assert batch.variables["owner"] == "acme" and set(batch.pull_numbers) <= {v for k, v in batch.variables.items() if k.startswith("n")}
    assert TOKEN not in str(metas)


def test_replay_of_graphql_pages_makes_no_request(both_paths: dict, tmp_path: Path) -> None:
    before_reviews, before_files = _staged(both_paths["gql_dir"], "reviews"), _staged(both_paths["gql_dir"], "pr_files")
    with Emulator(_config()) as emu:  # a fresh emulator: any request would show in its log
        _run(emu, both_paths["gql_dir"], token=TOKEN, assets=[reviews, pr_files])
        assert emu.request_log == []
    assert _staged(both_paths["gql_dir"], "reviews").equals(before_reviews)
    assert _staged(both_paths["gql_dir"], "pr_files").equals(before_files)


def test_rest_when_the_config_asks_for_it(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(f"github:\n  start: 2025-01-01\n  detail_api: rest\n  repos: [{REPO}]\n")
    with Emulator(_config(issues_per_repo=200)) as emu:
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions(REPOS_PARTITION, [REPO])
            result = dg.materialize(ASSETS, instance=instance, resources=make_resources(emu.url, tmp_path, token=TOKEN, config=config), tags=range_tags(REPO, START, END))
        assert result.success
        assert not [r for r in emu.request_log if r.resource == "graphql"]
    assert _metadata(result, "github/raw_pr_detail_pages")["detail_api"] == "rest"


def test_big_batches_time_out_halve_and_lose_nothing(both_paths: dict, tmp_path: Path) -> None:
    # Above 2,500 nodes a query is cut off (502): 50 PRs x 200 nodes is 10,000, so batches shrink to 12.
    with Emulator(_config(graphql_max_nodes=2_500)) as emu:
        emu.make_big_pull(REPO)
        result = _run(emu, tmp_path, token=TOKEN)
        timeouts = [r for r in emu.request_log if r.fault == "graphql_timeout"]
    assert timeouts
    assert _metadata(result, "github/raw_pr_detail_pages")["run_total_graphql_batch_halvings"] >= 2
    assert _staged(tmp_path, "reviews").equals(_staged(both_paths["gql_dir"], "reviews"))
    assert _staged(tmp_path, "pr_files").select(SHARED_FILE_COLUMNS).equals(_staged(both_paths["gql_dir"], "pr_files").select(SHARED_FILE_COLUMNS))


def test_a_deleted_pull_request_is_recorded_and_the_rest_staged(tmp_path: Path) -> None:
    with Emulator(_config()) as emu, dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(REPOS_PARTITION, [REPO])
        resources = make_resources(emu.url, tmp_path, token=TOKEN)
        tags = range_tags(REPO, START, END)
        assert dg.materialize([raw_pull_pages], instance=instance, resources=resources, tags=tags).success
        listed = sorted({p["number"] for p in emu.pulls(REPO)})
        gone = next(n for n, _ in emu.reviews(REPO) if n in listed)
        emu.delete_pull(REPO, gone)
        result = dg.materialize([raw_pull_detail_pages, reviews, pr_files], instance=instance, resources=resources, tags=tags)
        assert result.success
        truth = {(n, r["id"]) for n, r in emu.reviews(REPO)}
    meta = _metadata(result, "github/raw_pr_detail_pages")
    assert meta["run_total_pull_requests_not_found"] == 1
    staged = _staged(tmp_path, "reviews")
    assert gone not in set(staged["pull_number"])
    assert set(staged.select("pull_number", "id").iter_rows()) == {t for t in truth if t[0] in set(staged["pull_number"])}
    assert staged.height > 0


def test_a_spent_points_budget_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the emulator's clock moves instead of the test sleeping
        slept.append(seconds)
        clock[0] += seconds

    with Emulator(_config(graphql_rate_limit=3, graphql_reset_seconds=20, clock=lambda: clock[0])) as emu:
        numbers = sorted({p["number"] for p in emu.pulls(REPO)})[:200]
        emu.set_rate_limit(remaining=0, reset_in=20, token=TOKEN, resource="graphql")  # spent before the client knows
        with GitHubClient(emu.url, TOKEN, sleep=sleep, clock=lambda: clock[0], max_rate_limit_wait=60) as client:
            stats = pr_details.DetailStats()
            pages = list(pr_details.detail_pages(client, REPO, numbers, stats))
            assert client.stats.rate_limit_waits >= 1
        limited = [r for r in emu.request_log if r.resource == "graphql" and r.cost == 0]
    answered = {pr["number"] for page in pages for pr in page.items}
    assert answered == set(numbers)
    assert limited  # GitHub said RATE_LIMITED (HTTP 200) at least once; the client waited for the reset
    assert 0 < sum(slept) <= 60 and max(slept) <= 1.0  # in interruptible slices


def test_a_refused_query_is_a_typed_error_not_partial_data() -> None:
    from gh_assets.github import errors

    doc = {"data": {"repository": {"pr0": {"number": 1}}}, "errors": [{"type": "FORBIDDEN", "message": "Resource not accessible by integration"}]}
    with pytest.raises(errors.GraphQLQueryError, match="FORBIDDEN"):
        pr_details._errors_of(doc, "https://api.github.com/graphql")
    not_found = {"data": {"repository": {"pr0": None, "pr1": {"number": 2}}}, "errors": [{"type": "NOT_FOUND", "path": ["repository", "pr0"], "message": "gone"}]}
    assert pr_details._errors_of(not_found, "u") == (["pr0"], False)


def test_nodes_never_fetched_fail_the_completeness_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A client that stopped at the first 100 nodes: only GitHub's totalCount can tell the rest is missing.
    monkeypatch.setattr(pr_details, "_pending", lambda pr: [])
    with Emulator(_config()) as emu, dg.instance_for_test() as instance:
        big = emu.make_big_pull(REPO)
        instance.add_dynamic_partitions(REPOS_PARTITION, [REPO])
        result = dg.materialize(
            ASSETS, instance=instance, resources=make_resources(emu.url, tmp_path, token=TOKEN), tags=range_tags(REPO, START, END), raise_on_error=False
        )
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    for name, total in (("reviews_complete", 150), ("pr_files_complete", 250)):
        check = checks[name]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
        short = check.metadata["short_pull_requests"].value
        assert any(f"PR #{big}: GitHub counts {total}, fetched 100" in line for line in short)
        assert check.metadata["missing"].value >= total - 100


def test_complete_checks_pass_when_every_node_is_fetched(both_paths: dict) -> None:
    checks = {c.check_name: c for c in both_paths["gql"].get_asset_check_evaluations()}
    for name in ("reviews_complete", "pr_files_complete"):
        assert checks[name].passed and checks[name].metadata["missing"].value == 0 and checks[name].metadata["github_total"].value > 100


def test_secondary_limits_and_502s_on_graphql_lose_nothing() -> None:
    with Emulator(_config(graphql_fault_rate=0.4, fault_kinds=("secondary", "502"), secondary_retry_after=0)) as emu:
        numbers = sorted({p["number"] for p in emu.pulls(REPO)})
        with GitHubClient(emu.url, TOKEN, backoff_initial=0.01, backoff_max=0.05, max_attempts=30) as client:
            stats = pr_details.DetailStats()
            pages = list(pr_details.detail_pages(client, REPO, numbers, stats))
        faults = {r.fault for r in emu.request_log if r.resource == "graphql" and r.fault}
        truth = {(n, r["id"]) for n, r in emu.reviews(REPO)}
    assert {"secondary", "502"} <= faults
    got = set()
    for page in pages:
        reviews_ = pr_details.graphql_page(page.response.body, "reviews").filter(pl.col("github_total").is_null())
        got |= set(reviews_.select("pull_number", "id").iter_rows())
    assert got == {t for t in truth if t[0] in set(numbers)}
