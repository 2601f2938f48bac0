"""The jobs the GitHub sensors launch, with the publish assets of their partitioning added when publishing is on.

A run of the daily job (or of the commits job) then loads the marts and publishes the same partitions to
PostgreSQL in one run, after the marts' blocking checks passed. The jobs keep their names, so the sensors'
run requests and the catch-up schedule need no change; only the definitions they carry are swapped.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from gh_assets.github.jobs import commits_job, daily_job
from gh_assets.publish.assets import publish_commits, publish_issues, publish_pull_requests


def _with(job: UnresolvedAssetJobDefinition, assets: list[dg.AssetsDefinition]) -> UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        job.name,
        selection=job.selection | dg.AssetSelection.assets(*assets),
        partitions_def=job.partitions_def,
        description=f"{job.description} Then the same partitions published to PostgreSQL.",
        tags=job.tags,
        run_tags=job.run_tags,
    )


def publishing_jobs(publish: bool) -> tuple[UnresolvedAssetJobDefinition, UnresolvedAssetJobDefinition]:
    """``(daily_job, commits_job)``, each with its publish assets when ``publish`` (``$GH_ASSETS_POSTGRES_DSN`` set)."""
    if not publish:
        return daily_job, commits_job
    return _with(daily_job, [publish_pull_requests, publish_issues]), _with(commits_job, [publish_commits])
