"""Schedules of the GitHub source."""

from datetime import timedelta

import dagster as dg

from gh_assets.github.jobs import daily_job
from gh_assets.github.partitions import REPOS_PARTITION, range_tags


@dg.schedule(
    name="github_catch_up_schedule",
    job=daily_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    description="Once a day, re-materialise yesterday's partition (issues, pull requests, reviews, files, comments) of every repository to catch late edits.",
)
def github_catch_up_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).date()
    repos = sorted(context.instance.get_dynamic_partitions(REPOS_PARTITION))
    return [
        dg.RunRequest(run_key=f"catch-up:{repo}:{yesterday.isoformat()}", tags={**range_tags(repo, yesterday, yesterday), "gh_assets/reason": "catch-up"})
        for repo in repos
    ]
