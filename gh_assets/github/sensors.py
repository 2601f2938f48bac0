"""Sensors of the GitHub source: repository partitions follow the sources config; changes are polled with ETags.

One conditional request per repository on ``/issues`` covers issues, pull requests and comments: GitHub
bumps an issue's ``updated_at`` when its PR or its comments change, so the daily job re-run for the changed
days picks all of them up.
"""


import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from gh_assets.config import SourcesConfig, repo_key
from gh_assets.github import errors
from gh_assets.github.client import GitHubClient, Response
from gh_assets.github.jobs import commits_job, daily_job
from gh_assets.github.orgs import expand
from gh_assets.github.partitions import FIRST_DAY, REPOS_PARTITION, month_range_tags, range_tags, repo_partitions
from gh_assets.github.repos import RepositoryNotFound, canonical_name, unique_repos
from gh_assets.github.resources import GitHubResource, SourcesResource


def commit_start(config: SourcesConfig, repo: str, today: date) -> date:
    """First month of a first load's commits: the repo's start, or ``commit_history_months`` back if later."""
    months = config.github.commit_history_months
    index = today.year * 12 + today.month - 1 - months
    floor = date(index // 12, index % 12 + 1, 1)
    return max(config.repo_start(repo), floor).replace(day=1)


def plan_repo_sync(
    config: SourcesConfig, existing: list[str], today: datetime, spelling: Mapping[str, str] | None = None
) -> dg.SensorResult:
    """Partitions to add and remove, and the first loads of each new repository.

    A first load is two runs: the day-partitioned entities (issues, pull requests with reviews and files,
    comments) from the repo's start to today, and its commits over the last ``commit_history_months``.
    ``config`` lists repositories by name (expand its orgs first: :func:`gh_assets.github.orgs.expand`).
    Names compare case-insensitively (an existing partition in another spelling is kept, not duplicated);
    ``spelling`` maps :func:`~gh_assets.config.repo_key` to GitHub's canonical name for the new ones.
    """
    wanted_keys = {repo_key(r) for r in config.repo_names}
    existing_keys = {repo_key(r) for r in existing}
    added = [repo for repo in unique_repos(config.repo_names, spelling) if repo_key(repo) not in existing_keys]
    removed = [repo for repo in existing if repo_key(repo) not in wanted_keys]
    requests = []
    end = today.date()
    for repo in added:
        start = config.repo_start(repo)
        if start > end:
            continue
        clamped = {}
        if start < FIRST_DAY:  # the config moved earlier after the definitions loaded: reload the code location for the rest
            clamped = {"gh_assets/start_before_partitions": f"{start} (config) is before the first partition day {FIRST_DAY}"}
            start = FIRST_DAY
        months_from = max(commit_start(config, repo, end), FIRST_DAY.replace(day=1))
        requests += [
            dg.RunRequest(
                job_name=daily_job.name,
                # The run key makes a repeated tick harmless: the same repo and start never launch twice.
                run_key=f"first-load:{repo}:{start.isoformat()}",
                tags={**range_tags(repo, start, end), "gh_assets/reason": "first-load", **clamped},
            ),
            dg.RunRequest(
                job_name=commits_job.name,
                run_key=f"first-load-commits:{repo}:{months_from.isoformat()}",
                tags={**month_range_tags(repo, months_from, end), "gh_assets/reason": "first-load"},
            ),
        ]
    partition_requests = []
    if added:
        partition_requests.append(repo_partitions.build_add_request(added))
    if removed:
        partition_requests.append(repo_partitions.build_delete_request(removed))
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=partition_requests)


def apply_partition_requests(instance: dg.DagsterInstance, result: dg.SensorResult) -> tuple[list[str], list[str]]:
    """Carry out a sync's partition requests directly (the CLI's `repos sync`; a daemon does it for the sensor)."""
    added: list[str] = []
    removed: list[str] = []
    for request in result.dynamic_partitions_requests or []:
        keys = list(request.partition_keys)
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(REPOS_PARTITION, keys)
            added += keys
        else:
            for key in keys:
                instance.delete_dynamic_partition(REPOS_PARTITION, key)
            removed += keys
    return added, removed


def canonical_spellings(github: GitHubResource, repos: list[str], log: logging.Logger | dg.DagsterLogManager) -> dict[str, str]:
    """``repo_key -> full_name`` of the new repositories (one request each); a failure keeps the config's spelling.

    A configured repository that answers 404 is still added (it is configured: its runs fail and say why).
    """
    if not repos:
        return {}
    out: dict[str, str] = {}
    # One attempt each, no waiting: a spelling is a nicety, the tick must not hang on an unreachable API.
    quick = GitHubClient(github.api_url, github.token, tokens=[t.strip() for t in (github.tokens or "").split(",") if t.strip()],
                         timeout=10.0, max_attempts=1, max_retry_seconds=10.0, max_rate_limit_wait=0.0)
    with quick as client:
        for repo in repos:
            try:
                out[repo_key(repo)] = canonical_name(client, repo)
            except RepositoryNotFound as exc:
                log.warning(f"{repo}: {exc}. It is in the sources config, so its partition is added anyway.")
            except errors.GitHubError as exc:
                log.warning(f"{repo}: could not ask GitHub for its canonical spelling ({type(exc).__name__}); using the config's")
    return out


