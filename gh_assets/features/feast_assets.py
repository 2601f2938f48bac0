"""The Feast feature store of the feature tables: ``features/feast_registry`` and ``features/online_store``.

Defined only when the optional ``feast`` extra is installed (``pip install -e '.[feast]'``). The registry asset
writes the repository generated from the catalogue (:mod:`gh_assets.features.feast_repo`) and applies it; the
online-store asset materialises the newest row of every key into SQLite. Both follow the feature tables through
the same eager automation condition, evaluated by ``feast_automation_sensor``.
"""


import time
from pathlib import Path

import dagster as dg
import polars as pl

from gh_assets.features.assets import AUTOMATION, FEATURE_KEYS, FeaturesRunConfig
from gh_assets.features.catalogue import ENTITIES
from gh_assets.features.config import FeaturesConfigError, load_features_config
from gh_assets.features.feast_repo import apply, feast_installed, materialise, window_of, write_repository
from gh_assets.resources import LakeResource

FEAST_REGISTRY = dg.AssetKey(["features", "feast_registry"])
ONLINE_STORE = dg.AssetKey(["features", "online_store"])


def feast_dir(lake: LakeResource) -> Path:
    return Path(lake.data_dir) / "feast"


def offline_dir(lake: LakeResource) -> Path:
    return Path(lake.data_dir) / "features"


@dg.asset(
    key=FEAST_REGISTRY,
    deps=FEATURE_KEYS,
    group_name="features",
    kinds={"feast", "python"},
    automation_condition=AUTOMATION,
    description="The Feast repository generated from the feature catalogue (<data>/feast), applied to its registry: one feature view per feature table.",
)
def feast_registry(config: FeaturesRunConfig, lake: LakeResource) -> dg.MaterializeResult:
    started = time.monotonic()
    try:
        settings = load_features_config(config.config_path)
    except FeaturesConfigError as exc:
        raise dg.Failure(description=str(exc)) from None
    repo = write_repository(feast_dir(lake), offline_dir(lake), settings)
    applied = apply(repo)
    return dg.MaterializeResult(
        metadata={
            "repo_path": dg.MetadataValue.path(str(repo)),
            "entities": dg.MetadataValue.json(applied.entities),
            "feature_views": dg.MetadataValue.json(applied.feature_views),
            "features": applied.features,
            "duration_seconds": round(time.monotonic() - started, 3),
        }
    )


@dg.asset(
    key=ONLINE_STORE,
    deps=[FEAST_REGISTRY, *FEATURE_KEYS],
    group_name="features",
    kinds={"feast", "sqlite"},
    automation_condition=AUTOMATION,
    description="The newest feature row of every entity key, materialised from the offline store into Feast's SQLite online store.",
)
def online_store(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    started = time.monotonic()
    repo = feast_dir(lake)
    stamps: list = []
    rows = 0
    for entity in ENTITIES:
        path = offline_dir(lake) / entity / "part-0.parquet"
        if path.exists():
            frame = pl.read_parquet(path, columns=["event_timestamp"])
            rows += frame.height
            stamps += [frame["event_timestamp"].min(), frame["event_timestamp"].max()] if frame.height else []
    window = window_of([s for s in stamps if s is not None])
    if window is not None:
        materialise(repo, *window)
    else:
        context.log.info("the feature tables hold no row yet: nothing to materialise")
    return dg.MaterializeResult(
        metadata={
            "offline_rows": rows,
            "first_event_timestamp": window[0].isoformat() if window else "",
            "last_event_timestamp": window[1].isoformat() if window else "",
            "online_store": dg.MetadataValue.path(str(repo / "online_store.db")),
            "duration_seconds": round(time.monotonic() - started, 3),
        }
    )


feast_automation_sensor = dg.AutomationConditionSensorDefinition(
    "feast_automation_sensor",
    target=dg.AssetSelection.assets(FEAST_REGISTRY, ONLINE_STORE),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Applies the Feast registry and refreshes the online store after the feature tables change.",
)


def feast_definitions() -> tuple[list[dg.AssetsDefinition], list[dg.AutomationConditionSensorDefinition]]:
    """The Feast assets and their sensor when the ``feast`` extra is installed; nothing otherwise."""
    if not feast_installed():
        return [], []
    return [feast_registry, online_store], [feast_automation_sensor]
