"""The Feast feature store (optional `feast` extra): the repository generated from the catalogue is applied and
materialised by the Dagster assets; online lookups return the newest rows of our feature tables, historical
lookups our point-in-time rows (no leakage); the latency of an online lookup of 1,000 keys is printed.

Skipped when feast is not installed, unless GH_ASSETS_REQUIRE_FEAST is set (as `.ci/run` does): then it fails."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from gh_assets.features.build import columns
from gh_assets.features.catalogue import ENTITIES
from gh_assets.features.config import FEATURES_CONFIG_ENV, load_features_config
from gh_assets.features.feast_repo import feast_installed, feature_store, render_repository, write_repository
from gh_assets.resources import LakeResource
from gh_assets_tests.features.test_ml_pipeline_features import REPO, T, write_marts

REQUIRE_ENV = "GH_ASSETS_REQUIRE_FEAST"  # set by .ci/run: a missing feast fails instead of skipping
FEATURES_YAML = "windows_days: [7, 28]\nin_progress_labels: [in progress, wip]\nblocked_labels: [blocked]\n"


@pytest.fixture(scope="module", autouse=True)
def _feast() -> None:
    if not feast_installed():
        message = "feast is not installed (pip install -c requirements.lock -e '.[feast]')"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{message}, and {REQUIRE_ENV} is set")
        pytest.skip(message)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Feature tables of the hand-written marts, then features/feast_registry and features/online_store as Dagster runs."""
    from gh_assets.features.assets import FEATURE_ASSETS
    from gh_assets.features.feast_assets import feast_definitions

    root = tmp_path_factory.mktemp("feast")
    data_dir = root / "data"
    data_dir.mkdir()
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        write_marts(con)
    (root / "features.yaml").write_text(FEATURES_YAML)
    mp = pytest.MonkeyPatch()
    mp.setenv(FEATURES_CONFIG_ENV, str(root / "features.yaml"))
    resources = {"duckdb": DuckDBResource(database=str(data_dir / "warehouse.duckdb")), "lake": LakeResource(data_dir=str(data_dir))}
    assets, sensors = feast_definitions()
    assert [a.key.to_user_string() for a in assets] == ["features/feast_registry", "features/online_store"]
    assert [s.name for s in sensors] == ["feast_automation_sensor"]
    with dg.instance_for_test() as instance:
        assert dg.materialize(FEATURE_ASSETS, instance=instance, resources=resources).success
        result = dg.materialize(assets, instance=instance, resources=resources, selection=dg.AssetSelection.all())
        assert result.success
        again = dg.materialize(assets, instance=instance, resources=resources)  # applying twice changes nothing
        assert again.success
    tables = {e: pl.read_parquet(data_dir / "features" / e / "part-0.parquet") for e in ENTITIES}
    yield {"repo": data_dir / "feast", "tables": tables, "config": load_features_config(root / "features.yaml"), "result": result}
    mp.undo()


def _features(entity: str, config) -> list[str]:
    return [f"{entity}:{c.name}" for c in columns(entity, config)]


def _null(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _same(a: object, b: object) -> bool:
    """Equal values; a missing value is None online and NaN in a pandas frame."""
    if _null(a) or _null(b):
        return _null(a) and _null(b)
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), abs_tol=1e-12)
    return list(a) == list(b) if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)) else a == b


def test_registry_holds_one_view_per_feature_table(store: dict) -> None:
    fs = feature_store(store["repo"])
    views = {v.name: v for v in fs.list_feature_views()}
    assert set(views) == set(ENTITIES)
    for entity, view in views.items():
        assert [f.name for f in view.features] == [c.name for c in columns(entity, store["config"])]
        assert view.ttl == timedelta(days=28)  # the longest window
        assert sorted(view.entities) == sorted(ENTITIES[entity].keys)
    meta = store["result"].asset_materializations_for_node("features__feast_registry")[0].metadata
    assert meta["feature_views"].value == sorted(ENTITIES)
    assert (store["repo"] / "features_repo.py").read_text() == render_repository(store["repo"].parent / "features", store["config"])


def test_online_features_are_the_newest_rows(store: dict) -> None:
    fs = feature_store(store["repo"])
    for entity, keys in (("contributor", [{"repository": REPO, "login": x} for x in ("ann", "bob", "cy")]), ("repo", [{"repository": REPO}])):
        table = store["tables"][entity]
        names = [c.name for c in columns(entity, store["config"])]
        online = fs.get_online_features(features=_features(entity, store["config"]), entity_rows=keys).to_dict()
        for i, key in enumerate(keys):
            newest = table.filter(*(pl.col(k) == v for k, v in key.items())).sort("event_timestamp").row(-1, named=True)
            for name in names:
                assert _same(online[name][i], newest[name]), (entity, key, name, online[name][i], newest[name])
    unknown = fs.get_online_features(features=["contributor:avg_pr_size_7d"], entity_rows=[{"repository": REPO, "login": "nobody"}]).to_dict()
    assert unknown["avg_pr_size_7d"] == [None]


