"""What the ``<table>_complete`` checks found, read back from the Dagster instance.

The checks (see :mod:`gh_assets.marts.assets` and :mod:`gh_assets.github.completeness`) record, per
repository, GitHub's count, ours and the gaps as metadata. The CLI prints them after an ingest and
``gh-assets ingest --repair`` re-runs the gaps of each repository's newest finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from gh_assets.config import repo_key
from gh_assets.github.completeness import SOURCES

# The mart table's entity as `gh-assets ingest --entities` names it.
ENTITY_CHOICE = {"issues": "issues", "pull_requests": "pulls", "commits": "commits"}
CHECK_KEYS = {table: dg.AssetCheckKey(dg.AssetKey(["marts", table]), f"{table}_complete") for table in SOURCES}


@dataclass(frozen=True)
class Finding:
    """One repository's entry of one completeness check execution."""

    table: str
    repo: str
    window: str
    github_count: int
    ours: int
    missing: int
    extra: int
    gaps: tuple[tuple[date, date, int], ...]  # (first day, last day, missing)
    at: datetime

    @property
    def label(self) -> str:
        return SOURCES[self.table].label

    def line(self) -> str:
        status = "complete"
        if self.missing:
            where = ", ".join(f"{a}..{b}: {n}" for a, b, n in self.gaps) or self.window
            status = f"{self.missing} MISSING ({where}); run gh-assets ingest --repair"
        elif self.extra:
            status = f"{self.extra} extra (deleted on GitHub, or updated since)"
        return f"  {self.repo:<24} {self.label:<14} {self.window:<24} github {self.github_count:>6}  ours {self.ours:>6}  {status}"

    def ranges(self) -> list[tuple[date, date]]:
        """The ranges a repair re-runs: the gaps, else (not narrowed) the whole window."""
        if self.gaps:
            return [(a, b) for a, b, _ in self.gaps]
        first, last = self.window.split("..")
        return [(date.fromisoformat(first), date.fromisoformat(last))]


def _findings_of(table: str, record: Any) -> list[Finding]:
    evaluation = record.event.dagster_event.event_specific_data if record.event and record.event.dagster_event else None
    repos = (getattr(evaluation, "metadata", None) or {}).get("repositories")
    value = getattr(repos, "value", repos)
    if not isinstance(value, dict):
        return []  # skipped (a replay)
    at = datetime.fromtimestamp(record.create_timestamp, tz=UTC)
    out = []
    for repo, m in value.items():
        gaps = tuple((date.fromisoformat(g["first_day"]), date.fromisoformat(g["last_day"]), int(g["missing"])) for g in m.get("gaps", []))
        out.append(Finding(table, repo, m["window"], int(m["github_count"]), int(m["ours"]), int(m["missing"]), int(m["extra"]), gaps, at))
    return out


def latest_findings(instance: dg.DagsterInstance, since: datetime | None = None, limit: int = 200) -> list[Finding]:
    """The newest finding per (entity, repository) among the last ``limit`` executions of each check."""
    executed = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}
    newest: dict[tuple[str, str], Finding] = {}
    since = since.replace(microsecond=0) if since else None  # the storage keeps whole seconds
    for table, key in CHECK_KEYS.items():
        for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=limit, status=executed):
            if since and datetime.fromtimestamp(record.create_timestamp, tz=UTC) < since:
                break
            for finding in _findings_of(table, record):
                newest.setdefault((table, repo_key(finding.repo)), finding)  # history comes newest first
    return sorted(newest.values(), key=lambda f: (repo_key(f.repo), list(SOURCES).index(f.table)))


def repairs(findings: list[Finding], repos: list[str] | None = None) -> list[tuple[str, str, date, date]]:
    """``(repository, entity choice, first day, last day)`` to re-run: every range of a finding with items missing."""
    wanted = {repo_key(r) for r in repos} if repos else None
    out = []
    for f in findings:
        if f.missing and (wanted is None or repo_key(f.repo) in wanted):
            out += [(f.repo, ENTITY_CHOICE[f.table], a, b) for a, b in f.ranges()]
    return out
