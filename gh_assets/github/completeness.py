"""Completeness against GitHub itself: per repository and window, GitHub's own count of an entity vs ours.

The raw -> staged -> marts reconciliation cannot see records that were never fetched; only the source can.
GitHub's counts come from cheap, documented sources, one request each:

- issues and pull requests: the search API's ``total_count`` for ``repo:o/r is:issue|is:pr updated:A..B``
  with ``per_page=1`` (the search budget: 30 requests a minute with a token, 10 without);
- commits: ``GET /repos/o/r/commits?since=A&until=B&per_page=1``: with one item per page the ``Link``
  header's ``rel="last"`` page number is the number of commits (no ``last`` link: 0 or 1, the page's length).

Ours is counted by the caller (the marts hold each item's newest version) over the same window. An item
updated again after the window's end has left GitHub's window but not ours, and GitHub does not count
deleted issues: ours > GitHub is therefore *extra* (a warning); GitHub > ours is *missing* (an error).
A missing count is narrowed to the days (months for commits) that hold it by halving the window, one more
request per halving, within a budget. No Dagster in here: the mart assets wrap it, tests drive it directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

from gh_assets.github.client import GitHubClient
from gh_assets.github.pagination import isoformat_z

_ONE_SECOND = timedelta(seconds=1)
Unit = Literal["day", "month"]
OursCounter = Callable[[datetime, datetime], int]  # our items in the half-open window [start, end)


@dataclass(frozen=True)
class GitHubCount:
    """GitHub's count of one entity in a window, and whether GitHub said it may be incomplete."""

    total: int
    incomplete: bool = False


def search_count(client: GitHubClient, repo: str, kind: Literal["issue", "pr"], start: datetime, end: datetime) -> GitHubCount:
    """Issues (``kind="issue"``) or pull requests of ``repo`` whose current ``updated_at`` is in ``[start, end)``."""
    query = f"repo:{repo} is:{kind} updated:{isoformat_z(start)}..{isoformat_z(end - _ONE_SECOND)}"
    data = client.get("/search/issues", {"q": query, "per_page": 1}).data
    return GitHubCount(int(data["total_count"]), bool(data.get("incomplete_results")))


def commit_count(client: GitHubClient, repo: str, start: datetime, end: datetime) -> GitHubCount:
    """Commits of ``repo`` (default branch) whose commit date is in ``[start, end)``."""
    params = {"since": isoformat_z(start), "until": isoformat_z(end - _ONE_SECOND), "per_page": 1}
    response = client.get(f"/repos/{repo}/commits", params)
    last = response.links.get("last")
    if last is None:  # a single page: its length is the count
        return GitHubCount(len(response.data or []))
    return GitHubCount(int(parse_qs(urlparse(last).query)["page"][0]))


@dataclass(frozen=True)
class CountSource:
    """Where GitHub's count of one mart's entity comes from, and the time unit its partitions use."""

    table: str  # the mart: marts.<table>
    label: str  # how a person names it ("issues", "pull requests", "commits")
    unit: Unit
    count: Callable[[GitHubClient, str, datetime, datetime], GitHubCount]


ISSUES = CountSource("issues", "issues", "day", lambda c, r, s, e: search_count(c, r, "issue", s, e))
PULL_REQUESTS = CountSource("pull_requests", "pull requests", "day", lambda c, r, s, e: search_count(c, r, "pr", s, e))
COMMITS = CountSource("commits", "commits", "month", commit_count)
SOURCES = {s.table: s for s in (ISSUES, PULL_REQUESTS, COMMITS)}


@dataclass(frozen=True)
class Gap:
    """A window where GitHub counts more than we hold: ``[start, end)``."""

    start: datetime
    end: datetime
    github_count: int
    ours: int

    @property
    def missing(self) -> int:
        return self.github_count - self.ours

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - _ONE_SECOND).date()

    def describe(self) -> str:
        return f"{self.missing} in {self.first_day}..{self.last_day}"


@dataclass(frozen=True)
class Completeness:
    """GitHub's count and ours of one entity of one repository over ``[start, end)``."""

    table: str
    label: str
    repo: str
    start: datetime
    end: datetime
    github_count: int
    ours: int
    github_incomplete: bool = False
    gaps: tuple[Gap, ...] = field(default=())
    requests: int = 1

    @property
    def missing(self) -> int:
        return max(0, self.github_count - self.ours)

    @property
    def extra(self) -> int:
        return max(0, self.ours - self.github_count)

    @property
    def status(self) -> Literal["complete", "missing", "extra"]:
        return "missing" if self.missing else ("extra" if self.extra else "complete")

    def window(self) -> str:
        return f"{self.start.date()}..{(self.end - _ONE_SECOND).date()}"

    def describe(self) -> str:
        """One line naming the entity, the window and the gap."""
        head = f"{self.repo} {self.label} {self.window()}: GitHub {self.github_count}, ours {self.ours}"
        if self.missing:
            where = "; ".join(g.describe() for g in self.gaps) or self.window()
            return f"{head}: {self.missing} missing ({where})"
        if self.extra:
            return f"{head}: {self.extra} extra (deleted on GitHub, or updated after the window)"
        return f"{head}: complete"

    def as_metadata(self) -> dict[str, Any]:
        return {
            "window": self.window(),
            "github_count": self.github_count,
            "ours": self.ours,
            "missing": self.missing,
            "extra": self.extra,
            "github_incomplete": self.github_incomplete,
            "gaps": [{"first_day": str(g.first_day), "last_day": str(g.last_day), "missing": g.missing} for g in self.gaps],
        }


def _split(start: datetime, end: datetime, unit: Unit) -> datetime | None:
    """A unit boundary near the middle of ``[start, end)``, or None when the window is one unit."""
    if unit == "day":
        days = (end - start).days
        return start + timedelta(days=days // 2) if days > 1 else None
    months = (end.year - start.year) * 12 + end.month - start.month
    if months <= 1:
        return None
    index = start.year * 12 + start.month - 1 + months // 2
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def check(
    client: GitHubClient, source: CountSource, repo: str, start: datetime, end: datetime, ours: OursCounter, *, budget: int = 16
) -> Completeness:
    """GitHub's count of ``source`` in ``[start, end)`` vs ``ours``; a shortfall is narrowed to its units.

    ``budget`` bounds the requests spent narrowing a shortfall (each halving costs one: the other half is
    the difference, counts over disjoint windows add up).
    """
    total = source.count(client, repo, start, end)
    mine = ours(start, end)
    requests = 1
    gaps: list[Gap] = []
    if total.total > mine:
        stack = [(start, end, total.total, mine)]
        while stack:
            lo, hi, theirs, held = stack.pop()
            mid = _split(lo, hi, source.unit)
            if mid is None or requests > budget:
                gaps.append(Gap(lo, hi, theirs, held))
                continue
            left = source.count(client, repo, lo, mid).total
            requests += 1
            left_ours = ours(lo, mid)
            halves = [(lo, mid, left, left_ours), (mid, hi, theirs - left, held - left_ours)]
            short = [h for h in halves if h[2] > h[3]]
            if not short:  # extras in one half hide the shortfall of the other: keep the whole window
                gaps.append(Gap(lo, hi, theirs, held))
            stack.extend(reversed(short))  # earlier half first
        gaps.sort(key=lambda g: g.start)
    return Completeness(source.table, source.label, repo, start, end, total.total, mine, total.incomplete, tuple(gaps), requests)
