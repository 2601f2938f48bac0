"""Tests of the GitHub REST API emulator over real HTTP: paging, filters, rate limits, ETags, search, faults, mutation, CLI."""

from __future__ import annotations

import calendar
import collections
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig, RequestRecord, token_fingerprint
from gh_assets_tests.emulator.process import emulator_cli

REPO = "demo-org/alpha"
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
AUTHOR_ASSOCIATIONS = {
    "COLLABORATOR",
    "CONTRIBUTOR",
    "FIRST_TIMER",
    "FIRST_TIME_CONTRIBUTOR",
    "MANNEQUIN",
    "MEMBER",
    "NONE",
    "OWNER",
}


class FakeClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def cfg(**overrides: Any) -> EmulatorConfig:
    base: dict[str, Any] = {"seed": 7, "repos": (REPO, "demo-org/beta"), "issues_per_repo": 250}
    base.update(overrides)
    return EmulatorConfig(**base)


@pytest.fixture(scope="module")
def emu() -> Any:
    with Emulator(cfg(rate_limit=1_000_000, search_rate_limit=1_000_000)) as e:
        yield e


@pytest.fixture(scope="module")
def client(emu: Emulator) -> Any:
    with httpx.Client(base_url=emu.url, timeout=10) as c:
        yield c


def walk(client: httpx.Client, url: str, params: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], list[httpx.Response]]:
    items: list[dict[str, Any]] = []
    responses = []
    r = client.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        responses.append(r)
        items.extend(r.json())
        nxt = r.links.get("next")
        if not nxt:
            return items, responses
        r = client.get(nxt["url"])


def ts(value: str) -> int:
    return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))


# ---------------------------------------------------------------------------
# pagination and filters
# ---------------------------------------------------------------------------


def test_link_headers_and_full_walk(emu: Emulator, client: httpx.Client) -> None:
    repo_id = emu.repo_id(REPO)
    r1 = client.get(f"/repos/{REPO}/issues", params={"state": "all", "per_page": 100})
    assert r1.status_code == 200
    assert r1.headers["content-type"] == "application/json; charset=utf-8"
    assert len(r1.json()) == 100
    assert set(r1.links) == {"next", "last"}
    nxt = urlsplit(r1.links["next"]["url"])
    assert f"{nxt.scheme}://{nxt.netloc}" == emu.url
    assert nxt.path == f"/repositories/{repo_id}/issues"
    assert parse_qs(nxt.query) == {"state": ["all"], "per_page": ["100"], "page": ["2"]}
    assert parse_qs(urlsplit(r1.links["last"]["url"]).query)["page"] == ["3"]

    r2 = client.get(r1.links["next"]["url"])
    assert set(r2.links) == {"prev", "next", "last", "first"}
    assert parse_qs(urlsplit(r2.links["prev"]["url"]).query)["page"] == ["1"]
    assert parse_qs(urlsplit(r2.links["first"]["url"]).query)["page"] == ["1"]
    r3 = client.get(r2.links["next"]["url"])
    assert set(r3.links) == {"prev", "first"}
    assert len(r3.json()) == 50

    items, responses = walk(client, f"/repos/{REPO}/issues", {"state": "all", "per_page": 100})
    numbers = [i["number"] for i in items]
    assert len(responses) == 3
    assert sorted(numbers) == list(range(1, 251))  # every issue exactly once
    assert numbers == sorted(numbers, reverse=True)  # default: created desc (numbers follow creation)

    by_id, _ = walk(client, f"/repositories/{repo_id}/issues", {"state": "all", "per_page": 100})
    assert by_id == items


def test_defaults_single_page_and_beyond_last(client: httpx.Client) -> None:
    r = client.get(f"/repos/{REPO}/issues")
    body = r.json()
    assert len(body) == 30
    assert all(i["state"] == "open" for i in body)
    created = [(i["created_at"], i["number"]) for i in body]
    assert created == sorted(created, reverse=True)
    few = client.get(f"/repos/{REPO}/issues", params={"state": "all", "since": "2100-01-01T00:00:00Z"})
    assert few.json() == [] and "link" not in few.headers
    beyond = client.get(f"/repos/{REPO}/issues", params={"state": "all", "per_page": 100, "page": 9})
    assert beyond.status_code == 200 and beyond.json() == []


