"""The publish assets and the postgres resource join the code location only when GH_ASSETS_POSTGRES_DSN is set."""

import dagster as dg
import pytest

from gh_assets.definitions import build_defs
from gh_assets.publish.resources import DSN_ENV

PUBLISH = ("publish/commits", "publish/pull_requests", "publish/issues")


def test_unset_dsn_leaves_the_location_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DSN_ENV, raising=False)
    defs = build_defs()
    keys = {k.to_user_string() for k in defs.get_repository_def().asset_graph.get_all_asset_keys()}
    assert not keys & set(PUBLISH)
    assert "postgres" not in (defs.resources or {})


def test_dsn_adds_partitioned_publish_assets_with_blocking_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DSN_ENV, "postgresql://u:not-in-config@127.0.0.1:1/db")
    defs = build_defs()
    dg.Definitions.validate_loadable(defs)
    graph = defs.get_repository_def().asset_graph
    for name in PUBLISH:
        node = graph.get(dg.AssetKey.from_user_string(name))
        table = name.split("/")[1]
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert node.pools == {"postgres"}
        assert dg.AssetKey(["marts", table]) in node.parent_keys
        assert node.partitions_def == graph.get(dg.AssetKey(["marts", table])).partitions_def
        (spec,) = [s for s in defs.get_assets_def(node.key).check_specs if s.name == f"{table}_published_rows"]
        assert spec.blocking
    resource = defs.resources["postgres"]
    assert isinstance(resource.dsn, dg.EnvVar) and resource.dsn == DSN_ENV  # the name is bound, never the value
