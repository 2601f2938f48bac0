"""Operating the code location from the Dagster UI in headless Chromium: graph, partitions, backfill, checks, sensor."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import polars as pl

from gh_assets.lake import Lake
from gh_assets_tests.ui.stack import REPOS, ROOT, DagsterDev, wait_for

UPDATE_ENV = "GH_ASSETS_UPDATE_SCREENSHOTS"  # set to 1 to refresh docs/images/asset-graph.png and asset-page.png
CHANGES_SENSOR = "github_issue_changes_sensor"
ASSETS = ("github/raw_issue_pages", "github/issues", "marts/issues")
ISSUES_CHECKS = 7
RUN_TIMEOUT = 300  # seconds for one launched run or backfill on a busy 2-core machine


def _backfills(dev: DagsterDev) -> list[dict[str, Any]]:
    data = dev.graphql("{ partitionBackfillsOrError(limit: 20) { ... on PartitionBackfills { results { id status } } } }")
    return data["partitionBackfillsOrError"]["results"]


def _backfill(dev: DagsterDev, backfill_id: str) -> dict[str, Any]:
    query = """query Backfill($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
        ... on PartitionBackfill { id status numPartitions partitionNames assetSelection { path } runs { runId status } }
        ... on PythonError { message } } }"""
    return dev.graphql(query, id=backfill_id)["partitionBackfillOrError"]


def _checks(dev: DagsterDev, path: list[str]) -> dict[str, str | None]:
    query = """query Checks($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) { ... on AssetNode {
        assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization { status } } } } } } }"""
    checks = dev.graphql(query, path=path)["assetNodeOrError"]["assetChecksOrError"]["checks"]
    return {c["name"]: (c["executionForLatestMaterialization"] or {}).get("status") for c in checks}


def _partition_row_counts(dev: DagsterDev, path: list[str], partitions: list[str]) -> dict[str, int | None]:
    """``dagster/row_count`` of each partition's newest materialisation, as the UI's partition view reads it."""
    query = """query Rows($path: [String!]!, $partitions: [String!]) { assetOrError(assetKey: {path: $path}) { ... on Asset {
        assetMaterializations(partitions: $partitions) { partition metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }"""
    out: dict[str, int | None] = {}
    for event in dev.graphql(query, path=path, partitions=partitions)["assetOrError"]["assetMaterializations"]:
        rows = next((e["intValue"] for e in event["metadataEntries"] if e["label"] == "dagster/row_count"), None)
        out.setdefault(event["partition"], rows)  # newest first
    return out


def _sensor_state(dev: DagsterDev, name: str) -> dict[str, Any]:
    query = """query Sensor($sel: SensorSelector!) { sensorOrError(sensorSelector: $sel) { ... on Sensor { sensorState {
        status typeSpecificData { ... on SensorData { lastCursor } } ticks(limit: 10) { status runIds } } } } }"""
    selector = {"repositoryLocationName": "gh_assets", "repositoryName": "__repository__", "sensorName": name}
    return dev.graphql(query, sel=selector)["sensorOrError"]["sensorState"]


def _new_runs(dev: DagsterDev, seen: set[str], **tags: str) -> list[dict[str, Any]]:
    return [r for r in dev.runs(tags or None) if r["runId"] not in seen]


def _wait_succeeded(dev: DagsterDev, what: str, run_ids: list[str]) -> None:
    def done() -> bool:
        status = {r["runId"]: r["status"] for r in dev.runs() if r["runId"] in run_ids}
        bad = [rid for rid, s in status.items() if s in ("FAILURE", "CANCELED")]
        assert not bad, f"{what}: run {bad[0]} failed; see {dev.url}/runs/{bad[0]} and {dev.log}"
        return len(status) == len(run_ids) and all(s == "SUCCESS" for s in status.values())

    wait_for(what, done, RUN_TIMEOUT, interval=2)


def _finished_steps(dev: DagsterDev, run_id: str) -> dict[str, str] | None:
    """Step key -> status of a finished run (None while it runs)."""
    query = """query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status stepStats { stepKey status } } } }"""
    run = dev.graphql(query, id=run_id)["runOrError"]
    if run["status"] not in ("SUCCESS", "FAILURE", "CANCELED"):
        return None
    return {s["stepKey"]: s["status"] for s in run["stepStats"]}


def _partition_dialog(page: Any, dates: str, repo: str) -> Any:
    """Fill the launch dialog's partition picker: a date (or `[a...b]` range) and one repository."""
    dialog = page.get_by_role("dialog").filter(has_text="Partition selection")
    dialog.get_by_text("Partition selection").wait_for()
    date_input = dialog.get_by_placeholder(re.compile("^ex: "))
    date_input.fill(dates)
    date_input.press("Enter")
    dialog.get_by_text("Select a partition or create one").click()
    popover = page.get_by_role("dialog").filter(has=page.get_by_placeholder("Filter partitions"))
    popover.get_by_text(repo, exact=True).first.click()
    dialog.get_by_text("Launch runs to materialize").click()  # close the repository popover
    return dialog


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_operate_from_the_ui(dev: DagsterDev, browser: Any, screenshots: Path) -> None:
    # The running config sensor adds both repository partitions and first-loads them (a week each, every entity:
    # several runs per repository, queued behind the pools on a busy machine).
    dev.wait_for_runs("the first loads of github_repos_sensor", {"gh_assets/reason": "first-load"}, len(REPOS), 3 * RUN_TIMEOUT)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(60_000)
    step = "start"
    try:
        # 1. The asset graph shows the three assets, with every group expanded.
        step = "asset graph"
        page.goto(f"{dev.url}/asset-groups")
        page.get_by_role("button", name=re.compile("Materialize all")).wait_for()
        page.locator("button", has=page.get_by_role("img", name="settings", exact=True)).last.click()
        page.get_by_role("menuitem", name=re.compile("Expand all groups")).click()
        page.keyboard.press("Escape")
        for name in ("github", "marts", "raw_issue_pages"):
            page.get_by_text(name, exact=True).first.wait_for()
        wait_for("github/issues and marts/issues in the graph", lambda: page.get_by_text("issues", exact=True).count() >= 2, 30)
        page.screenshot(path=screenshots / "asset-graph.png")
        if os.environ.get(UPDATE_ENV) == "1":
            target = ROOT / "docs" / "images" / "asset-graph.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(screenshots / "asset-graph.png", target)

        # 2. One partition of github/raw_issue_pages from its partitions page: Materialize… -> picker -> 1 run.
        step = "materialise one partition"
        day = (dev.today - timedelta(days=2)).isoformat()
        seen = {r["runId"] for r in dev.runs()}
        page.goto(f"{dev.url}/assets/github/raw_issue_pages?view=partitions")
        page.get_by_role("button", name=re.compile("Materialize…")).first.click()
        dialog = _partition_dialog(page, day, REPOS[0])
        dialog.get_by_role("button", name="Launch 1 run").click()
        runs = wait_for("the UI-launched run", lambda: _new_runs(dev, seen), 60)
        assert len(runs) == 1, runs
        tags = {t["key"]: t["value"] for t in runs[0]["tags"]}
        assert tags.get("dagster/partition") == f"{day}|{REPOS[0]}", tags
        assert [a["path"] for a in runs[0]["assetSelection"]] == [["github", "raw_issue_pages"]]
        _wait_succeeded(dev, "the single-partition run", [runs[0]["runId"]])
        page.goto(f"{dev.url}/runs/{runs[0]['runId']}")
        page.get_by_text("RUN_SUCCESS").first.wait_for()
        page.screenshot(path=screenshots / "run.png")

        # 3. A backfill of the three issue assets over four days of the second repository, from the job's graph.
        step = "backfill"
        start, end = dev.first_day + timedelta(days=1), dev.first_day + timedelta(days=4)
        before = {b["id"] for b in _backfills(dev)}
        page.goto(f"{dev.url}/locations/gh_assets/jobs/github_issues_job")
        page.get_by_role("button", name=re.compile("Materialize all")).click()
        dialog = _partition_dialog(page, f"[{start.isoformat()}...{end.isoformat()}]", REPOS[1])
        dialog.get_by_text("4 partitions").wait_for()
        dialog.get_by_role("button", name="Launch backfill").click()
        backfill_id = wait_for("the backfill", lambda: [b["id"] for b in _backfills(dev) if b["id"] not in before], 60)[0]

        def backfill_done() -> dict[str, Any] | None:
            backfill = _backfill(dev, backfill_id)
            assert backfill["status"] not in ("FAILED", "COMPLETED_FAILED", "CANCELED"), backfill
            return backfill if backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS") else None

        backfill = wait_for(f"backfill {backfill_id}", backfill_done, RUN_TIMEOUT, interval=2)
        assert backfill["numPartitions"] == 4, backfill
        assert sorted(map(tuple, (a["path"] for a in backfill["assetSelection"]))) == sorted(tuple(k.split("/")) for k in ASSETS)
        assert [r["status"] for r in backfill["runs"]] == ["SUCCESS"], "a single-run backfill policy gives one run"
        page.goto(f"{dev.url}/runs/b/{backfill_id}")
        page.get_by_text(backfill_id).first.wait_for()
        page.get_by_text("Succeeded", exact=True).first.wait_for()
        page.screenshot(path=screenshots / "backfill.png")
        page.goto(f"{dev.url}/assets/github/raw_issue_pages?view=partitions")
        page.get_by_text(re.compile(r"Materialized \(\d+\)")).wait_for()
        page.screenshot(path=screenshots / "partitions.png")

        # 3b. Each backfilled day carries its own row count (not the run's total), and the asset page shows
        # Dagster's standard metadata: "Row count" and the "Columns" of the Pandera model.
        step = "asset page"
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        lake = Lake(dev.data_dir / "lake")
        staged = {f"{d.isoformat()}|{REPOS[1]}": pl.read_parquet(lake.parquet_path("staged", "issues", REPOS[1], d)).height for d in days}
        assert _partition_row_counts(dev, ["github", "issues"], list(staged)) == staged
        page.goto(f"{dev.url}/assets/github/issues")
        page.get_by_text("Row count", exact=True).first.wait_for()
        page.get_by_text("Columns", exact=True).first.wait_for()
        page.get_by_text("partition_date", exact=True).first.wait_for()
        page.screenshot(path=screenshots / "asset-page.png", full_page=True)
        if os.environ.get(UPDATE_ENV) == "1":
            shutil.copy(screenshots / "asset-page.png", ROOT / "docs" / "images" / "asset-page.png")

        # 4. The checks of github/issues passed, in the UI and in GraphQL.
        step = "asset checks"
        checks = _checks(dev, ["github", "issues"])
        assert len(checks) == ISSUES_CHECKS and set(checks.values()) == {"SUCCEEDED"}, checks
        page.goto(f"{dev.url}/assets/github/issues?view=checks")
        page.get_by_text(f"Checks ({ISSUES_CHECKS})").wait_for()
        for name in checks:
            page.get_by_text(name, exact=True).first.wait_for()
        wait_for("every check to show Succeeded", lambda: page.get_by_text("Succeeded", exact=True).count() == ISSUES_CHECKS, 30)
        page.get_by_text("Passed", exact=True).first.wait_for()
        page.screenshot(path=screenshots / "checks.png")

        # 5. The change sensor: a previewed tick's cursor committed from the UI, the emulator changed, the sensor
        # switched on. Its first tick then sees the change and launches a run. (Without the committed cursor the
        # first tick only records the ETags, and the next one is minimum_interval_seconds = 300 s away.)
        step = "change sensor"
        page.goto(f"{dev.url}/locations/gh_assets/sensors/{CHANGES_SENSOR}")
        page.get_by_role("button", name=re.compile("Preview tick result")).click()
        page.get_by_role("dialog").get_by_role("button", name="Continue").click()
        page.get_by_text("Computed cursor value").wait_for()
        page.get_by_role("button", name="Commit tick result").click()
        cursor = wait_for("the committed cursor", lambda: _sensor_state(dev, CHANGES_SENSOR)["typeSpecificData"]["lastCursor"], 60)
        assert sorted(json.loads(cursor)) == sorted(REPOS), cursor
        seen = {r["runId"] for r in dev.runs()}
        touched = dev.emulator.mutate(REPOS[0], update=3, add=1)
        assert len(touched) == 4, touched
        page.reload()
        switch = page.locator("tr", has=page.get_by_text("Running", exact=True)).locator("input[type=checkbox]")
        switch.wait_for(state="attached")
        assert not switch.is_checked()
        page.locator("tr", has=page.get_by_text("Running", exact=True)).locator("label").click()
        wait_for("the sensor to be running", lambda: _sensor_state(dev, CHANGES_SENSOR)["status"] == "RUNNING", 30)
        sensor_runs = wait_for(
            "a run launched by the change sensor",
            lambda: _new_runs(dev, seen, **{"dagster/sensor_name": CHANGES_SENSOR}),
            RUN_TIMEOUT,
            interval=2,
        )
        tags = {t["key"]: t["value"] for t in sensor_runs[0]["tags"]}
        assert tags.get("gh_assets/reason") == "changed" and REPOS[0] in tags["dagster/asset_partition_range_end"], tags
        # The sensor's job may cover more entities than issues; the issue steps must have succeeded.
        steps = wait_for("the change sensor's run to finish", lambda: _finished_steps(dev, sensor_runs[0]["runId"]), RUN_TIMEOUT, 2)
        issue_steps = {k: v for k, v in steps.items() if k in ("github__raw_issue_pages", "github__issues", "marts__issues")}
        assert issue_steps and set(issue_steps.values()) == {"SUCCESS"}, f"steps of {sensor_runs[0]['runId']}: {steps}; see {dev.log}"
        page.goto(f"{dev.url}/locations/gh_assets/sensors/{CHANGES_SENSOR}")
        page.get_by_role("button", name="Runs", exact=True).click()
        page.get_by_text(sensor_runs[0]["runId"][:8]).first.wait_for()
        page.screenshot(path=screenshots / "sensor.png")
    except Exception as exc:
        page.screenshot(path=screenshots / "failure.png")
        (screenshots / "failure.html").write_text(page.content())
        raise AssertionError(f"UI flow failed at step {step!r}; screenshots and page HTML in {screenshots}; dagster log {dev.log}") from exc
    finally:
        page.close()
        print(f"screenshots: {screenshots}")
