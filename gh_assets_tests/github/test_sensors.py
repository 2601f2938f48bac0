"""The config sensor: repository partitions follow the sources config, and new repositories get a first load."""

from pathlib import Path

import dagster as dg
import pytest

from gh_assets.config import ConfigError
from gh_assets.github.partitions import REPOS_PARTITION
from gh_assets.github.resources import SourcesResource
from gh_assets.github.sensors import github_repos_sensor


def evaluate(instance: dg.DagsterInstance, config: Path) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, resources={"sources": SourcesResource(path=str(config))})
    return github_repos_sensor(context)


def apply(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(REPOS_PARTITION, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(REPOS_PARTITION, key)


def test_sensor_adds_and_removes_repo_partitions(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("github:\n  start: 2025-01-01\n  repos:\n    - a/one\n    - name: b/two\n      start: 2025-03-01\n")
    result = evaluate(instance, config)
    adds = [r for r in result.dynamic_partitions_requests if isinstance(r, dg.AddDynamicPartitionsRequest)]
    assert [list(r.partition_keys) for r in adds] == [["a/one", "b/two"]]
    first = {r.tags["dagster/asset_partition_range_start"]: r for r in result.run_requests}
    assert set(first) == {"2025-01-01|a/one", "2025-03-01|b/two"}
    assert all(r.run_key and r.tags["dagster/asset_partition_range_end"].endswith(("|a/one", "|b/two")) for r in result.run_requests)
    apply(instance, result)
    assert sorted(instance.get_dynamic_partitions(REPOS_PARTITION)) == ["a/one", "b/two"]

    # a repeated tick with the same config changes nothing
    again = evaluate(instance, config)
    assert not again.dynamic_partitions_requests and not again.run_requests

    # dropping a repo from the config removes its partition; adding one adds it with a first load
    config.write_text("github:\n  start: 2025-01-01\n  repos: [b/two, c/three]\n")
    changed = evaluate(instance, config)
    apply(instance, changed)
    assert sorted(instance.get_dynamic_partitions(REPOS_PARTITION)) == ["b/two", "c/three"]
    assert [r.tags["dagster/asset_partition_range_start"] for r in changed.run_requests] == ["2025-01-01|c/three"]


def test_sensor_with_bad_config_raises_naming_the_field(instance: dg.DagsterInstance, tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("github:\n  start: 2025-01-01\n  repos: ['../../etc/passwd']\n")
    with pytest.raises(ConfigError, match=r"github\.repos\[0\]\.name"):
        evaluate(instance, config)
    assert instance.get_dynamic_partitions(REPOS_PARTITION) == []
