"""Sensors: repository partitions follow the sources config; ETag polling runs only the partitions that changed."""

import json
from pathlib import Path

import dagster as dg
import pytest

from gh_assets.config import ConfigError
from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github.partitions import REPOS_PARTITION
from gh_assets.github.resources import GitHubResource, SourcesResource
from gh_assets.github.sensors import apply_partition_requests, github_commit_changes_sensor, github_issue_changes_sensor, github_repos_sensor


def evaluate(instance: dg.DagsterInstance, config: Path) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, resources={"sources": SourcesResource(path=str(config)), "github": GitHubResource(api_url="http://127.0.0.1:9")}
    )
    return github_repos_sensor(context)


def daily(result: dg.SensorResult) -> list[dg.RunRequest]:
    return [r for r in result.run_requests if r.job_name == "github_daily_job"]


def test_sensor_adds_and_removes_repo_partitions(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("github:\n  start: 2025-01-01\n  repos:\n    - a/one\n    - name: b/two\n      start: 2025-03-01\n")
    result = evaluate(instance, config)
    adds = [r for r in result.dynamic_partitions_requests if isinstance(r, dg.AddDynamicPartitionsRequest)]
    assert [list(r.partition_keys) for r in adds] == [["a/one", "b/two"]]
    first = {r.tags["dagster/asset_partition_range_start"]: r for r in daily(result)}
    assert set(first) == {"2025-01-01|a/one", "2025-03-01|b/two"}
    assert all(r.run_key and r.tags["dagster/asset_partition_range_end"].endswith(("|a/one", "|b/two")) for r in result.run_requests)
    commits = [r for r in result.run_requests if r.job_name == "github_commits_job"]
    assert len(commits) == 2 and len(result.run_requests) == 4
    apply_partition_requests(instance, result)
    assert sorted(instance.get_dynamic_partitions(REPOS_PARTITION)) == ["a/one", "b/two"]

    # a repeated tick with the same config changes nothing
    again = evaluate(instance, config)
    assert not again.dynamic_partitions_requests and not again.run_requests

    # dropping a repo from the config removes its partition; adding one adds it with a first load
    config.write_text("github:\n  start: 2025-01-01\n  repos: [b/two, c/three]\n")
    changed = evaluate(instance, config)
    apply_partition_requests(instance, changed)
    assert sorted(instance.get_dynamic_partitions(REPOS_PARTITION)) == ["b/two", "c/three"]
    assert [r.tags["dagster/asset_partition_range_start"] for r in daily(changed)] == ["2025-01-01|c/three"]


def test_sensor_with_bad_config_raises_naming_the_field(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("github:\n  start: 2025-01-01\n  repos: ['../../etc/passwd']\n")
    with pytest.raises(ConfigError, match=r"github\.repos\[0\]\.name"):
        evaluate(instance, config)
    assert instance.get_dynamic_partitions(REPOS_PARTITION) == []


def test_change_sensor_polls_with_etags_and_runs_only_what_changed(instance: dg.DagsterInstance) -> None:
    repos = ("demo-org/quiet", "demo-org/busy")
    with Emulator(EmulatorConfig(seed=5, repos=repos, issues_per_repo=300, start="2025-01-01", days=30)) as emu:
        instance.add_dynamic_partitions(REPOS_PARTITION, list(repos))
        resources = {"github": GitHubResource(api_url=emu.url)}

        def tick(cursor: str | None) -> dg.SensorResult:
            return github_issue_changes_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))

        first = tick(None)  # records each repo's newest update; first loads belong to the config sensor
        assert not first.run_requests
        cursor = json.loads(first.cursor)
        assert set(cursor) == set(repos) and all(v["etag"] for v in cursor.values())

        emu.clear_log()
        unchanged = tick(first.cursor)
        assert not unchanged.run_requests
        assert [r.status for r in emu.request_log] == [304, 304]  # one uncharged request per repo

        emu.mutate("demo-org/busy", update=3)
        newest = max(i["updated_at"] for i in emu.issues("demo-org/busy"))
        changed = tick(unchanged.cursor)
        previous = cursor["demo-org/busy"]["updated_at"]
        (request,) = changed.run_requests
        assert request.tags["dagster/asset_partition_range_start"] == f"{previous[:10]}|demo-org/busy"
        assert request.tags["dagster/asset_partition_range_end"] == f"{newest[:10]}|demo-org/busy"
        assert request.run_key == f"changes:demo-org/busy:{newest}"
        assert json.loads(changed.cursor)["demo-org/busy"]["updated_at"] == newest
        assert json.loads(changed.cursor)["demo-org/quiet"] == cursor["demo-org/quiet"]


def test_change_sensor_tick_over_many_repos(instance: dg.DagsterInstance) -> None:
    repos = tuple(f"many-org/repo-{i:03d}" for i in range(120))
    with Emulator(EmulatorConfig(seed=6, repos=repos, issues_per_repo=5, start="2025-01-01", days=10)) as emu:
        instance.add_dynamic_partitions(REPOS_PARTITION, list(repos))
        resources = {"github": GitHubResource(api_url=emu.url)}
        first = github_issue_changes_sensor(dg.build_sensor_context(instance=instance, resources=resources))
        emu.clear_log()
        emu.mutate("many-org/repo-042", update=1)
        second = github_issue_changes_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources))
        statuses = sorted(r.status for r in emu.request_log)
    assert len(json.loads(first.cursor)) == 120
    assert statuses == [200] + [304] * 119
    assert [r.run_key.split(":")[1] for r in second.run_requests] == ["many-org/repo-042"]


def test_commit_sensor_polls_the_newest_commit_and_runs_the_months_that_changed(instance: dg.DagsterInstance) -> None:
    repos = ("demo-org/quiet", "demo-org/busy")
    with Emulator(EmulatorConfig(seed=5, repos=repos, issues_per_repo=200, start="2025-01-01", days=90)) as emu:
        instance.add_dynamic_partitions(REPOS_PARTITION, list(repos))
        resources = {"github": GitHubResource(api_url=emu.url)}

        def tick(cursor: str | None) -> dg.SensorResult:
            return github_commit_changes_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))

        first = tick(None)
        assert not first.run_requests
        cursor = json.loads(first.cursor)
        newest = emu.commits("demo-org/busy")[0]["commit"]["committer"]["date"]
        assert cursor["demo-org/busy"]["updated_at"] == newest

        emu.clear_log()
        unchanged = tick(first.cursor)
        assert not unchanged.run_requests and [r.status for r in emu.request_log] == [304, 304]
        assert all(r.path.endswith("/commits") and r.query["per_page"] == "1" for r in emu.request_log)

        # The cursor as it was before the newest commits landed (an older high-water mark, a stale ETag): the
        # next tick gets a 200 and asks for the months between the two.
        stale = {**cursor, "demo-org/busy": {"etag": '"stale"', "updated_at": "2025-01-15T00:00:00Z"}}
        (request,) = tick(json.dumps(stale)).run_requests
        assert request.job_name is None or request.job_name == "github_commits_job"
        assert request.tags["dagster/asset_partition_range_start"] == "2025-01-01|demo-org/busy"
        assert request.tags["dagster/asset_partition_range_end"] == f"{newest[:7]}-01|demo-org/busy"
        assert request.run_key == f"changes:demo-org/busy:{newest}"
