"""Raw archive retention: a job (and a schedule, stopped by default) that prunes raw pages older than the retention.

Only raw partitions go: staged and quarantine Parquet are kept, so marts rebuild as before. A pruned day can
no longer be replayed, and re-ingesting it costs full requests again (its stored ETags are gone).
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import dagster as dg

from gh_assets.resources import LakeResource


@dg.op(description="Delete raw partitions whose day is older than $GH_ASSETS_RAW_RETENTION_DAYS (unset: keep everything).")
def prune_raw_archive(context: dg.OpExecutionContext, lake: LakeResource) -> dg.Output[int]:
    days = lake.raw_retention_days
    if days is None:
        context.log.info("raw retention is unset: raw pages are kept forever")
        return dg.Output(0, metadata={"retention_days": "unset (keep forever)", "partitions_removed": 0})
    if days < 1:
        raise dg.Failure(description=f"GH_ASSETS_RAW_RETENTION_DAYS must be at least 1, got {days}")
    store = lake.lake
    cutoff = datetime.now(UTC).date() - timedelta(days=days)
    doomed = store.raw_partitions_before(cutoff)
    removed = store.prune_raw(cutoff)
    per_entity = Counter(entity for entity, _, _ in doomed)
    return dg.Output(
        removed,
        metadata={
            "retention_days": days,
            "cutoff": cutoff.isoformat(),
            "partitions_removed": removed,
            "removed_by_entity": dg.MetadataValue.json(dict(sorted(per_entity.items()))),
            "repositories": dg.MetadataValue.json(sorted({repo for _, repo, _ in doomed})),
            "oldest_removed": min(d for *_, d in doomed).isoformat() if doomed else "",
            "newest_removed": max(d for *_, d in doomed).isoformat() if doomed else "",
            "lake": store.location,
        },
    )


@dg.job(description="Prune the raw archive of the lake to $GH_ASSETS_RAW_RETENTION_DAYS days (staged and quarantine are never touched).")
def lake_retention_job() -> None:
    prune_raw_archive()


lake_retention_schedule = dg.ScheduleDefinition(
    name="lake_retention_schedule",
    job=lake_retention_job,
    cron_schedule="15 4 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily at 04:15 UTC, prune raw pages older than the retention (after the 03:30 catch-up).",
)
