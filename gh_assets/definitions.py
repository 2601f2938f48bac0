"""The gh_assets code location: assets, checks, jobs and sensors, bound to resources from the environment."""

from __future__ import annotations

import dagster as dg

from gh_assets.environment import build_resources
from gh_assets.github.assets import issues, raw_issue_pages
from gh_assets.github.entity_assets import RAW_ASSETS, STAGED_ASSETS
from gh_assets.github.jobs import analytics_job, issues_job
from gh_assets.github.schedules import github_catch_up_schedule
from gh_assets.github.sensors import github_commit_changes_sensor, github_issue_changes_sensor, github_repos_sensor
from gh_assets.marts.analytics import analytics_automation_sensor, analytics_marts
from gh_assets.marts.assets import ENTITY_MARTS, mart_issues
from gh_assets.metadata import catalogued
from gh_assets.retention import lake_retention_job, lake_retention_schedule


def build_defs() -> dg.Definitions:
    """The definitions with resources bound from the environment as it is now (the CLI rebuilds them per run)."""
    from gh_assets.tables.assets import table_assets  # one asset per `tables:` entry of the sources config, read now

    from gh_assets.features.assets import FEATURE_ASSETS, features_automation_sensor
    from gh_assets.features.feast_assets import feast_definitions  # features/feast_* only with the `feast` extra

    from gh_assets.publish.assets import publish_assets  # publish/* only when $GH_ASSETS_POSTGRES_DSN is set
    from gh_assets.publish.jobs import publishing_jobs
    from gh_assets.publish.sensors import publish_sensors

    publish = bool(publish_assets())
    # The same job names, with the publish assets of their partitioning added when publishing is on.
    daily, commits = publishing_jobs(publish)
    feast_assets, feast_sensors = feast_definitions()

    return dg.Definitions(
        # owners and code references on every asset (gh_assets/metadata.py)
        assets=catalogued(
            [raw_issue_pages, issues, mart_issues, *RAW_ASSETS, *STAGED_ASSETS, *ENTITY_MARTS, analytics_marts, *table_assets(), *FEATURE_ASSETS, *feast_assets, *publish_assets()]
        ),
        jobs=[issues_job, daily, commits, analytics_job, lake_retention_job],
        sensors=[
            github_repos_sensor.with_updated_jobs([daily, commits]),
            github_issue_changes_sensor.with_updated_jobs([daily]),
            github_commit_changes_sensor.with_updated_jobs([commits]),
            analytics_automation_sensor,
            features_automation_sensor,
            *feast_sensors,
            *publish_sensors(publish),
        ],
        schedules=[github_catch_up_schedule.with_updated_job(daily), lake_retention_schedule],
        resources=build_resources(),
        # Steps run in the run's own process: a subprocess per step costs seconds of start-up each, and the
        # pools serialise API and DuckDB steps anyway.
        executor=dg.in_process_executor,
    )


defs = build_defs()
