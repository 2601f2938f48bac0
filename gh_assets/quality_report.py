"""The quality report: every asset check's latest results, read from the Dagster instance, as JSON or markdown."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus


def _value(entry: Any) -> Any:
    value = getattr(entry, "value", entry)
    return value if isinstance(value, (int, float, str, bool, type(None), list, dict)) else str(value)


def collect(instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey], since: datetime | None, limit: int = 1000) -> list[dict[str, Any]]:
    """One entry per check execution (newest first per check) since ``since``."""
    rows = []
    for key in sorted(check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        executed = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
        for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=limit, status=executed):
            when = datetime.fromtimestamp(record.create_timestamp, tz=UTC)
            if since and when < since:
                break
            evaluation = None
            if record.event and record.event.dagster_event:
                evaluation = record.event.dagster_event.event_specific_data
            passed = getattr(evaluation, "passed", None)
            severity = getattr(getattr(evaluation, "severity", None), "value", None)
            status = record.status.value
            rows.append(
                {
                    "asset": key.asset_key.to_user_string(),
                    "check": key.name,
                    "status": status,
                    "passed": passed,
                    "severity": severity,
                    "outcome": "passed" if passed else ("warned" if severity == "WARN" else "failed"),
                    "partition": record.partition,
                    "run_id": record.run_id,
                    "at": when.isoformat(),
                    "description": getattr(evaluation, "description", None),
                    "metadata": {k: _value(v) for k, v in (getattr(evaluation, "metadata", None) or {}).items()},
                }
            )
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Latest result per check, counted per asset as passed / warned / failed."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        latest.setdefault((row["asset"], row["check"]), row)
    out: dict[str, dict[str, int]] = {}
    for (asset, _), row in sorted(latest.items()):
        counts = out.setdefault(asset, {"passed": 0, "warned": 0, "failed": 0})
        if row["outcome"] in counts:
            counts[row["outcome"]] += 1
    return out


def to_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["# Quality report", "", "| asset | passed | warned | failed |", "| --- | ---: | ---: | ---: |"]
    for asset, c in summary(rows).items():
        lines.append(f"| {asset} | {c['passed']} | {c['warned']} | {c['failed']} |")
    lines += ["", "| asset | check | outcome | severity | at | description |", "| --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        desc = (row["description"] or "").replace("|", "\\|")
        lines.append(f"| {row['asset']} | {row['check']} | {row['outcome']} | {row['severity'] or '-'} | {row['at']} | {desc} |")
    return "\n".join(lines) + "\n"