@pytest.mark.parametrize(
    ("state", "sort", "direction"),
    [("all", "updated", "asc"), ("open", "updated", "desc"), ("closed", "created", "asc"), ("all", "comments", "desc")],
)
def test_since_sort_direction_state(emu: Emulator, client: httpx.Client, state: str, sort: str, direction: str) -> None:
    truth = emu.issues(REPO)
    since_ts = sorted(ts(i["updated_at"]) for i in truth)[len(truth) // 3]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since_ts))
    params = {"state": state, "sort": sort, "direction": direction, "since": since, "per_page": 37}
    items, responses = walk(client, f"/repos/{REPO}/issues", params)
    for resp in responses[1:]:
        query = parse_qs(urlsplit(str(resp.url)).query)
        assert query["since"] == [since] and query["sort"] == [sort] and query["direction"] == [direction]

    field = {"updated": "updated_at", "created": "created_at", "comments": "comments"}[sort]
    expected = [i for i in truth if ts(i["updated_at"]) >= since_ts and (state == "all" or i["state"] == state)]
    expected.sort(key=lambda i: (i[field], i["number"]), reverse=direction == "desc")
    assert [i["number"] for i in items] == [i["number"] for i in expected]
    assert items == expected


def test_per_page_is_clamped_to_100(client: httpx.Client) -> None:
    r = client.get(f"/repos/{REPO}/issues", params={"state": "all", "per_page": 500})
    assert r.status_code == 200 and len(r.json()) == 100
    assert parse_qs(urlsplit(r.links["last"]["url"]).query)["page"] == ["3"]


def test_not_found_and_validation_errors(client: httpx.Client) -> None:
    r = client.get("/repos/nobody/nothing/issues")
    assert r.status_code == 404
    assert r.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/issues/issues#list-repository-issues",
        "status": "404",
    }
    assert "x-ratelimit-remaining" in r.headers
    assert client.get("/repositories/1/issues").status_code == 404
    assert client.get("/repos/nobody/nothing").status_code == 404
    for params in ({"state": "bogus"}, {"since": "yesterday"}, {"sort": "votes"}, {"direction": "up"}):
        bad = client.get(f"/repos/{REPO}/issues", params=params)
        assert bad.status_code == 422, params
        assert bad.json()["message"] == "Validation Failed"
        assert bad.json()["errors"][0]["field"] == next(iter(params))


# ---------------------------------------------------------------------------
# data shape and determinism
# ---------------------------------------------------------------------------


def test_issue_shape(emu: Emulator) -> None:
    issues = emu.issues(REPO) + emu.issues("demo-org/beta")
    assert len({i["id"] for i in issues}) == len(issues)
    assert any(i["user"] is None for i in issues)
    assert any(i["body"] is None for i in issues) and any(i["body"] == "" for i in issues)
    assert any("\n" in (i["body"] or "") for i in issues)
    assert any(any(ord(ch) > 0xFFFF for ch in i["title"]) for i in issues)  # emoji
    assert any("\\" in i["title"] for i in issues) and any('"' in i["title"] for i in issues)
    prs = [i for i in issues if "pull_request" in i]
    assert 0.15 < len(prs) / len(issues) < 0.45
    assert set(prs[0]["pull_request"]) == {"url", "html_url", "diff_url", "patch_url", "merged_at"}
    for i in issues:
        assert i["id"] > 2**31
        assert i["url"].startswith(emu.url) and i["url"].endswith(f"/issues/{i['number']}")
        assert i["state"] in ("open", "closed")
        for key in ("created_at", "updated_at"):
            assert TS_RE.match(i[key])
        assert i["updated_at"] >= i["created_at"]
        if i["state"] == "open":
            assert i["closed_at"] is None and i["closed_by"] is None
            assert i["state_reason"] in (None, "reopened")
        else:
            assert TS_RE.match(i["closed_at"]) and i["created_at"] <= i["closed_at"] <= i["updated_at"]
            assert i["state_reason"] in (None, "completed", "not_planned", "duplicate")
        assert i["author_association"] in AUTHOR_ASSOCIATIONS
        reactions = i["reactions"]
        assert reactions["total_count"] == sum(
            reactions[k] for k in ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
        )
        assert len(i["labels"]) <= 4
        assert (i["assignee"] is None) == (i["assignees"] == [])
        if i["user"] is not None:
            assert {"login", "id", "node_id", "avatar_url", "url", "html_url", "type", "site_admin"} <= set(i["user"])
    counts = collections.Counter((i["repository_url"], i["updated_at"]) for i in issues)
    shared = sum(c for c in counts.values() if c > 1)
    assert shared / len(issues) > 0.02  # identical updated_at values happen


