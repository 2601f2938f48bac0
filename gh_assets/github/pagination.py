"""Pagination: Link-header walking, and the keyset sweep over a repository's issues by ``updated_at``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson

from gh_assets.github.client import GitHubClient, Response
from gh_assets.github.errors import PageTooLarge, UnexpectedResponse

PER_PAGE = 100
MIN_PER_PAGE = 10  # below this a 502 is not about page size: retry it like any other
RESTORE_AFTER = 3  # good pages at a reduced size before trying twice the size again


def iter_pages(client: GitHubClient, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Response]:
    """Follow ``Link: rel="next"`` from the first page to the last."""
    response = client.get(path, params)
    yield response
    while "next" in response.links:
        response = client.get(response.links["next"])
        yield response


def isoformat_z(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_github_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class CachedPage:
    """A page kept from an earlier sweep: its ETag and exact body, reused on a 304."""

    etag: str
    body: bytes


@dataclass(frozen=True)
class SweepPage:
    """One page of a sweep: the request it answers (``key``), the response and its items."""

    key: str
    response: Response
    items: list[dict[str, Any]]
    reused: bool  # True when the body came from the cache after a 304
    overlap: int = 0  # leading items already held from an earlier page (re-read after a page-size change)
    extra: Mapping[str, Any] = field(default_factory=dict)  # more for the raw manifest (a GraphQL query's variables)

    @property
    def fresh(self) -> list[dict[str, Any]]:
        """The items this page adds to the sweep (its overlap left out)."""
        return self.items[self.overlap :]


def page_at(offset: int, size: int) -> tuple[int, int]:
    """The page number holding item ``offset`` (0-based) at ``size`` items per page, and how many of its
    leading items come before ``offset`` (already consumed, to be re-read and de-duplicated).

    Pagination counts items consumed, never page numbers: whatever sizes a sweep has gone through, the next
    request starts at or before the first item it does not hold yet, so a gap is impossible by construction.
    """
    page = offset // size + 1
    return page, offset - (page - 1) * size


def request_key(path: str, params: Mapping[str, Any]) -> str:
    """A stable name for a request, independent of the API host (used to match stored ETags)."""
    return f"{path}?{urlencode(sorted((k, str(v)) for k, v in params.items()))}"


def _fetch(
    client: GitHubClient, path: str, params: dict[str, Any], cache: Callable[[str], CachedPage | None] | None, shrinkable: bool
) -> tuple[str, Response, bool]:
    """One page with its ETag reused when cached: ``(request key, response with a body, reused?)``."""
    key = request_key(path, params)
    cached = cache(key) if cache else None
    response = client.get(path, params, etag=cached.etag if cached else None, shrinkable=shrinkable)
    if not response.not_modified:
        return key, response, False
    if cached is None:  # a 304 without If-None-Match: the server is confused
        return key, client.get(path, params), False
    return key, replace(response, body=cached.body, data=orjson.loads(cached.body), etag=cached.etag), True


def _items(response: Response, what: str) -> list[dict[str, Any]]:
    items = response.data
    if not isinstance(items, list):
        raise UnexpectedResponse(f"GET {response.url}: expected a JSON array of {what}, got {type(items).__name__}.", url=response.url)
    return items


def sweep_issues(
    client: GitHubClient,
    repo: str,
    start: datetime,
    end: datetime,
    *,
    per_page: int = PER_PAGE,
    cache: Callable[[str], CachedPage | None] | None = None,
) -> Iterator[SweepPage]:
    """Yield every page of issues (and PRs) of ``repo`` updated in ``[start, end)``, oldest update first."""
    return sweep_updated(client, f"/repos/{repo}/issues", {"state": "all"}, start, end, per_page=per_page, cache=cache, what="issues")


def sweep_updated(
    client: GitHubClient,
    path: str,
    fixed: Mapping[str, Any],
    start: datetime,
    end: datetime,
    *,
    per_page: int = PER_PAGE,
    cache: Callable[[str], CachedPage | None] | None = None,
    what: str = "items",
) -> Iterator[SweepPage]:
    """Yield every page of a ``since``-filterable list (``/issues``, ``/issues/comments``) updated in ``[start, end)``.

    Keyset pagination: each request asks for ``since=<last updated_at seen>`` from page 1, instead of following
    the offset ``next`` link. Offset pages over a list that changes while we read it skip items (an update
    moves an item to the end and shifts the rest left); a keyset only ever re-reads the boundary items, which
    staging de-duplicates by id. The sweep stops at the first item updated at or after ``end``.

    When a whole page shares one ``updated_at`` (a bulk edit) the keyset cannot advance. Stepping through such
    a tie by offset in ``updated`` order would skip items whenever one of the tie is updated meanwhile, so the
    tie is read in creation order instead (``sort=created``, same ``since``), where an update moves nothing:
    every item of the tie was created at or before it, so that read ends at the first item created after it.
    The keyset then resumes one second later (GitHub's timestamps have whole seconds), also when that read
    reached the end of the list: items of the tie updated meanwhile are past it and are read again there. A
    502/504 halves ``per_page`` for the request; the size grows back after a few good pages.
    """
    since = start
    size, good_pages = per_page, 0
    while True:
        params: dict[str, Any] = {**fixed, "sort": "updated", "direction": "asc", "since": isoformat_z(since), "per_page": size}
        try:
            key, response, reused = _fetch(client, path, params, cache, shrinkable=size > MIN_PER_PAGE)
        except PageTooLarge:
            size, good_pages = max(size // 2, MIN_PER_PAGE), 0  # GitHub timed out building a big page: ask for fewer
            continue
        items = _items(response, what)
        yield SweepPage(key=key, response=response, items=items, reused=reused)
        if len(items) < size:
            return
        good_pages += 1
        if size < per_page and good_pages >= RESTORE_AFTER:
            size, good_pages = min(size * 2, per_page), 0
        last = parse_github_time(items[-1]["updated_at"])
        if last >= end:
            return
        if last > since:
            since = last
            continue
        tie = isoformat_z(since)
        yield from sweep_numbered(
            client,
            path,
            {**fixed, "sort": "created", "direction": "asc", "since": tie},
            per_page=per_page,
            cache=cache,
            stop=lambda batch: str(batch[-1].get("created_at") or "") > tie,
            what=what,
        )
        since += timedelta(seconds=1)


def sweep_numbered(
    client: GitHubClient,
    path: str,
    fixed: Mapping[str, Any],
    *,
    per_page: int = PER_PAGE,
    cache: Callable[[str], CachedPage | None] | None = None,
    stop: Callable[[list[dict[str, Any]]], bool] | None = None,
    what: str = "items",
) -> Iterator[SweepPage]:
    """Yield the pages of a list paginated by page number (``/pulls``, ``/commits``, a PR's reviews and files).

    Requests are built from ``page`` rather than taken from the ``next`` link so that each has a stable key
    for its ETag. Ends at a short page or when ``stop(items)`` says the rest is out of the window (``/pulls``
    sorted by ``updated`` descending stops at the first page reaching past the window start). A 502/504
    halves ``per_page``; the size is doubled back after a few good pages. The next page is derived from the
    number of items consumed: when a size cannot start exactly there, the page before it is re-read and its
    leading items (``SweepPage.overlap``) are already held, never skipped.
    """
    offset, size, good_pages = 0, per_page, 0
    while True:
        page, overlap = page_at(offset, size)
        params: dict[str, Any] = {**fixed, "per_page": size}
        if page > 1:
            params["page"] = page
        try:
            key, response, reused = _fetch(client, path, params, cache, shrinkable=size > MIN_PER_PAGE)
        except PageTooLarge:
            size, good_pages = max(size // 2, MIN_PER_PAGE), 0
            continue
        items = _items(response, what)
        sweep_page = SweepPage(key=key, response=response, items=items, reused=reused, overlap=min(overlap, len(items)))
        yield sweep_page
        if len(items) < size or (stop is not None and stop(items)):
            return
        offset += len(sweep_page.fresh)
        good_pages += 1
        if size < per_page and good_pages >= RESTORE_AFTER:
            size, good_pages = min(size * 2, per_page), 0
