"""Materialising every table source in one run (what the demo calls after the GitHub runs)."""

from __future__ import annotations

import os

import dagster as dg


def materialise_tables(instance: dg.DagsterInstance, config: str | None = None) -> tuple[bool, list[tuple[str, str, str]], str | None]:
    """One in-process run of every ``tables/*`` asset: ``(success, checks as (asset, check, outcome), first error)``.

    Resources come from the environment as it is now (``$GH_ASSETS_DATA_DIR``, ``$GH_ASSETS_CONFIG``); a config
    with no tables is a success with no checks.
    """
    from gh_assets.environment import build_resources
    from gh_assets.tables.assets import table_assets

    assets = table_assets(config)
    if not assets:
        return True, [], None
    result = dg.materialize(
        assets,
        instance=instance,
        resources=build_resources(),
        tags={"gh_assets/launched_by": "cli"},
        run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("GH_ASSETS_LOG_LEVEL", "WARNING")}}}},
        raise_on_error=False,
    )
    from gh_assets.cli import outcome_of

    return outcome_of(result)
