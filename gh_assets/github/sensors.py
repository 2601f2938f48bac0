"""Sensors of the GitHub source: keep the repository partitions in step with the sources config."""


from datetime import UTC, datetime

import dagster as dg

from gh_assets.config import SourcesConfig
from gh_assets.github.jobs import issues_job
from gh_assets.github.partitions import REPOS_PARTITION, range_tags, repo_partitions
from gh_assets.github.resources import SourcesResource


def plan_repo_sync(config: SourcesConfig, existing: list[str], today: datetime) -> dg.SensorResult:
    """Partitions to add and remove, and one first-load run per new repository (its start date to today)."""
    wanted = config.repo_names
    added = [repo for repo in wanted if repo not in existing]
    removed = [repo for repo in existing if repo not in wanted]
    requests = []
    for repo in added:
        start = config.repo_start(repo)
        end = today.date()
        if start > end:
            continue
        requests.append(
            dg.RunRequest(
                # The run key makes a repeated tick harmless: the same repo and start never launch twice.
                run_key=f"first-load:{repo}:{start.isoformat()}",
                tags={**range_tags(repo, start, end), "gh_assets/reason": "first-load"},
            )
        )
    partition_requests = []
    if added:
        partition_requests.append(repo_partitions.build_add_request(added))
    if removed:
        partition_requests.append(repo_partitions.build_delete_request(removed))
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=partition_requests)


@dg.sensor(
    name="github_repos_sensor",
    job=issues_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds and removes repository partitions as the sources config changes; first-loads new repositories.",
)
def github_repos_sensor(context: dg.SensorEvaluationContext, sources: SourcesResource) -> dg.SensorResult:
    config = sources.load()  # a bad config raises with the file and field: the tick shows the error
    existing = list(context.instance.get_dynamic_partitions(REPOS_PARTITION))
    result = plan_repo_sync(config, existing, datetime.now(tz=UTC))
    added = [r for req in result.dynamic_partitions_requests or [] if isinstance(req, dg.AddDynamicPartitionsRequest) for r in req.partition_keys]
    if added:
        context.log.info(f"adding repository partitions: {', '.join(added)}")
    return result
