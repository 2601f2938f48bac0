"""Capturing API pages into the raw lake: ETag reuse from earlier captures, per-partition placement, failures.

Shared by every raw asset: a sweep's pages go to a :class:`~gh_assets.lake.RawWriter` under each partition
their items fall on; pages captured before are requested with their ETag (a 304 costs no rate limit).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg

from gh_assets.github import errors
from gh_assets.github.pagination import CachedPage, SweepPage
from gh_assets.interrupts import interrupts_stop_the_run
from gh_assets.lake import Lake, utc_iso
from gh_assets.metadata import row_count, run_totals


def stored_pages(lake: Lake, entity: str, repo: str, partitions: Iterable[date]) -> dict[str, tuple[str, str]]:
    """``request key -> (etag, file)`` of the pages already captured for these partitions (for If-None-Match)."""
    out: dict[str, tuple[str, str]] = {}
    for part in partitions:
        for meta in lake.raw_manifest(entity, repo, part) or []:
            if meta.etag:
                out.setdefault(meta.key, (meta.etag, lake.raw_page_path(entity, repo, part, meta.file)))
    return out


def page_cache(lake: Lake, stored: dict[str, tuple[str, str]]) -> Callable[[str], CachedPage | None]:
    def cache(key: str) -> CachedPage | None:
        hit = stored.get(key)
        return CachedPage(etag=hit[0], body=lake.read_page(hit[1])) if hit else None

    return cache


def page_meta(page: SweepPage) -> dict[str, Any]:
    """What the raw manifest records of a page besides its body (no request headers, a sanitised URL)."""
    resp = page.response
    return {
        "key": page.key,
        "url": resp.url,
        "status": 304 if page.reused else resp.status,
        "etag": resp.etag,
        "fetched_at": utc_iso(resp.fetched_at),
        "bytes": len(resp.body),
        "items": len(page.items),
        "rate_limit_limit": resp.rate_limit.limit,
        "rate_limit_remaining": resp.rate_limit.remaining,
        "rate_limit_reset": resp.rate_limit.reset,
        "rate_limit_resource": resp.rate_limit.resource,
        **page.extra,
    }


@dataclass
class PartitionCapture:
    """What one partition's capture holds: its pages (one request each), 304s among them, its records, bytes."""

    pages: int = 0
    pages_not_modified: int = 0
    records_listed: int = 0
    bytes: int = 0

    def metadata(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class Captured:
    """Counters of one raw asset's run: per partition (``(repo, day)``) and for the whole run."""

    pages: int = 0
    records_listed: int = 0
    pages_not_modified: int = 0
    page_captures: dict[date, int] = field(default_factory=dict)
    by_partition: dict[tuple[str, date], PartitionCapture] = field(default_factory=dict)

    def add(self, page: SweepPage) -> None:
        self.pages += 1
        self.records_listed += len(page.fresh)
        self.pages_not_modified += page.reused

    def add_to_partition(self, repo: str, day: date, page: SweepPage, records: int) -> None:
        part = self.by_partition.setdefault((repo, day), PartitionCapture())
        part.pages += 1
        part.pages_not_modified += page.reused
        part.records_listed += records
        part.bytes += len(page.response.body)

    def metadata(self) -> dict[str, int]:
        """The run's totals (``run_total_*``): a range run's partitions each carry their own figures."""
        return {"run_total_pages": self.pages, "run_total_records_listed": self.records_listed, "run_total_pages_not_modified": self.pages_not_modified}

    def partition_metadata(self, key: Callable[[str, date], str]) -> dict[str, dict[str, Any]]:
        """Each partition's own figures, by partition key (``key(repo, day)``); its records are its row count."""
        return {key(repo, day): {**part.metadata(), **row_count(part.records_listed)} for (repo, day), part in self.by_partition.items()}


def run_metadata(captured: Captured, client_stats: dict[str, int], started: float) -> dict[str, Any]:
    """What a raw step reports for the whole run (on every partition, named as run-wide): pages, requests, retries, time.

    ``rate_limit_remaining`` is the budget left when the step ended, not a sum.
    """
    return {**captured.metadata(), **run_totals(client_stats), "run_total_duration_seconds": round(time.monotonic() - started, 3)}


def records_by_partition(page: SweepPage, placed: set[date], targets: set[date], place: Callable[[SweepPage], set[date]]) -> dict[date, int]:
    """How many of the page's new items belong to each partition it is stored under (most pages fall on one day)."""
    if len(targets) == 1 and placed == targets:
        return {next(iter(targets)): len(page.fresh)}
    out = dict.fromkeys(targets, 0)
    for item in page.fresh:
        for day in place(dataclasses.replace(page, items=[item], overlap=0)) & targets:
            out[day] += 1
    return out


@contextlib.contextmanager
def api_failures(repo: str) -> Iterator[None]:
    """Turn the client's typed errors into a step failure that names the repository and URL.

    A refused token, a missing repo or a spent rate limit will not heal in 30 seconds: those fail the step
    without the retry policy; transient 5xx that outlived the client's own retries may retry. An interrupt
    (SIGINT/SIGTERM) stops the run and is never retried (see :mod:`gh_assets.interrupts`).
    """
    try:
        with interrupts_stop_the_run():
            yield
    except errors.GitHubError as exc:
        raise dg.Failure(
            description=f"{type(exc).__name__}: {exc}",
            metadata={"repository": repo, "url": exc.url or "", "status": exc.status or 0},
            allow_retries=isinstance(exc, errors.ServerError),
        ) from None


def capture(
    lake: Lake,
    entity: str,
    repo: str,
    partitions: list[date],
    pages: Iterable[SweepPage],
    place: Callable[[SweepPage], set[date]],
    captured: Captured,
    day_meta: Callable[[SweepPage, date], dict[str, Any]] | None = None,
) -> dict[date, int]:
    """Write every page under the partitions ``place(page)`` names and publish them all at the end.

    Partitions of the range with no page get an empty manifest: the range is known to hold nothing. On any
    error or interrupt nothing is published (the partitions keep their previous capture) and no temporary is
    left in the lake.
    """
    writer = lake.raw_writer(entity, repo, partitions)
    in_range = set(partitions)
    for part in partitions:  # a partition with no page reports zeros, not the run's figures
        captured.by_partition.setdefault((repo, part), PartitionCapture())
    try:
        with api_failures(repo):
            for page in pages:
                # A page with nothing in the range (the empty page after a full last one, a page of newer items)
                # is kept under the range's last partition: its ETag makes the next sweep's request free.
                placed = place(page)
                targets = placed & in_range or {partitions[-1]}
                if day_meta is None:
                    writer.add(page.response.body, targets, page_meta(page))
                else:  # what the page holds for each day differs (a GraphQL batch spans PRs of several days)
                    for day in targets:
                        writer.add(page.response.body, {day}, {**page_meta(page), **day_meta(page, day)})
                captured.add(page)
                for day, records in records_by_partition(page, placed, targets, place).items():
                    captured.add_to_partition(repo, day, page, records)
            counts = writer.commit()
    except BaseException:
        writer.abort()
        raise
    for part, n in counts.items():
        captured.page_captures[part] = captured.page_captures.get(part, 0) + n
    return counts


def days_of(field_name: str) -> Callable[[SweepPage], set[date]]:
    """Placement by the UTC day of a top-level timestamp field (``updated_at``) of the page's items."""

    def place(page: SweepPage) -> set[date]:
        return {date.fromisoformat(v[:10]) for item in page.items if isinstance(v := item.get(field_name), str) and len(v) >= 10}

    return place
