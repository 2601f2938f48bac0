"""Jobs over the GitHub assets."""

from __future__ import annotations

import dagster as dg

from gh_assets.github.assets import ISSUES, RAW_ISSUE_PAGES
from gh_assets.github.partitions import repo_day_partitions
from gh_assets.marts.assets import MART_ISSUES

issues_job = dg.define_asset_job(
    "github_issues_job",
    selection=dg.AssetSelection.assets(RAW_ISSUE_PAGES, ISSUES, MART_ISSUES),
    partitions_def=repo_day_partitions,
    description="Raw issue pages -> staged issues -> marts.issues for a repository and a range of days.",
)
