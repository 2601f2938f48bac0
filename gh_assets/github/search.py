"""The search API past its 1000-result wall: split the ``updated:`` range until every slice fits."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gh_assets.github.client import GitHubClient, Response
from gh_assets.github.errors import ValidationFailed
from gh_assets.github.pagination import isoformat_z

log = logging.getLogger("gh_assets.github")

SEARCH_CAP = 1000  # GitHub serves at most the first 1000 results of any search
_ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class SearchSlice:
    """One page of one time slice of a search."""

    query: str
    response: Response
    items: list[dict[str, Any]]
    total_count: int
    complete: bool  # False only when one second alone matched more than 1000 results


def search_issues(
    client: GitHubClient, query: str, start: datetime, end: datetime, *, per_page: int = 100
) -> Iterator[SearchSlice]:
    """Every issue/PR matching ``query`` updated in ``[start, end)``, however many there are.

    Each slice first asks for page 1 of ``query updated:A..B``; when ``total_count`` exceeds the cap, the
    slice is halved (at second resolution, GitHub's own) and each half is searched on its own. A 422 past
    the cap, which GitHub returns if results grew between pages, ends that slice's paging instead of failing.
    """
    stack = [(start, end - _ONE_SECOND)]  # inclusive bounds, as GitHub's A..B ranges are
    while stack:
        lo, hi = stack.pop()
        if hi < lo:
            continue
        sliced = f"{query} updated:{isoformat_z(lo)}..{isoformat_z(hi)}"
        params = {"q": sliced, "sort": "updated", "order": "asc", "per_page": per_page}
        first = client.get("/search/issues", params)
        total = int(first.data["total_count"])
        if total > SEARCH_CAP and hi > lo:
            mid = lo + (hi - lo) / 2
            mid = mid.replace(microsecond=0)
            # later half pushed first, so slices come out oldest first
            stack.append((mid + _ONE_SECOND, hi))
            stack.append((lo, mid))
            continue
        complete = total <= SEARCH_CAP
        if not complete:
            log.warning("search %r: %d results within one second; only the first %d are served", sliced, total, SEARCH_CAP)
        response: Response | None = first
        while response is not None:
            yield SearchSlice(sliced, response, response.data["items"], total, complete)
            nxt = response.links.get("next")
            if not nxt:
                break
            try:
                response = client.get(nxt)
            except ValidationFailed:
                log.warning("search %r: GitHub refused a page past its %d-result cap; slice ends here", sliced, SEARCH_CAP)
                response = None
