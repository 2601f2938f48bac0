"""Jobs over the GitHub assets: one per partitioning (repository x day, repository x month) plus analytics."""

from __future__ import annotations

import dagster as dg

from gh_assets.github.assets import ISSUES, RAW_ISSUE_PAGES
from gh_assets.github.entity_assets import RAW_ASSETS, STAGED_ASSETS
from gh_assets.github.partitions import repo_day_partitions, repo_month_partitions
from gh_assets.marts.analytics import ANALYTICS_KEYS
from gh_assets.marts.assets import ENTITY_MARTS, MART_ISSUES

issues_job = dg.define_asset_job(
    "github_issues_job",
    selection=dg.AssetSelection.assets(RAW_ISSUE_PAGES, ISSUES, MART_ISSUES),
    partitions_def=repo_day_partitions,
    description="Raw issue pages -> staged issues -> marts.issues for a repository and a range of days.",
)

_ENTITY_KEYS = [k for a in (*RAW_ASSETS, *STAGED_ASSETS, *ENTITY_MARTS) for k in a.keys]
_DAILY = dg.AssetSelection.assets(RAW_ISSUE_PAGES, ISSUES, MART_ISSUES, *_ENTITY_KEYS) - dg.AssetSelection.assets(
    *(k for k in _ENTITY_KEYS if "commit" in k.path[-1])
)

daily_job = dg.define_asset_job(
    "github_daily_job",
    selection=_DAILY,
    partitions_def=repo_day_partitions,
    description="Issues, pull requests (with reviews and files) and comments: raw pages -> staged -> marts, per repository and range of days.",
)

commits_job = dg.define_asset_job(
    "github_commits_job",
    selection=dg.AssetSelection.assets(*(k for k in _ENTITY_KEYS if "commit" in k.path[-1])),
    partitions_def=repo_month_partitions,
    description="Commits: raw pages -> staged -> marts.commits, per repository and range of months.",
)

analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=dg.AssetSelection.assets(*ANALYTICS_KEYS),
    description="Rebuild the analytics marts from the entity marts.",
)

ENTITY_CHOICES = ("issues", "pulls", "reviews", "files", "comments", "commits")
_RAW_PULLS = ["github/raw_pull_pages"]
_RAW_DETAILS = [*_RAW_PULLS, "github/raw_review_pages", "github/raw_pr_file_pages", "github/raw_pr_detail_pages"]
_ENTITY_ASSETS = {
    "issues": ["github/raw_issue_pages", "github/issues", "marts/issues"],
    "pulls": [*_RAW_PULLS, "github/pull_requests", "marts/pull_requests"],
    "reviews": [*_RAW_DETAILS, "github/reviews", "marts/reviews"],  # reviews are fetched for the PRs listed
    "files": [*_RAW_DETAILS, "github/pr_files", "marts/pr_files"],
    "comments": ["github/raw_issue_comment_pages", "github/issue_comments", "marts/issue_comments"],
    "commits": ["github/raw_commit_pages", "github/commits", "marts/commits"],
}


def entity_selection(entities: list[str], *, replay: bool = False) -> tuple[list[dg.AssetKey], list[dg.AssetKey]]:
    """The day-partitioned and month-partitioned asset keys that materialise ``entities``.

    ``replay`` leaves out the raw assets: staged tables and marts are rebuilt from the stored pages alone.
    """
    unknown = sorted(set(entities) - set(ENTITY_CHOICES))
    if unknown:
        raise ValueError(f"unknown entities {unknown}; choose from {', '.join(ENTITY_CHOICES)}")
    daily: list[dg.AssetKey] = []
    monthly: list[dg.AssetKey] = []
    for entity in ENTITY_CHOICES:
        if entity not in entities:
            continue
        for path in _ENTITY_ASSETS[entity]:
            key = dg.AssetKey.from_user_string(path)
            if replay and key.path[-1].startswith("raw_"):
                continue
            target = monthly if entity == "commits" else daily
            if key not in target:
                target.append(key)
    return daily, monthly
