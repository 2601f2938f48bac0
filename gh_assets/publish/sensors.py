"""The automation sensor of the publish assets: it publishes a partition once its mart has new data."""

from __future__ import annotations

import dagster as dg

from gh_assets.publish.assets import PUBLISH_ASSETS

publish_automation_sensor = dg.AutomationConditionSensorDefinition(
    "publish_automation_sensor",
    target=dg.AssetSelection.assets(*PUBLISH_ASSETS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Publishes to PostgreSQL the partitions of marts.commits, marts.pull_requests and marts.issues that changed.",
)


def publish_sensors(publish: bool) -> list[dg.AutomationConditionSensorDefinition]:
    """The sensor when publishing is on (``$GH_ASSETS_POSTGRES_DSN`` set); none otherwise."""
    return [publish_automation_sensor] if publish else []