@dg.sensor(
    name="github_repos_sensor",
    jobs=[daily_job, commits_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds and removes repository partitions as the sources config changes; first-loads new repositories.",
)
def github_repos_sensor(context: dg.SensorEvaluationContext, sources: SourcesResource, github: GitHubResource) -> dg.SensorResult:
    config = sources.load()  # a bad config raises with the file and field: the tick shows the error
    listed = config.repo_names  # org repositories come with GitHub's spelling; listed ones are looked up when new
    if config.github.orgs:
        with github.client() as client:
            config = expand(client, config)  # one listing per org; a failure fails the tick, changing nothing
    existing = list(context.instance.get_dynamic_partitions(REPOS_PARTITION))
    known = {repo_key(e) for e in existing}
    spelling = canonical_spellings(github, [r for r in listed if repo_key(r) not in known], context.log)
    result = plan_repo_sync(config, existing, datetime.now(tz=UTC), spelling)
    added = [r for req in result.dynamic_partitions_requests or [] if isinstance(req, dg.AddDynamicPartitionsRequest) for r in req.partition_keys]
    if added:
        context.log.info(f"adding repository partitions: {', '.join(added)}")
    return result


@dataclass(frozen=True)
class ChangeFeed:
    """What a change sensor polls: the newest item of one list per repository, and the run a change calls for."""

    path: str  # "/repos/{repo}/issues"
    params: dict[str, str | int]
    newest: Callable[[dict[str, Any]], str]  # the item's timestamp that moves when the list changes
    tags: Callable[[str, date, date], dict[str, str]]  # range tags of the run covering [previous, newest]


ISSUE_CHANGES = ChangeFeed(
    "/repos/{repo}/issues",
    {"state": "all", "sort": "updated", "direction": "desc", "per_page": 1},
    lambda item: item["updated_at"],
    range_tags,
)
COMMIT_CHANGES = ChangeFeed(
    "/repos/{repo}/commits", {"per_page": 1}, lambda item: item["commit"]["committer"]["date"], month_range_tags
)


def _poll_one(client: GitHubClient, feed: ChangeFeed, repo: str, state: dict[str, str]) -> tuple[str, Response | None]:
    try:
        return repo, client.get(feed.path.format(repo=repo), feed.params, etag=state.get("etag"))
    except errors.GitHubError:
        return repo, None


def poll_changes(
    client: GitHubClient, repos: list[str], cursor: dict[str, dict[str, str]], *, feed: ChangeFeed = ISSUE_CHANGES, concurrency: int = 8
) -> tuple[list[dg.RunRequest], list[str]]:
    """One conditional request per repository for the newest item of ``feed`` (issues by default).

    A 304 (the stored ETag still matches) means nothing changed and costs no rate limit. Otherwise the
    partitions from the cursor's high-water timestamp to the newest one are re-materialised in one run, and
    the cursor moves on. A repository seen for the first time is only recorded: its first load comes from
    the config sensor. Requests go out ``concurrency`` at a time (the client's shared budget still applies),
    so a tick over hundreds of repositories stays well inside the sensor's time limit. Returns the run
    requests and the repositories that failed (the others go on).
    """
    requests: list[dg.RunRequest] = []
    failed: list[str] = []
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        answers = list(pool.map(lambda repo: _poll_one(client, feed, repo, cursor.get(repo, {})), repos))
    for repo, response in answers:
        state = cursor.get(repo, {})
        if response is None:
            failed.append(repo)
            continue
        if response.not_modified:
            continue
        newest = feed.newest(response.data[0]) if response.data else None
        cursor[repo] = {"etag": response.etag or "", "updated_at": newest or state.get("updated_at", "")}
        previous = state.get("updated_at")
        if not newest or not previous or newest <= previous:
            continue
        start, end = date.fromisoformat(previous[:10]), date.fromisoformat(newest[:10])
        requests.append(
            dg.RunRequest(
                run_key=f"changes:{repo}:{newest}",  # a repeated tick for the same change launches nothing new
                tags={**feed.tags(repo, start, end), "gh_assets/reason": "changed"},
            )
        )
    return requests, failed


def _tick(context: dg.SensorEvaluationContext, github: GitHubResource, feed: ChangeFeed) -> dg.SensorResult:
    cursor: dict[str, dict[str, str]] = json.loads(context.cursor) if context.cursor else {}
    repos = sorted(context.instance.get_dynamic_partitions(REPOS_PARTITION))
    for gone in set(cursor) - set(repos):
        del cursor[gone]
    with github.client() as client:
        requests, failed = poll_changes(client, repos, cursor, feed=feed)
        stats = client.stats.as_metadata()
    if failed:
        context.log.warning(f"could not poll {len(failed)} repositories: {', '.join(failed[:10])}")
    context.log.info(f"polled {len(repos)} repositories: {stats['requests']} requests, {stats['not_modified']} unchanged (304)")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))


@dg.sensor(
    name="github_issue_changes_sensor",
    job=daily_job,
    minimum_interval_seconds=300,
    description="Per repository, a conditional request (ETag in the cursor) for the newest updated issue; re-runs the "
    "days that changed (issues, pull requests with reviews and files, comments).",
)
def github_issue_changes_sensor(context: dg.SensorEvaluationContext, github: GitHubResource) -> dg.SensorResult:
    return _tick(context, github, ISSUE_CHANGES)


@dg.sensor(
    name="github_commit_changes_sensor",
    job=commits_job,
    minimum_interval_seconds=900,
    description="Per repository, a conditional request (ETag in the cursor) for the newest commit; re-runs the months that changed.",
)
def github_commit_changes_sensor(context: dg.SensorEvaluationContext, github: GitHubResource) -> dg.SensorResult:
    return _tick(context, github, COMMIT_CHANGES)