def test_determinism() -> None:
    fixed = {"api_url": "https://api.github.com"}
    bodies = []
    for seed in (7, 7, 8):
        with Emulator(cfg(seed=seed, **fixed)) as e, httpx.Client(base_url=e.url) as c:
            r = c.get(f"/repos/{REPO}/issues", params={"state": "all", "per_page": 100, "page": 2})
            bodies.append((r.content, r.headers["etag"]))
            assert orjson.loads(r.content)[0]["url"].startswith("https://api.github.com/repos/")
    assert bodies[0] == bodies[1]
    assert bodies[0][0] != bodies[2][0]
    # with the default (emulator's own) base URL, bodies differ only by that base
    own = []
    for _ in range(2):
        with Emulator(cfg()) as e, httpx.Client(base_url=e.url) as c:
            own.append(c.get(f"/repos/{REPO}/issues", params={"state": "all"}).content.replace(e.url.encode(), b"BASE"))
    assert own[0] == own[1]


def test_repo_and_rate_limit_endpoints(emu: Emulator, client: httpx.Client) -> None:
    repo = client.get(f"/repos/{REPO}").json()
    assert repo["id"] == emu.repo_id(REPO) and repo["full_name"] == REPO
    assert repo["private"] is False and repo["archived"] is False and repo["owner"]["login"] == "demo-org"
    assert client.get(f"/repositories/{repo['id']}").json()["full_name"] == REPO
    before = client.get("/rate_limit")
    after = client.get("/rate_limit")
    assert before.status_code == 200
    core = after.json()["resources"]["core"]
    assert after.json()["rate"] == core
    assert core["remaining"] == before.json()["resources"]["core"]["remaining"]  # not charged
    assert set(core) == {"limit", "used", "remaining", "reset"}
    assert "search" in after.json()["resources"]


# ---------------------------------------------------------------------------
# ETags, rate limits, tokens
# ---------------------------------------------------------------------------


