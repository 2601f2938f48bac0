"""Pull requests, reviews, PR files, comments and commits: live run = emulator truth, replay = live, rerun = first run."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import orjson
import polars as pl
import pytest

from gh_assets import cli
from gh_assets.cli import endpoint_of
from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github.entities import COMMITS, PR_FILES, PULL_REQUESTS, REVIEWS, read_pages, stage
from gh_assets.github.partitions import REPOS_PARTITION
from gh_assets.github.resources import GitHubResource, SourcesResource
from gh_assets.github.sensors import apply_partition_requests, commit_start, github_repos_sensor
from gh_assets.config import SourcesConfig
from gh_assets_tests.ingest import ingest, point_cli_at

REPO = "demo-org/alpha"
START, END = date(2025, 1, 1), date(2025, 2, 9)  # the whole emulated window: truth = everything the emulator has
TABLES = ("issues", "pull_requests", "reviews", "pr_files", "issue_comments", "commits")
ANALYTICS = ("pr_lead_times", "review_turnaround", "issue_response_times", "commit_activity_monthly", "contributor_stats", "repo_health_daily")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(seed=11, repos=(REPO,), issues_per_repo=400, start="2025-01-01", days=40, many_files_fraction=0.02, many_reviews_fraction=0.02)
    with Emulator(config) as emu:
        yield emu


def tables(data_dir: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall() for t in (*TABLES, *ANALYTICS)}


@pytest.fixture(scope="module")
def live(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict[str, Counter]]]:
    """One live ingest of every entity through the CLI; yields the data dir, the Dagster home and requests per endpoint."""
    root = tmp_path_factory.mktemp("entities")
    mp = pytest.MonkeyPatch()
    emulator.clear_log()
    data_dir, home = ingest(mp, emulator.url, root, REPO, START, END)
    yield data_dir, home, {"requests": Counter(endpoint_of(r.path) for r in emulator.request_log)}
    mp.undo()


def test_marts_equal_the_emulator(emulator: Emulator, live: tuple[Path, Path, dict]) -> None:
    data_dir, _, _ = live
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:

        def rows(sql: str) -> set[tuple]:
            return set(con.execute(sql).fetchall())

        pulls = emulator.pulls(REPO)
        assert rows("SELECT number, id, state, merged_at IS NOT NULL, updated_at FROM marts.pull_requests") == {
            (p["number"], p["id"], p["state"], p["merged_at"] is not None, datetime.fromisoformat(p["updated_at"])) for p in pulls
        }
        assert rows("SELECT pull_number, id, state FROM marts.reviews") == {(n, r["id"], r["state"]) for n, r in emulator.reviews(REPO)}
        files = emulator.pr_files(REPO)
        assert rows("SELECT pull_number, filename, additions, deletions FROM marts.pr_files") == {
            (n, f["filename"], f["additions"], f["deletions"]) for n, f in files
        }
        assert any(c > 100 for c in Counter(n for n, _ in files).values()), "a PR with over 100 files proves the files pagination"
        assert rows("SELECT id, issue_number FROM marts.issue_comments") == {
            (c["id"], int(c["issue_url"].rsplit("/", 1)[1])) for c in emulator.issue_comments(REPO)
        }
        commits = emulator.commits(REPO)
        assert rows("SELECT sha, author_login, author_email FROM marts.commits") == {
            (c["sha"], (c["author"] or {}).get("login"), c["commit"]["author"]["email"]) for c in commits
        }
        assert any(c["author"] is None for c in commits), "unlinked authors keep their git identity"
        # derived fields: lead time is created -> merged
        (bad,) = con.execute(
            "SELECT count(*) FROM marts.pull_requests WHERE is_merged AND abs(lead_time_hours - date_diff('second', created_at, merged_at) / 3600.0) > 1e-6"
        ).fetchone()
        assert bad == 0
        # every analytics mart is filled and agrees with its sources
        for table in ANALYTICS:
            (n,) = con.execute(f"SELECT count(*) FROM marts.{table}").fetchone()
            assert n > 0, table
        assert con.execute("SELECT sum(commits) FROM marts.commit_activity_monthly").fetchone()[0] == len(commits)
        assert con.execute("SELECT count(*) FROM marts.pr_lead_times").fetchone()[0] == len(pulls)


def test_requests_per_entity(emulator: Emulator, live: tuple[Path, Path, dict]) -> None:
    """Details cost one request per page per PR; lists cost one per 100 items (plus the keyset boundary re-reads)."""
    _, _, used = live
    requests = used["requests"]
    prs = len(emulator.pulls(REPO))
    assert requests["pulls/{n}/reviews"] >= prs and requests["pulls/{n}/files"] >= prs
    assert requests["pulls/{n}/files"] <= prs + sum(-(-c // 100) - 1 for c in Counter(n for n, _ in emulator.pr_files(REPO)).values())
    assert requests["pulls"] <= -(-prs // 100) + 1
    assert requests["commits"] <= -(-len(emulator.commits(REPO)) // 100) + 2  # one sweep per month touched


def test_replay_makes_no_request_and_equals_live(emulator: Emulator, live: tuple[Path, Path, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir, home, _ = live
    before = tables(data_dir)
    (data_dir / "warehouse.duckdb").unlink()
    for table in TABLES:
        for part in (data_dir / "lake" / "staged" / table).glob("repo=*/date=*/*.parquet"):
            part.unlink()
    emulator.clear_log()
    point_cli_at(monkeypatch, emulator.url, data_dir.parent, REPO, START)
    assert cli.main(["replay", "--repo", REPO, "--start", str(START), "--end", str(END)]) == 0
    assert emulator.request_log == []
    assert tables(data_dir) == before


def test_rerun_costs_only_304s_and_changes_nothing(emulator: Emulator, live: tuple[Path, Path, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir, home, _ = live
    before = tables(data_dir)
    emulator.clear_log()
    point_cli_at(monkeypatch, emulator.url, data_dir.parent, REPO, START)
    assert cli.main(["ingest", "--repo", REPO, "--start", str(START), "--end", str(END), "--entities", "pulls,reviews,files,commits,comments"]) == 0
    # the pages: only 304s; besides them one repository lookup and GitHub's counts for the completeness checks
    checks = [r for r in emulator.request_log if r.path in (f"/repos/{REPO}", "/search/issues") or r.query.get("per_page") == "1"]
    statuses = Counter(r.status for r in emulator.request_log if r not in checks)
    assert set(statuses) == {304}, [(r.path, r.query, r.status) for r in emulator.request_log if r.status != 304 and r not in checks]
    assert len(checks) == 1 + 2  # /repos/{repo}; pull requests (search) and commits (one page of one) counted
    assert tables(data_dir) == before


# ---------------------------------------------------------------------------------------------- quarantine
def _stage(entity, items: list[dict], partition: date, key: str = "/repos/o/r/pulls/7/files?per_page=100"):
    raw = read_pages(entity, [(orjson.dumps(items), datetime(2025, 3, 1, tzinfo=UTC), "test page", key, partition)])
    return stage(entity, raw, "o/r")


def test_bad_rows_are_quarantined_with_the_reason_and_accounted_for() -> None:
    day = date(2025, 1, 5)
    base = {"number": 1, "id": 10, "title": "t", "state": "closed", "created_at": "2025-01-02T00:00:00Z", "updated_at": "2025-01-05T10:00:00Z",
            "closed_at": "2025-01-04T00:00:00Z", "merged_at": "2025-01-04T00:00:00Z", "labels": [], "requested_reviewers": []}
    pulls = [
        base,
        {**base, "number": 2, "id": 20, "merged_at": "2025-01-01T00:00:00Z"},  # merged before created
        {**base, "number": 3, "id": 30, "state": "open"},  # merged but open
        {**base, "number": 4, "id": 40, "comments": 1, "draft": "yes"},  # unreadable: a string for a boolean
        {**base, "number": 5, "id": 50, "updated_at": "2025-01-06T00:00:00Z"},  # another day: not this partition's
        {**base, "number": 1, "id": 10, "updated_at": "2025-01-05T09:00:00Z"},  # an older version of #1
    ]
    result = _stage(PULL_REQUESTS, pulls, day)
    assert result.staged["number"].to_list() == [1]
    reasons = dict(zip(result.quarantined["quarantine_reason"], result.quarantined["raw_json"], strict=True))
    assert any("merged_not_before_created" in r for r in reasons)
    assert any("merged_is_closed" in r for r in reasons)
    unreadable = [j for r, j in reasons.items() if r.startswith("unreadable row")]
    assert unreadable and '"draft":"yes"' in unreadable[0]
    assert result.raw_by_partition[day] == 5
    assert result.staged.height + result.quarantined.height + result.dropped_by_partition[day] == 5

    files = [
        {"filename": "src/a.py", "status": "modified", "additions": 1, "deletions": 2, "changes": 3},
        {"filename": "b.md", "status": "modified", "additions": 1, "deletions": 2, "changes": 4},
        {"filename": "c.py", "status": "renamed", "additions": 0, "deletions": 0, "changes": 0, "sha": "9" * 40},  # REST: no previous name
        {"filename": "e.py", "status": "renamed", "additions": 0, "deletions": 0, "changes": 0},  # GraphQL gives neither
        {"filename": "d.py", "status": "exploded", "additions": 0, "deletions": 0, "changes": 0},
    ]
    result = _stage(PR_FILES, files, day)
    assert result.staged.select("pull_number", "filename", "extension", "top_directory").rows() == [(7, "e.py", "py", "(root)"), (7, "src/a.py", "py", "src")]
    assert sorted(result.quarantined["quarantine_reason"].to_list()) == [
        "changes_add_up",
        "renamed_has_previous",
        "status: isin(['added', 'removed', 'modified', 'renamed', 'copied', 'changed', 'unchanged']) (value exploded)",
    ]

    review = {"id": 1, "state": "SHRUGGED", "submitted_at": "2025-01-05T00:00:00Z", "user": {"login": "u", "id": 1}}
    result = _stage(REVIEWS, [review, {**review, "id": 2, "state": "APPROVED"}], day)
    assert result.staged["id"].to_list() == [2]
    assert "state: isin" in result.quarantined["quarantine_reason"][0]

    commit = {"sha": "not-a-sha", "commit": {"committer": {"date": "2025-01-09T00:00:00Z"}, "author": {"name": "x", "email": "x@y"}}, "parents": []}
    result = _stage(COMMITS, [commit, {**commit, "sha": "a" * 40}], date(2025, 1, 1))
    assert result.staged["sha"].to_list() == ["a" * 40]
    assert "sha: str_matches" in result.quarantined["quarantine_reason"][0]


# ---------------------------------------------------------------------------------------------- orgs
def test_org_entry_expands_to_its_repositories(tmp_path: Path) -> None:
    repos = ("acme/api", "acme/web", "acme/old", "acme/fork-of-x", "acme/sandbox", "other/thing")
    config = tmp_path / "sources.yaml"
    config.write_text("github:\n  start: 2025-01-01\n  repos: [other/thing]\n  orgs:\n    - org: acme\n      exclude: ['sand*']\n")
    with Emulator(EmulatorConfig(repos=repos, issues_per_repo=5, archived_repos=("acme/old",), fork_repos=("acme/fork-of-x",))) as emu:
        with dg.instance_for_test() as instance:
            context = dg.build_sensor_context(
                instance=instance, resources={"sources": SourcesResource(path=str(config)), "github": GitHubResource(api_url=emu.url)}
            )
            result = github_repos_sensor(context)
            apply_partition_requests(instance, result)
            assert sorted(instance.get_dynamic_partitions(REPOS_PARTITION)) == ["acme/api", "acme/web", "other/thing"]
            assert {r.job_name for r in result.run_requests} == {"github_daily_job", "github_commits_job"}


def test_commit_history_defaults_to_six_months() -> None:
    config = SourcesConfig.model_validate({"github": {"start": "2020-01-01", "repos": ["a/b", {"name": "c/d", "start": "2026-10-15"}]}})
    assert commit_start(config, "a/b", date(2026, 11, 23)) == date(2026, 5, 1)
    assert commit_start(config, "c/d", date(2026, 11, 23)) == date(2026, 10, 1)
    assert commit_start(config, "a/b", date(2026, 3, 2)) == date(2025, 9, 1)


def test_unknown_entity_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["ingest", "--repo", REPO, "--start", "2025-01-01", "--end", "2025-01-02", "--entities", "issues,stars"])
    assert "unknown entities ['stars']" in capsys.readouterr().err


def test_staged_frames_carry_a_stable_row_key(live: tuple[Path, Path, dict]) -> None:
    data_dir, _, _ = live
    staged = pl.read_parquet(str(data_dir / "lake" / "staged" / "pr_files" / "repo=demo-org__alpha" / "date=*" / "*.parquet"))
    expected = staged.select(pl.format("{}/{}/{}", "repository", "pull_number", "filename")).to_series()
    assert (staged["row_key"] == expected).all()
    assert staged["row_key"].n_unique() == staged.height