def test_historical_features_are_point_in_time(store: dict) -> None:
    import pandas as pd

    fs = feature_store(store["repo"])
    table = store["tables"]["contributor"]
    bob = table.filter(pl.col("login") == "bob").sort("event_timestamp")
    names = [c.name for c in columns("contributor", store["config"]) if c.feature.kind != "list"]
    # a day after which bob's features change: asked half a day later, the earlier day's row must come back
    rows = bob.rows(named=True)
    before, after = next((a, b) for a, b in zip(rows, rows[1:]) if any(not _same(a[n], b[n]) for n in names))
    between = before["event_timestamp"] + timedelta(hours=12)
    assert after["event_timestamp"] > between
    # also at T exactly, before bob's first row, and past the TTL after his last
    first = bob["event_timestamp"][0]
    asks = [T, between, first - timedelta(hours=1), bob["event_timestamp"][-1] + timedelta(days=40)]
    entity_df = pd.DataFrame({"repository": [REPO] * len(asks), "login": ["bob"] * len(asks), "event_timestamp": pd.to_datetime(asks, utc=True)})
    got = fs.get_historical_features(entity_df=entity_df, features=[f"contributor:{n}" for n in names]).to_df()
    for ask in asks:
        found = got[got["event_timestamp"] == pd.Timestamp(ask)]
        past = bob.filter((pl.col("event_timestamp") <= ask) & (pl.col("event_timestamp") > ask - timedelta(days=28)))
        if past.is_empty():  # nothing at or before the time within the TTL: no row (Feast's file store drops it) or nulls
            assert found.empty or all(pd.isna(found.iloc[0][n]) for n in names), ask
            continue
        row = found.iloc[0]
        expected = past.row(-1, named=True)
        for n in names:
            assert _same(float(row[n]), expected[n]), (ask, n, row[n], expected[n])
    row = got[got["event_timestamp"] == pd.Timestamp(between)].iloc[0]
    assert all(_same(float(row[n]), before[n]) for n in names)
    assert any(not _same(float(row[n]), after[n]) for n in names)  # the next day's values did not leak in


def test_online_lookup_latency_for_1000_keys(tmp_path: Path) -> None:
    """1,000 contributors in the contributor view (the other views empty), materialised, then one lookup of all 1,000."""
    from gh_assets.features.config import FeaturesConfig

    config = FeaturesConfig.model_validate({"windows_days": ["7", "28"]})
    data_dir = tmp_path / "data"
    event = datetime(2025, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)
    for entity, spec in ENTITIES.items():
        n = 1000 if entity == "contributor" else 0
        frame = pl.DataFrame(
            {
                **{k: ([REPO] * n if k == "repository" else [f"user{i:04d}" for i in range(n)] if k == "login" else list(range(n))) for k in spec.keys},
                "event_timestamp": [event] * n,
                **{c.name: ([["py"]] * n if c.feature.kind == "list" else [i / 1000 for i in range(n)]) for c in columns(entity, config)},
            },
            schema={
                **{k: (pl.String if k in ("repository", "login") else pl.Int64) for k in spec.keys},
                "event_timestamp": pl.Datetime("us", "UTC"),
                **{c.name: (pl.List(pl.String) if c.feature.kind == "list" else pl.Float64) for c in columns(entity, config)},
            },
        )
        (data_dir / "features" / entity).mkdir(parents=True)
        frame.write_parquet(data_dir / "features" / entity / "part-0.parquet")
    repo = write_repository(data_dir / "feast", data_dir / "features", config)
    from gh_assets.features.feast_repo import apply

    apply(repo)
    fs = feature_store(repo)
    fs.materialize(start_date=event - timedelta(days=1), end_date=event + timedelta(seconds=1), feature_views=["contributor"])
    rows = [{"repository": REPO, "login": f"user{i:04d}"} for i in range(1000)]
    features = _features("contributor", config)
    fs.get_online_features(features=features, entity_rows=rows[:10]).to_dict()  # warm up
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        out = fs.get_online_features(features=features, entity_rows=rows).to_dict()
        timings.append(time.perf_counter() - started)
    assert out["avg_pr_size_7d"][999] == pytest.approx(0.999) and out["login"][0] == "user0000"
    print(f"\nFeast online lookup (sqlite), 1,000 keys x {len(features)} features: best {min(timings) * 1000:.0f} ms, runs {[round(t * 1000) for t in timings]} ms")
