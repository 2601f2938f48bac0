"""The catch-up schedule: yesterday's partition of every repository, once a day, idempotently."""

from datetime import UTC, datetime

import dagster as dg

from gh_assets.github.partitions import REPOS_PARTITION
from gh_assets.github.schedules import github_catch_up_schedule


def test_catch_up_requests_yesterday_for_every_repo(instance: dg.DagsterInstance) -> None:
    instance.add_dynamic_partitions(REPOS_PARTITION, ["b/two", "a/one"])
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2025, 3, 1, 3, 30, tzinfo=UTC))
    requests = github_catch_up_schedule(context)
    assert [r.run_key for r in requests] == ["catch-up:a/one:2025-02-28", "catch-up:b/two:2025-02-28"]
    assert requests[0].tags["dagster/asset_partition_range_start"] == "2025-02-28|a/one"
    assert requests[0].tags["dagster/asset_partition_range_end"] == "2025-02-28|a/one"