def test_etag_304_is_not_charged(client: httpx.Client) -> None:
    r = client.get(f"/repos/{REPO}/issues", params={"state": "closed"})
    etag = r.headers["etag"]
    assert re.fullmatch(r'W/"[0-9a-f]{40}"', etag)
    remaining = int(r.headers["x-ratelimit-remaining"])
    again = client.get(f"/repos/{REPO}/issues", params={"state": "closed"}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert int(again.headers["x-ratelimit-remaining"]) == remaining
    changed = client.get(f"/repos/{REPO}/issues", params={"state": "open"}, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and int(changed.headers["x-ratelimit-remaining"]) == remaining - 1


def test_rate_limit_exhaustion_and_refill() -> None:
    clock = FakeClock()
    with Emulator(cfg(rate_limit=3, rate_reset_seconds=60, clock=clock)) as e, httpx.Client(base_url=e.url) as c:
        seen = []
        for _ in range(3):
            r = c.get(f"/repos/{REPO}/issues", headers={"Authorization": "Bearer abc"})
            assert r.status_code == 200
            seen.append(int(r.headers["x-ratelimit-remaining"]))
            assert r.headers["x-ratelimit-limit"] == "3" and r.headers["x-ratelimit-resource"] == "core"
            assert r.headers["x-github-api-version-selected"] == "2022-11-28" and r.headers["x-github-request-id"]
        assert seen == [2, 1, 0]
        assert r.headers["x-ratelimit-used"] == "3"
        blocked = c.get(f"/repos/{REPO}/issues", headers={"Authorization": "token abc"})
        assert blocked.status_code == 403
        body = blocked.json()
        assert body["message"].startswith("API rate limit exceeded for user ID 1.")
        assert "request ID" in body["message"]
        assert body["documentation_url"] == "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
        assert blocked.headers["x-ratelimit-remaining"] == "0"
        reset = int(blocked.headers["x-ratelimit-reset"])
        assert reset > clock.now
        assert e.request_log[-1].charged is False
        # anonymous requests have their own budget
        assert c.get(f"/repos/{REPO}/issues").status_code == 200
        clock.now = reset + 1
        refilled = c.get(f"/repos/{REPO}/issues", headers={"Authorization": "Bearer abc"})
        assert refilled.status_code == 200 and refilled.headers["x-ratelimit-remaining"] == "2"

        e.set_rate_limit(remaining=0, reset_in=5, token=None)
        anon = c.get(f"/repos/{REPO}/issues")
        assert anon.status_code == 403 and anon.json()["message"].startswith("API rate limit exceeded")
        assert int(anon.headers["x-ratelimit-reset"]) == int(clock.now + 5)
        clock.now += 5
        assert c.get(f"/repos/{REPO}/issues").status_code == 200


def test_tokens_and_bad_credentials() -> None:
    secret = "ghp_SuperSecretTokenValue123"
    with Emulator(cfg(tokens=("good-1", "good-2"), rate_limit=10)) as e, httpx.Client(base_url=e.url) as c:
        bad = c.get(f"/repos/{REPO}/issues", headers={"Authorization": f"Bearer {secret}"})
        assert bad.status_code == 401
        assert bad.json() == {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}
        assert secret not in bad.text and all(secret not in v for v in bad.headers.values())
        r1 = c.get(f"/repos/{REPO}/issues", headers={"Authorization": "Bearer good-1"})
        r2 = c.get(f"/repos/{REPO}/issues", headers={"Authorization": "token good-2"})
        assert r1.status_code == r2.status_code == 200
        assert r1.headers["x-ratelimit-remaining"] == r2.headers["x-ratelimit-remaining"] == "9"
        assert c.get(f"/repos/{REPO}/issues").status_code == 200  # anonymous allowed
        log = e.request_log
        assert [rec.token for rec in log] == [secret, "good-1", "good-2", None]
        assert [rec.status for rec in log] == [401, 200, 200, 200]
        assert isinstance(log[0], RequestRecord) and log[1].query == {} and log[1].path == f"/repos/{REPO}/issues"
        admin_log = c.get("/_emulator/log")
        assert secret not in admin_log.text and "good-1" not in admin_log.text
        assert admin_log.json()[1]["token"] == token_fingerprint("good-1")
        assert c.post("/_emulator/clear-log").status_code == 200
        assert e.request_log == []


# ---------------------------------------------------------------------------
# search
# ---------------------------------------------------------------------------


def test_search_filters_order_and_links(emu: Emulator, client: httpx.Client) -> None:
    truth = emu.issues(REPO)
    q = f"repo:{REPO} is:issue updated:2025-01-15..2025-02-20"
    r = client.get("/search/issues", params={"q": q, "sort": "updated", "order": "asc", "per_page": 20})
    assert r.status_code == 200
    assert r.headers["x-ratelimit-resource"] == "search"
    body = r.json()
    expected = [
        i
        for i in truth
        if "pull_request" not in i and "2025-01-15T00:00:00Z" <= i["updated_at"] <= "2025-02-20T23:59:59Z"
    ]
    expected.sort(key=lambda i: (i["updated_at"], i["number"]))
    assert body["total_count"] == len(expected) > 20 and body["incomplete_results"] is False
    assert [i["number"] for i in body["items"]] == [i["number"] for i in expected[:20]]
    assert body["items"][0]["score"] == 1.0
    assert urlsplit(r.links["next"]["url"]).path == "/search/issues"
    items = list(body["items"])
    url = r.links["next"]["url"]
    while url:
        page = client.get(url)
        items.extend(page.json()["items"])
        url = page.links.get("next", {}).get("url")
    assert [i["number"] for i in items] == [i["number"] for i in expected]

    prs = client.get("/search/issues", params={"q": f"repo:{REPO} is:pr updated:>=2025-02-01T00:00:00Z"}).json()
    assert prs["total_count"] == sum(1 for i in truth if "pull_request" in i and i["updated_at"] >= "2025-02-01T00:00:00Z")
    created = client.get("/search/issues", params={"q": f"repo:{REPO} created:2025-01-10..2025-01-20T12:00:00Z"}).json()
    assert created["total_count"] == sum(
        1 for i in truth if "2025-01-10T00:00:00Z" <= i["created_at"] <= "2025-01-20T12:00:00Z"
    )
    unknown = client.get("/search/issues", params={"q": "repo:nobody/nothing"})
    assert unknown.status_code == 422
    assert client.get("/search/issues").status_code == 422


def test_search_1000_cap_and_budget() -> None:
    with Emulator(cfg(issues_per_repo=1500, repos=(REPO,), search_rate_limit=5)) as e, httpx.Client(base_url=e.url) as c:
        r = c.get("/search/issues", params={"q": f"repo:{REPO}", "sort": "created", "order": "asc", "per_page": 100})
        assert r.json()["total_count"] == 1500
        assert parse_qs(urlsplit(r.links["last"]["url"]).query)["page"] == ["10"]
        assert r.headers["x-ratelimit-limit"] == "5" and r.headers["x-ratelimit-remaining"] == "4"
        last = c.get(r.links["last"]["url"])
        assert last.status_code == 200 and "next" not in last.links
        over = c.get("/search/issues", params={"q": f"repo:{REPO}", "per_page": 100, "page": 11})
        assert over.status_code == 422
        assert over.json() == {
            "message": "Only the first 1000 search results are available",
            "documentation_url": "https://docs.github.com/v3/search/",
            "status": "422",
        }
        # the core budget is separate from the search budget
        core = c.get(f"/repos/{REPO}/issues")
        assert core.headers["x-ratelimit-resource"] == "core" and core.headers["x-ratelimit-remaining"] == "4999"
        for _ in range(2):
            c.get("/search/issues", params={"q": f"repo:{REPO}"})
        blocked = c.get("/search/issues", params={"q": f"repo:{REPO}"})
        assert blocked.status_code == 403 and blocked.json()["message"].startswith("API rate limit exceeded")


# ---------------------------------------------------------------------------
# fault injection
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_server_error_faults(kind: str) -> None:
    with Emulator(cfg(fault_rate=1.0, fault_kinds=(kind,))) as e, httpx.Client(base_url=e.url) as c:
        r = c.get(f"/repos/{REPO}/issues")
        assert r.status_code == int(kind)
        assert r.content
        assert c.get(f"/repos/{REPO}").status_code == 200  # only list/search endpoints are faulted
        assert c.get("/search/issues", params={"q": f"repo:{REPO}"}).status_code == int(kind)
        assert e.request_log[0].charged is False and e.request_log[0].fault == kind


def test_secondary_rate_limit_fault() -> None:
    with Emulator(cfg(fault_rate=1.0, fault_kinds=("secondary",))) as e, httpx.Client(base_url=e.url) as c:
        r = c.get(f"/repos/{REPO}/issues")
        assert r.status_code == 403
        assert r.json()["message"].startswith("You have exceeded a secondary rate limit")
        assert r.json()["documentation_url"].endswith("#about-secondary-rate-limits")
        assert r.headers["retry-after"] == "1"
        assert int(r.headers["x-ratelimit-remaining"]) > 0


def test_reset_truncated_and_slow_faults() -> None:
    with Emulator(cfg(fault_rate=1.0, fault_kinds=("reset",))) as e:
        with httpx.Client(base_url=e.url) as c, pytest.raises(httpx.TransportError):
            c.get(f"/repos/{REPO}/issues")
        assert e.request_log[0].status == 0 and e.request_log[0].fault == "reset"
    with Emulator(cfg(fault_rate=1.0, fault_kinds=("truncated",))) as e:
        with httpx.Client(base_url=e.url) as c, pytest.raises(httpx.TransportError):
            c.get(f"/repos/{REPO}/issues", params={"per_page": 100, "state": "all"})
        with httpx.Client(base_url=e.url) as c, c.stream("GET", f"/repos/{REPO}/issues") as resp:
            assert resp.status_code == 200 and int(resp.headers["content-length"]) > 0
            with pytest.raises(httpx.TransportError):
                resp.read()
    with Emulator(cfg(fault_rate=1.0, fault_kinds=("slow",), slow_seconds=0.3)) as e, httpx.Client(base_url=e.url) as c:
        t0 = time.perf_counter()
        r = c.get(f"/repos/{REPO}/issues")
        assert r.status_code == 200 and len(r.json()) == 30
        assert time.perf_counter() - t0 >= 0.3
        assert e.request_log[0].charged is True and e.request_log[0].fault == "slow"


def test_fault_sequence_is_deterministic_and_large_pages_fail() -> None:
    statuses = []
    for _ in range(2):
        with Emulator(cfg(fault_rate=0.5, fault_kinds=("500", "503", "secondary"))) as e, httpx.Client(base_url=e.url) as c:
            statuses.append([c.get(f"/repos/{REPO}/issues").status_code for _ in range(30)])
    assert statuses[0] == statuses[1]
    assert {200, 500, 503, 403} <= set(statuses[0])
    with Emulator(cfg(large_page_fail_above=50)) as e, httpx.Client(base_url=e.url) as c:
        assert c.get(f"/repos/{REPO}/issues", params={"per_page": 100}).status_code == 502
        assert c.get(f"/repos/{REPO}/issues", params={"per_page": 50}).status_code == 200


# ---------------------------------------------------------------------------
# mutation and identical timestamps
# ---------------------------------------------------------------------------


def test_mutate_updates_and_adds() -> None:
    with Emulator(cfg()) as e, httpx.Client(base_url=e.url) as c:
        before = {i["number"]: i for i in e.issues(REPO)}
        old_max = max(i["updated_at"] for i in before.values())
        numbers = e.mutate(REPO, update=5, add=3)
        assert len(numbers) == 8 and numbers[-3:] == [251, 252, 253]
        after = {i["number"]: i for i in e.issues(REPO)}
        assert len(after) == 253
        for n in numbers:
            assert after[n]["updated_at"] > old_max
        for n in numbers[:5]:
            assert after[n]["created_at"] == before[n]["created_at"]
            assert after[n] != before[n]
        for n in numbers[5:]:
            assert after[n]["created_at"] == after[n]["updated_at"] and after[n]["state"] == "open"
        assert all(after[n] == before[n] for n in before if n not in numbers)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts(old_max) + 1))
        changed, _ = walk(c, f"/repos/{REPO}/issues", {"state": "all", "since": since, "sort": "updated", "direction": "asc"})
        assert [i["number"] for i in changed] == numbers
        assert changed == [after[n] for n in numbers]
        r = c.post("/_emulator/mutate", json={"repo": REPO, "update": 2, "add": 1})
        assert r.status_code == 200 and len(r.json()["numbers"]) == 3 and r.json()["numbers"][-1] == 254
        assert c.post("/_emulator/mutate", json={"repo": "x/y", "update": 1}).status_code == 404
        assert [rec.path for rec in e.request_log] == [f"/repos/{REPO}/issues"]  # admin calls are not logged


