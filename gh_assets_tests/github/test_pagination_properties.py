"""Property tests of pagination: whatever the page sizes and faults, every item is fetched, none is skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gh_assets.github.client import Response
from gh_assets.github.errors import PageTooLarge
from gh_assets.github.pagination import MIN_PER_PAGE, page_at, sweep_numbered, sweep_updated
from gh_assets.github.responses import RateLimit

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MAX_REQUESTS = 5_000  # a sweep that asks more than this for a few hundred items is looping


def _z(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ListServer:
    """An in-memory GitHub list endpoint: ``page``/``per_page`` offsets, ``since`` (inclusive, ascending by
    ``updated_at``), and a 502 on a request whose fault flag is set while the caller can still shrink its page."""

    items: list[dict[str, Any]]
    faults: list[bool]
    mutations: dict[int, list[int]] = field(default_factory=dict)  # request number -> ids updated just before it
    requests: list[dict[str, Any]] = field(default_factory=list)
    _clock: int = 0

    def get(self, path: str, params: dict[str, Any] | None = None, *, etag: str | None = None, shrinkable: bool = False) -> Response:
        params = dict(params or {})
        n = len(self.requests)
        self.requests.append(params)
        assert n < MAX_REQUESTS, "the sweep does not terminate"
        for item_id in self.mutations.get(n, []):
            self._touch(item_id)
        if shrinkable and n < len(self.faults) and self.faults[n]:
            raise PageTooLarge(f"GET {path} -> 502", url=path, status=502)
        size = int(params["per_page"])
        page = int(params.get("page", 1))
        listed = self.items
        if "since" in params:
            order = "created_at" if params.get("sort") == "created" else "updated_at"
            listed = sorted((i for i in self.items if i["updated_at"] >= params["since"]), key=lambda i: (i[order], i["id"]))
        chunk = listed[(page - 1) * size : page * size]
        body = orjson.dumps(chunk)
        return Response(
            url=f"https://api.test{path}",
            status=200,
            body=body,
            data=orjson.loads(body),
            etag=None,
            links={},
            rate_limit=RateLimit(None, None, None, None, None),
            fetched_at=datetime.now(tz=UTC),
        )

    def _touch(self, item_id: int) -> None:
        # An update moves an item past every other: GitHub's clock only moves forward.
        newest = max(i["updated_at"] for i in self.items)
        self._clock += 1
        stamp = _z(datetime.strptime(newest, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) + timedelta(seconds=1))
        for i in self.items:
            if i["id"] == item_id:
                i["updated_at"] = stamp


faults = st.lists(st.booleans(), max_size=60)
sizes = st.sampled_from([100, 64, 30, 25, 12, 11, MIN_PER_PAGE])


@given(offset=st.integers(0, 10_000), size=st.integers(1, 100))
def test_page_at_starts_at_or_before_the_offset(offset: int, size: int) -> None:
    page, overlap = page_at(offset, size)
    assert page >= 1 and 0 <= overlap < size
    assert (page - 1) * size + overlap == offset


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(total=st.integers(0, 700), per_page=sizes, fault_flags=faults)
def test_numbered_sweep_fetches_every_item_exactly_once(total: int, per_page: int, fault_flags: list[bool]) -> None:
    items = [{"id": i + 1} for i in range(total)]
    server = ListServer(items=items, faults=fault_flags)
    pages = list(sweep_numbered(server, "/repos/o/r/commits", {}, per_page=per_page))  # type: ignore[arg-type]
    fresh = [item["id"] for page in pages for item in page.fresh]
    assert fresh == [i["id"] for i in items]  # in order, none skipped, none twice
    # Every overlap is exactly what the page re-read of items already held.
    held: set[int] = set()
    for page in pages:
        assert {i["id"] for i in page.items[: page.overlap]} <= held
        held |= {i["id"] for i in page.fresh}


def test_numbered_sweep_survives_the_size_change_that_lost_commits() -> None:
    # 100 -> 50 -> 25 -> 12 -> 10: a page-number formula jumped from item 864 to 1440 at the 12 -> 10 step.
    items = [{"id": i + 1} for i in range(1666)]
    faults = [False] * 200
    for n in (3, 4, 5, 6, 30, 31, 32, 33, 80):  # runs of 502s shrink the page all the way down, twice
        faults[n] = True
    server = ListServer(items=items, faults=faults)
    pages = list(sweep_numbered(server, "/repos/o/r/commits", {}, per_page=100))  # type: ignore[arg-type]
    ids = [item["id"] for page in pages for item in page.fresh]
    assert ids == list(range(1, 1667))
    assert {int(r["per_page"]) for r in server.requests} >= {100, 50, 25, 12, 10}


@st.composite
def timelines(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Items with many equal ``updated_at`` values (runs longer than a page included)."""
    n = draw(st.integers(0, 400))
    spread = draw(st.sampled_from([1, 3, 20, 500]))  # seconds over which the updates fall: 1 gives one long tie
    seconds = draw(st.lists(st.integers(0, spread), min_size=n, max_size=n))
    ages = draw(st.lists(st.integers(0, 100_000), min_size=n, max_size=n))  # created this many seconds before the update
    return [
        {"id": i + 1, "created_at": _z(T0 + timedelta(seconds=s - age)), "updated_at": _z(T0 + timedelta(seconds=s))}
        for i, (s, age) in enumerate(zip(seconds, ages, strict=True))
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=timelines(), per_page=sizes, fault_flags=faults, end_offset=st.integers(0, 600))
def test_keyset_sweep_fetches_every_item_of_the_window(items: list[dict[str, Any]], per_page: int, fault_flags: list[bool], end_offset: int) -> None:
    start, end = T0, T0 + timedelta(seconds=end_offset)
    server = ListServer(items=items, faults=fault_flags)
    pages = list(sweep_updated(server, "/repos/o/r/issues", {}, start, end, per_page=per_page))  # type: ignore[arg-type]
    seen = [item["id"] for page in pages for item in page.fresh]
    wanted = {i["id"] for i in items if i["updated_at"] < _z(end)}
    assert wanted <= set(seen)
    # Re-reads are the keyset's boundary items only (de-duplicated by id in staging), never a page's worth.
    assert len(seen) - len(set(seen)) <= len(pages) * per_page


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=timelines(), per_page=sizes, fault_flags=faults, data=st.data())
def test_keyset_sweep_sees_the_newest_version_under_concurrent_updates(
    items: list[dict[str, Any]], per_page: int, fault_flags: list[bool], data: st.DataObject
) -> None:
    ids = [i["id"] for i in items]
    mutations = data.draw(st.dictionaries(st.integers(1, 30), st.lists(st.sampled_from(ids), max_size=5), max_size=8)) if ids else {}
    end = T0 + timedelta(days=1)  # every update, however late, stays in the window
    server = ListServer(items=items, faults=fault_flags, mutations=mutations)
    pages = list(sweep_updated(server, "/repos/o/r/issues", {}, T0, end, per_page=per_page))  # type: ignore[arg-type]
    seen = {(item["id"], item["updated_at"]) for page in pages for item in page.items}
    # State at the last request is final: each item is held at that version.
    assert {(i["id"], i["updated_at"]) for i in server.items} <= seen
