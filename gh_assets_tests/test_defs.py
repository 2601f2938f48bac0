"""The code location loads: every asset, check, job and sensor resolves with the environment's resources."""

import dagster as dg

from gh_assets.definitions import defs


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {"github/raw_issue_pages", "github/issues", "marts/issues"} <= keys
    assert defs.resolve_job_def("github_issues_job") is not None
    assert defs.resolve_sensor_def("github_repos_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_sensor_def("github_issue_changes_sensor") is not None
    checks = {(k.asset_key.to_user_string(), k.name) for k in repo.asset_graph.asset_check_keys}
    assert ("github/issues", "issues_schema") in checks
    assert ("marts/issues", "issues_reconciled") in checks


def test_ingestion_assets_are_single_run_backfills() -> None:
    repo = defs.get_repository_def()
    for key in ("github/raw_issue_pages", "github/issues", "marts/issues"):
        node = repo.asset_graph.get(dg.AssetKey.from_user_string(key))
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key


def test_staged_issues_and_mart_carry_freshness_policies() -> None:
    repo = defs.get_repository_def()
    for key in ("github/issues", "marts/issues"):
        policy = repo.asset_graph.get(dg.AssetKey.from_user_string(key)).freshness_policy
        assert policy is not None, key
        assert policy.warn_window.to_timedelta().total_seconds() == 24 * 3600
        assert policy.fail_window.to_timedelta().total_seconds() == 48 * 3600