def test_mutate_is_deterministic_and_per_page() -> None:
    results = []
    for _ in range(2):
        with Emulator(cfg(api_url="https://api.github.com")) as e:
            nums = e.mutate(REPO, update=4, add=2)
            results.append((nums, orjson.dumps(e.issues(REPO))))
    assert results[0] == results[1]
    with Emulator(cfg(mutate_per_page=3)) as e, httpx.Client(base_url=e.url) as c:
        old_max = max(i["updated_at"] for i in e.issues(REPO))
        first = c.get(f"/repos/{REPO}/issues", params={"state": "all", "sort": "updated", "direction": "asc"}).json()
        assert max(i["updated_at"] for i in first) <= old_max
        assert sum(1 for i in e.issues(REPO) if i["updated_at"] > old_max) == 3
        c.get(f"/repos/{REPO}/issues", params={"state": "all", "page": 2})
        assert sum(1 for i in e.issues(REPO) if i["updated_at"] > old_max) == 6


def test_identical_updated_cluster_spans_pages() -> None:
    with Emulator(cfg(identical_updated_cluster=160, repos=(REPO,), issues_per_repo=400)) as e, httpx.Client(base_url=e.url) as c:
        counts = collections.Counter(i["updated_at"] for i in e.issues(REPO))
        stamp, size = counts.most_common(1)[0]
        assert size >= 160
        r1 = c.get(
            f"/repos/{REPO}/issues",
            params={"state": "all", "sort": "updated", "direction": "asc", "since": stamp, "per_page": 100},
        )
        page1 = r1.json()
        page2 = c.get(r1.links["next"]["url"]).json()
        assert all(i["updated_at"] == stamp for i in page1)
        assert sum(1 for i in page2 if i["updated_at"] == stamp) == size - 100
        assert [i["number"] for i in page1 + page2[: size - 100]] == sorted(i["number"] for i in page1 + page2[: size - 100])
    with Emulator(cfg()) as e:
        assert collections.Counter(i["updated_at"] for i in e.issues(REPO)).most_common(1)[0][1] < 10


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------


def test_cli_starts_and_serves() -> None:
    with emulator_cli("--seed", "3", "--repos", "2", "--issues", "120") as url:
        r = httpx.get(f"{url}/repos/emulated-org/repo-001/issues", params={"state": "all", "per_page": 100}, timeout=10)
        assert r.status_code == 200 and len(r.json()) == 100
        assert parse_qs(urlsplit(r.links["last"]["url"]).query)["page"] == ["2"]
