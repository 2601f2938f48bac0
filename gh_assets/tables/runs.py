"""Materialising every table source in one run (what the demo calls after the GitHub runs)."""

from __future__ import annotations

import dagster as dg


def materialise_tables(instance: dg.DagsterInstance, config: str | None = None) -> tuple[bool, list[tuple[str, str, str]], str | None]:
    """One in-process run of every ``tables/*`` asset: ``(success, checks as (asset, check, outcome), first error)``.

    Resources come from the environment as it is now (``$GH_ASSETS_DATA_DIR``, ``$GH_ASSETS_CONFIG``); a config
    with no tables is a success with no checks.
    """
    from gh_assets.cli import materialise_in_process
    from gh_assets.tables.assets import table_assets

    assets = table_assets(config)
    if not assets:
        return True, [], None
    return materialise_in_process(instance, assets)
