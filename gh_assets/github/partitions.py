"""Partitions of the GitHub assets: repository (dynamic, fed from the sources config) x day of ``updated_at``."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from gh_assets.config import SourcesConfig, config_path, load_sources

REPOS_PARTITION = "github_repos"
DEFAULT_FIRST_DAY = date(2020, 1, 1)  # without a sources config
# An earlier first day than the config's (a deployment that wants room to backfill, the test suite); never later.
FIRST_DAY_ENV = "GH_ASSETS_PARTITIONS_START"


def earliest_start(sources: SourcesConfig) -> date:
    """The earliest ``start`` of the config: ``github.start`` and every repository's and org's own."""
    gh = sources.github
    return min([gh.start, *(r.start for r in gh.repos if r.start), *(o.start for o in gh.orgs if o.start)])


def first_day(path: str | None = None) -> date:
    """The first day partition: the earliest ``start`` in the sources config (read when the definitions load,
    so a repository's history before it needs the config changed and the code location reloaded)."""
    file = config_path(path)
    days = [earliest_start(load_sources(file))] if file.exists() else []
    if override := os.environ.get(FIRST_DAY_ENV):
        days.append(date.fromisoformat(override))
    return min(days) if days else DEFAULT_FIRST_DAY


class OutsidePartitions(ValueError):
    """A requested range starts before the first partition; the message names the config to change."""


def check_in_partitions(start: date) -> None:
    """Refuse a range that starts before the first partition, naming the config that sets it."""
    if start < FIRST_DAY:
        raise OutsidePartitions(
            f"{start} is before the first partition day {FIRST_DAY} (the earliest `start` in {config_path()}): "
            "set an earlier github start (or a repository's own start) there, then reload the code location"
        )


FIRST_DAY = first_day()

repo_partitions = dg.DynamicPartitionsDefinition(name=REPOS_PARTITION)
# end_offset=1 includes today, so incremental runs can land today's changes.
day_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat(), end_offset=1, timezone="UTC")
repo_day_partitions = dg.MultiPartitionsDefinition({"repo": repo_partitions, "date": day_partitions})


def partition_key(repo: str, day: date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"repo": repo, "date": day.isoformat()})


def range_tags(repo: str, start: date, end: date) -> dict[str, str]:
    """Tags that make one run cover ``[start, end]`` of one repository (single-run backfill)."""
    return _range(partition_key(repo, start), partition_key(repo, end))


def _range(first: dg.MultiPartitionKey, last: dg.MultiPartitionKey) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def days_by_repo(partition_keys: Sequence[str]) -> dict[str, list[date]]:
    """Group a run's partition keys (``"<date>|<repo>"``) into sorted days per repository."""
    return _by_repo(partition_keys, "date")


def _by_repo(partition_keys: Sequence[str], time_dimension: str) -> dict[str, list[date]]:
    out: dict[str, set[date]] = defaultdict(set)
    for key in partition_keys:
        dims = key.keys_by_dimension if isinstance(key, dg.MultiPartitionKey) else dict(zip((time_dimension, "repo"), key.split("|", 1)))
        out[dims["repo"]].add(date.fromisoformat(dims[time_dimension]))
    return {repo: sorted(values) for repo, values in sorted(out.items())}


def day_bounds(days: Sequence[date]) -> tuple[datetime, datetime]:
    """The half-open UTC window ``[first day 00:00, last day + 1 00:00)`` covering ``days``."""
    start = datetime.combine(min(days), datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(max(days) + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return start, end


# Commits are kept per month: a month of history is one request per 100 commits, and commits never change.
month_partitions = dg.MonthlyPartitionsDefinition(start_date=FIRST_DAY.replace(day=1).isoformat(), end_offset=1, timezone="UTC")
repo_month_partitions = dg.MultiPartitionsDefinition({"repo": repo_partitions, "month": month_partitions})


def month_key(repo: str, month: date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"repo": repo, "month": month.replace(day=1).isoformat()})


def month_range_tags(repo: str, start: date, end: date) -> dict[str, str]:
    """Tags that make one run cover the months of ``[start, end]`` of one repository."""
    return _range(month_key(repo, start), month_key(repo, end))


def months_by_repo(partition_keys: Sequence[str]) -> dict[str, list[date]]:
    """Group a run's partition keys (``"<month>|<repo>"``) into sorted month starts per repository."""
    return _by_repo(partition_keys, "month")


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds(months: Sequence[date]) -> tuple[datetime, datetime]:
    """The half-open UTC window ``[first month 00:00, the month after the last)``."""
    start = datetime.combine(min(months), datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(next_month(max(months)), datetime.min.time(), tzinfo=UTC)
    return start, end
