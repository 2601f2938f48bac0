"""Tests of the emulator's GraphQL endpoint (POST /graphql) over real HTTP: auth, validation, cost, budget, data, faults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.graphql_schema import SCHEMA_PATH, load_github_schema, validate_query
from gh_assets_tests.emulator.test_emulator import walk

REPO = "demo-org/alpha"
AUTH_DOC = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CHANGE_TYPES = {"added": "ADDED", "removed": "DELETED", "modified": "MODIFIED", "renamed": "RENAMED",
                "copied": "COPIED", "changed": "CHANGED", "unchanged": "MODIFIED"}

REVIEW_FIELDS = """id databaseId author { login ... on User { databaseId } } authorAssociation state body submittedAt
                   commit { oid } url"""
FILE_FIELDS = "path additions deletions changeType"


def cfg(**overrides: Any) -> EmulatorConfig:
    base: dict[str, Any] = {"seed": 7, "repos": (REPO, "demo-org/beta"), "issues_per_repo": 300, "rate_limit": 100_000}
    base.update(overrides)
    return EmulatorConfig(**base)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(cfg(graphql_rate_limit=100_000)) as e:
        yield e


@pytest.fixture(scope="module")
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, timeout=30, headers={"Authorization": "Bearer module-token"}) as c:
        yield c


def gql(client: httpx.Client, query: str, token: str | None = None, **variables: Any) -> httpx.Response:
    headers = {"Authorization": f"bearer {token}"} if token else None
    return client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def pr_numbers(emu: Emulator, repo: str = REPO) -> list[int]:
    return [p["number"] for p in emu.pulls(repo)]


def batch_query(numbers: list[int], extra: str = "") -> str:
    aliases = " ".join(
        f"""pr{n}: pullRequest(number: {n}) {{ number
              reviews(first: 100) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {REVIEW_FIELDS} }} }}
              files(first: 100) {{ totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {FILE_FIELDS} }} }}
              {extra} }}"""
        for n in numbers
    )
    return f"""query {{ rateLimit {{ cost limit remaining resetAt used nodeCount }}
                repository(owner: "demo-org", name: "alpha") {{ {aliases} }} }}"""


def rest_review(r: dict[str, Any]) -> dict[str, Any]:
    """A REST review as the GraphQL fields above answer it."""
    user = r["user"]
    return {
        "id": r["node_id"],
        "databaseId": r["id"],
        "author": None if user is None else {"login": user["login"], "databaseId": user["id"]},
        "authorAssociation": r["author_association"],
        "state": r["state"],
        "body": r["body"],
        "submittedAt": r["submitted_at"],
        "commit": {"oid": r["commit_id"]},
        "url": r["html_url"],
    }


def rest_file(f: dict[str, Any]) -> dict[str, Any]:
    return {"path": f["filename"], "additions": f["additions"], "deletions": f["deletions"],
            "changeType": CHANGE_TYPES[f["status"]]}


def rate_headers(r: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in r.headers.items() if k.lower().startswith("x-ratelimit-")}


# ---------------------------------------------------------------------------
# schema module
# ---------------------------------------------------------------------------


def test_schema_is_packaged_loaded_once_and_validates() -> None:
    assert SCHEMA_PATH.name == "github_schema.graphql" and SCHEMA_PATH.is_file()
    assert (SCHEMA_PATH.parent / "github_schema.LICENSE.md").is_file()
    schema = load_github_schema()
    assert load_github_schema() is schema and schema.get_type("PullRequestReview") is not None
    assert validate_query('{ repository(owner: "a", name: "b") { pullRequest(number: 1) { number } } }') == []
    errors = validate_query('{ repository(owner: "a", name: "b") { pullRequest(number: 1) { bogus } } }')
    assert len(errors) == 1 and "bogus" in errors[0].message
    assert validate_query("{ repository(") != []


# ---------------------------------------------------------------------------
# auth and refusals
# ---------------------------------------------------------------------------


def test_authentication_is_required() -> None:
    with Emulator(cfg(tokens=("good",))) as e, httpx.Client(base_url=e.url) as c:
        r = c.post("/graphql", json={"query": "{ rateLimit { cost } }"})
        assert r.status_code == 401
        assert r.json() == {"message": "This endpoint requires you to be authenticated.", "documentation_url": AUTH_DOC}
        bad = c.post("/graphql", json={"query": "{ rateLimit { cost } }"}, headers={"Authorization": "token nope"})
        assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
        ok = c.post("/graphql", json={"query": "{ rateLimit { cost } }"}, headers={"Authorization": "Bearer good"})
        assert ok.status_code == 200 and ok.json() == {"data": {"rateLimit": {"cost": 1}}}
        assert [(rec.resource, rec.status, rec.cost) for rec in e.request_log] == [
            ("graphql", 401, 0), ("graphql", 401, 0), ("graphql", 200, 1),
        ]
        assert {rec.path for rec in e.request_log} == {"/graphql"}


def test_validation_errors_have_githubs_shape_and_cost_nothing(client: httpx.Client) -> None:
    token = "validation"
    r = gql(client, '{ repository(owner: "demo-org", name: "alpha") {\n  pullRequest(number: 1) { bogus } } }', token)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert error["message"] == "Field 'bogus' doesn't exist on type 'PullRequest'"
    assert error["locations"] == [{"line": 2, "column": 28}]
    assert rate_headers(r)["x-ratelimit-used"] == "0" and rate_headers(r)["x-ratelimit-resource"] == "graphql"

    syntax = gql(client, "{ repository(owner: ", token).json()
    assert set(syntax) == {"errors"} and syntax["errors"][0]["locations"]
    missing = client.post("/graphql", json={"nope": 1}, headers={"Authorization": "bearer validation"})
    assert missing.status_code == 200
    assert missing.json() == {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
    unparsable = client.post("/graphql", content=b"{not json", headers={"Authorization": "bearer validation"})
    assert unparsable.status_code == 400 and unparsable.json()["message"] == "Problems parsing JSON"
    assert client.get("/rate_limit", headers={"Authorization": "bearer validation"}).json()["resources"]["graphql"]["used"] == 0


def test_pagination_bounds_and_node_limit(emu: Emulator, client: httpx.Client) -> None:
    n = pr_numbers(emu)[0]
    r = gql(client, f'{{ repository(owner: "demo-org", name: "alpha") {{ pullRequest(number: {n}) {{\n'
                    "  files(first: 101) { totalCount } } } }", "bounds")
    assert r.status_code == 200
    (error,) = r.json()["errors"]
    assert error == {
        "type": "EXCESSIVE_PAGINATION",
        "path": ["repository", "pullRequest", "files"],
        "locations": [{"line": 2, "column": 3}],
        "message": "Requesting 101 records on the `files` connection exceeds the `first` limit of 100 records.",
    }
    # a variable is checked the same way
    by_var = gql(client, "query($n: Int!, $k: Int) { repository(owner: \"demo-org\", name: \"alpha\") { "
                         "pullRequest(number: $n) { reviews(last: $k) { totalCount } } } }", "bounds", n=n, k=500)
    assert by_var.json()["errors"][0]["message"] == (
        "Requesting 500 records on the `reviews` connection exceeds the `last` limit of 100 records."
    )
    missing = gql(client, f'{{ repository(owner: "demo-org", name: "alpha") {{ pullRequest(number: {n}) {{ '
                          "reviews { totalCount } } } }", "bounds").json()
    assert missing["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert missing["errors"][0]["message"] == (
        "You must provide a `first` or `last` value to properly paginate the `reviews` connection."
    )
    # 100 pull requests x 100 assignees x 100 repositories each: 1,010,100 nodes
    huge = gql(client, """{ repository(owner: "demo-org", name: "alpha") { pullRequests(first: 100) { nodes {
                 assignees(first: 100) { nodes { repositories(first: 100) { nodes { name } } } } } } } }""", "bounds")
    (error,) = huge.json()["errors"]
    assert error["type"] == "MAX_NODE_LIMIT_EXCEEDED" and error["locations"]
    assert error["message"] == (
        "By the time this query traverses to the repositories connection, it is requesting up to 1,010,100 possible "
        "nodes which exceeds the maximum limit of 500,000."
    )
    both = gql(client, f"{{ repository(owner: \"demo-org\", name: \"alpha\") {{ pullRequest(number: {n}) {{ "
                       "files(first: 1, last: 1) { totalCount } } } }", "bounds").json()
    assert "Passing both `first` and `last`" in both["errors"][0]["message"]
    assert client.get("/rate_limit", headers={"Authorization": "bearer bounds"}).json()["resources"]["graphql"]["used"] == 0


# ---------------------------------------------------------------------------
# cost and budget
# ---------------------------------------------------------------------------


def test_cost_of_a_50_pull_request_batch_and_a_separate_budget(emu: Emulator, client: httpx.Client) -> None:
    token = "cost"
    numbers = pr_numbers(emu)[:50]
    core_before = client.get("/rate_limit", headers={"Authorization": f"bearer {token}"}).json()["resources"]["core"]
    emu.clear_log()
    r = gql(client, batch_query(numbers), token)
    assert r.status_code == 200 and "errors" not in r.json()
    rate = r.json()["data"]["rateLimit"]
    # 1 (root) + 50 reviews + 50 files connection requests = 101 -> 1 point; 50 x (100 + 100) nodes
    assert rate["cost"] == 1 and rate["nodeCount"] == 10_000
    assert rate["limit"] == 100_000 and rate["remaining"] == 99_999 and rate["used"] == 1
    assert ISO_Z.match(rate["resetAt"])
    headers = rate_headers(r)
    assert headers == {
        "x-ratelimit-limit": "100000",
        "x-ratelimit-remaining": "99999",
        "x-ratelimit-reset": headers["x-ratelimit-reset"],
        "x-ratelimit-used": "1",
        "x-ratelimit-resource": "graphql",
    }
    assert rate["resetAt"] == _iso(int(headers["x-ratelimit-reset"]))
    # eight connections per pull request: 1 + 50 x 8 = 401 requests -> 4 points
    more = gql(client, batch_query(numbers, "labels(first: 10) { nodes { name } } assignees(first: 10) { nodes { login } } "
                                   "commits(first: 1) { totalCount } reviewThreads(first: 1) { totalCount } "
                                   "reviewRequests(first: 10) { nodes { requestedReviewer { ... on User { login } } } } "
                                   "comments(first: 1) { totalCount }"), token)
    assert more.json()["data"]["rateLimit"]["cost"] == 4 and rate_headers(more)["x-ratelimit-used"] == "5"
    limits = client.get("/rate_limit", headers={"Authorization": f"bearer {token}"}).json()["resources"]
    assert limits["graphql"]["used"] == 5 and limits["graphql"]["limit"] == 100_000
    assert limits["core"]["remaining"] == core_before["remaining"]  # REST's budget is untouched
    graphql_records = [rec for rec in emu.request_log if rec.resource == "graphql"]
    assert [(rec.path, rec.status, rec.charged, rec.cost) for rec in graphql_records] == [
        ("/graphql", 200, True, 1), ("/graphql", 200, True, 4),
    ]
    assert emu.rate_limit_state(token=token, resource="graphql")["used"] == 5


def _iso(epoch: int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def test_rate_limited_when_the_budget_is_spent() -> None:
    with Emulator(cfg(graphql_rate_limit=3)) as e, httpx.Client(base_url=e.url, headers={"Authorization": "token t"}) as c:
        for used in (1, 2, 3):
            r = c.post("/graphql", json={"query": "{ rateLimit { remaining used } }"})
            assert r.json() == {"data": {"rateLimit": {"remaining": 3 - used, "used": used}}}
        spent = c.post("/graphql", json={"query": "{ rateLimit { remaining } }"})
        assert spent.status_code == 200
        assert spent.json() == {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 1."}]}
        assert rate_headers(spent)["x-ratelimit-remaining"] == "0" and rate_headers(spent)["x-ratelimit-used"] == "3"
        assert c.get(f"/repos/{REPO}/pulls").status_code == 200  # the REST budget is another bucket
        assert e.request_log[-2].cost == 0 and e.request_log[-2].charged is False
        e.set_rate_limit(remaining=3, token="t", resource="graphql")
        assert c.post("/graphql", json={"query": "{ rateLimit { remaining } }"}).json()["data"]["rateLimit"] == {"remaining": 2}
        e.set_rate_limit(remaining=0, token="t", resource="graphql")
        assert c.post("/graphql", json={"query": "{ rateLimit { cost } }"}).json()["errors"][0]["type"] == "RATE_LIMITED"
        admin = c.post("/_emulator/rate-limit", json={"token": "t", "resource": "graphql", "remaining": 1})
        assert admin.json()["remaining"] == 1


# ---------------------------------------------------------------------------
# data: GraphQL answers what REST serves
# ---------------------------------------------------------------------------


def test_repository_and_pull_requests_match_rest(emu: Emulator, client: httpx.Client) -> None:
    pulls = {p["number"]: p for p in emu.pulls(REPO)}
    numbers = sorted(pulls)[:6]
    aliases = " ".join(
        f"""pr{n}: pullRequest(number: {n}) {{ id databaseId number title state isDraft updatedAt createdAt closedAt
              mergedAt url author {{ login }} headRefOid changedFiles additions deletions
              labels(first: 100) {{ nodes {{ name }} }} assignees(first: 100) {{ nodes {{ login }} }}
              reviewRequests(first: 100) {{ nodes {{ requestedReviewer {{ ... on User {{ login }} }} }} }}
              commits(first: 100) {{ totalCount nodes {{ commit {{ oid }} }} }} comments(first: 1) {{ totalCount }} }}"""
        for n in numbers
    )
    r = gql(client, f"""{{ repository(owner: "DEMO-ORG", name: "Alpha") {{ id databaseId name nameWithOwner owner {{ login }}
                          {aliases} }} }}""")
    body = r.json()
    assert "errors" not in body, body
    repo = body["data"]["repository"]
    rest_repo = client.get(f"/repos/{REPO}").json()
    assert (repo["id"], repo["databaseId"], repo["name"], repo["nameWithOwner"], repo["owner"]["login"]) == (
        rest_repo["node_id"], rest_repo["id"], "alpha", REPO, "demo-org",
    )
    issues = {i["number"]: i for i in emu.issues(REPO)}
    files = {}
    for n, f in emu.pr_files(REPO):
        files.setdefault(n, []).append(f)
    for n in numbers:
        p, g = pulls[n], repo[f"pr{n}"]
        state = "MERGED" if p["merged_at"] else p["state"].upper()
        assert (g["id"], g["databaseId"], g["number"], g["title"], g["state"], g["isDraft"]) == (
            p["node_id"], p["id"], n, p["title"], state, p["draft"],
        )
        assert (g["createdAt"], g["updatedAt"], g["closedAt"], g["mergedAt"], g["url"], g["headRefOid"]) == (
            p["created_at"], p["updated_at"], p["closed_at"], p["merged_at"], p["html_url"], p["head"]["sha"],
        )
        login = None if p["user"] is None else p["user"]["login"]
        if login is not None and p["user"]["type"] == "Bot":
            login = login.removesuffix("[bot]")  # GraphQL names bots without the suffix
        assert (g["author"] or {}).get("login") == login
        assert [x["name"] for x in g["labels"]["nodes"]] == [x["name"] for x in p["labels"]]
        assert [x["login"] for x in g["assignees"]["nodes"]] == [x["login"] for x in p["assignees"]]
        assert [x["requestedReviewer"]["login"] for x in g["reviewRequests"]["nodes"]] == [
            x["login"] for x in p["requested_reviewers"]
        ]
        assert g["changedFiles"] == len(files[n])
        assert g["additions"] == sum(f["additions"] for f in files[n])
        assert g["deletions"] == sum(f["deletions"] for f in files[n])
        assert g["commits"]["nodes"][-1]["commit"]["oid"] == p["head"]["sha"]
        assert g["commits"]["totalCount"] == len(g["commits"]["nodes"]) >= 1
        assert g["comments"]["totalCount"] == issues[n]["comments"]


def test_reviews_and_files_equal_the_rest_endpoints(emu: Emulator, client: httpx.Client) -> None:
    numbers = pr_numbers(emu)[:50]
    r = gql(client, batch_query(numbers))
    data = r.json()["data"]["repository"]
    checked = 0
    for n in numbers:
        g = data[f"pr{n}"]
        reviews, _ = walk(client, f"/repos/{REPO}/pulls/{n}/reviews", {"per_page": 100})
        files, _ = walk(client, f"/repos/{REPO}/pulls/{n}/files", {"per_page": 100})
        assert g["reviews"]["totalCount"] == len(reviews) and g["files"]["totalCount"] == len(files)
        assert g["reviews"]["nodes"] == [rest_review(x) for x in reviews[:100]]
        assert g["files"]["nodes"] == [rest_file(x) for x in files[:100]]
        assert g["reviews"]["pageInfo"]["hasNextPage"] == (len(reviews) > 100)
        assert g["files"]["pageInfo"]["hasNextPage"] == (len(files) > 100)
        checked += bool(reviews)
    assert checked >= 10  # enough pull requests with reviews to mean something


def test_big_pull_request_is_completed_by_following_end_cursor(emu: Emulator, client: httpx.Client) -> None:
    number = emu.make_big_pull(REPO, pr_numbers(emu)[3], files=250, reviews=150)
    files, responses = walk(client, f"/repos/{REPO}/pulls/{number}/files", {"per_page": 100})
    reviews, _ = walk(client, f"/repos/{REPO}/pulls/{number}/reviews", {"per_page": 100})
    assert len(files) == 250 and len(responses) == 3 and len(reviews) == 150

    first = gql(client, batch_query([number], "id")).json()["data"]["repository"][f"pr{number}"]
    node_id = first["id"]
    got_reviews, got_files = list(first["reviews"]["nodes"]), list(first["files"]["nodes"])
    assert first["reviews"]["totalCount"] == 150 and first["files"]["totalCount"] == 250
    page_query = f"""query($id: ID!, $files: String, $reviews: String, $wantFiles: Boolean!, $wantReviews: Boolean!) {{
        node(id: $id) {{ ... on PullRequest {{
          files(first: 100, after: $files) @include(if: $wantFiles) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {FILE_FIELDS} }} }}
          reviews(first: 100, after: $reviews) @include(if: $wantReviews) {{
            pageInfo {{ hasNextPage endCursor }} nodes {{ {REVIEW_FIELDS} }} }} }} }} }}"""
    cursors = {"files": first["files"]["pageInfo"], "reviews": first["reviews"]["pageInfo"]}
    pages = 0
    while cursors["files"]["hasNextPage"] or cursors["reviews"]["hasNextPage"]:
        r = gql(client, page_query, id=node_id, files=cursors["files"]["endCursor"], reviews=cursors["reviews"]["endCursor"],
                wantFiles=cursors["files"]["hasNextPage"], wantReviews=cursors["reviews"]["hasNextPage"])
        node = r.json()["data"]["node"]
        for key, sink in (("files", got_files), ("reviews", got_reviews)):
            if key in node:
                sink.extend(node[key]["nodes"])
                cursors[key] = node[key]["pageInfo"]
        pages += 1
    assert pages == 2
    assert got_files == [rest_file(f) for f in files]
    assert got_reviews == [rest_review(x) for x in reviews]
    # backwards: the last 50 files before the final cursor
    tail = gql(client, f"""query($id: ID!, $before: String) {{ node(id: $id) {{ ... on PullRequest {{
                 files(last: 50, before: $before) {{ pageInfo {{ hasPreviousPage hasNextPage }} nodes {{ path }} }} }} }} }}""",
               id=node_id, before=cursors["files"]["endCursor"]).json()["data"]["node"]["files"]
    assert [f["path"] for f in tail["nodes"]] == [f["filename"] for f in files[199:249]]
    assert tail["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": True}
    bad = gql(client, page_query, id=node_id, files="not-a-cursor", reviews=None, wantFiles=True, wantReviews=False).json()
    assert bad["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS" and bad["data"]["node"] == {"files": None}
    assert bad["errors"][0]["message"] == "`not-a-cursor` does not appear to be a valid cursor."


def test_deleted_pull_request_is_not_found_beside_partial_data(emu: Emulator, client: httpx.Client) -> None:
    keep, gone = pr_numbers(emu, "demo-org/beta")[:2]
    node_id = next(p["node_id"] for p in emu.pulls("demo-org/beta") if p["number"] == gone)
    emu.delete_pull("demo-org/beta", gone)
    query = f"""{{ repository(owner: "demo-org", name: "beta") {{
        kept: pullRequest(number: {keep}) {{ number }}
        gone: pullRequest(number: {gone}) {{ number reviews(first: 10) {{ totalCount }} }} }} }}"""
    r = gql(client, query)
    assert r.status_code == 200
    body = r.json()
    assert body["data"] == {"repository": {"kept": {"number": keep}, "gone": None}}
    assert body["errors"] == [{
        "type": "NOT_FOUND",
        "path": ["repository", "gone"],
        "locations": [{"line": 3, "column": 9}],
        "message": f"Could not resolve to a PullRequest with the number of {gone}.",
    }]
    for sub in ("reviews", "files"):
        assert client.get(f"/repos/demo-org/beta/pulls/{gone}/{sub}").status_code == 404
    assert gone not in pr_numbers(emu, "demo-org/beta")
    listed, _ = walk(client, "/repos/demo-org/beta/pulls", {"state": "all", "per_page": 100})
    assert gone not in {p["number"] for p in listed}
    nodes = gql(client, "query($ids: [ID!]!) { nodes(ids: $ids) { ... on PullRequest { number } } }",
                ids=[node_id, next(p["node_id"] for p in emu.pulls("demo-org/beta") if p["number"] == keep)]).json()
    assert nodes["data"]["nodes"] == [None, {"number": keep}]
    assert nodes["errors"][0]["type"] == "NOT_FOUND" and nodes["errors"][0]["path"] == ["nodes", 0]
    missing_repo = gql(client, '{ repository(owner: "demo-org", name: "nope") { id } }').json()
    assert missing_repo == {
        "data": {"repository": None},
        "errors": [{"type": "NOT_FOUND", "path": ["repository"], "locations": [{"line": 1, "column": 3}],
                    "message": "Could not resolve to a Repository with the name 'demo-org/nope'."}],
    }


def test_issue_and_pull_request_connections_match_rest(emu: Emulator, client: httpx.Client) -> None:
    since = "2025-02-01T00:00:00Z"
    rest, _ = walk(client, f"/repos/{REPO}/issues", {"state": "all", "since": since, "per_page": 100, "sort": "created",
                                                    "direction": "asc"})
    want = [i["number"] for i in rest if "pull_request" not in i]
    got: list[int] = []
    after = None
    while True:
        r = gql(client, """query($after: String, $since: DateTime) { repository(owner: "demo-org", name: "alpha") {
                  issues(first: 100, after: $after, filterBy: {since: $since}) {
                    totalCount pageInfo { hasNextPage endCursor } nodes { number state updatedAt } } } }""",
                after=after, since=since).json()["data"]["repository"]["issues"]
        assert r["totalCount"] == len(want)
        got.extend(n["number"] for n in r["nodes"])
        if not r["pageInfo"]["hasNextPage"]:
            break
        after = r["pageInfo"]["endCursor"]
    assert got == want
    prs = gql(client, """{ repository(owner: "demo-org", name: "alpha") {
                open: pullRequests(first: 100, states: [OPEN]) { totalCount nodes { number state } }
                all: pullRequests(first: 100) { totalCount } } }""").json()["data"]["repository"]
    rest_open, _ = walk(client, f"/repos/{REPO}/pulls", {"state": "open", "per_page": 100, "direction": "asc"})
    assert [p["number"] for p in prs["open"]["nodes"]] == [p["number"] for p in rest_open]
    assert {p["state"] for p in prs["open"]["nodes"]} <= {"OPEN"}
    assert prs["all"]["totalCount"] == len(emu.pulls(REPO))


# ---------------------------------------------------------------------------
# faults
# ---------------------------------------------------------------------------


def test_502_above_the_node_threshold_and_secondary_limits() -> None:
    with Emulator(cfg(graphql_max_nodes=5_000)) as e, httpx.Client(base_url=e.url, headers={"Authorization": "token t"}) as c:
        numbers = pr_numbers(e)[:50]
        big = c.post("/graphql", json={"query": batch_query(numbers)})  # 10,000 nodes
        assert big.status_code == 502 and big.headers["content-type"].startswith("text/html")
        assert b"502 Bad Gateway" in big.content
        small = c.post("/graphql", json={"query": batch_query(numbers[:20])})  # 4,000 nodes
        assert small.status_code == 200 and small.json()["data"]["rateLimit"]["used"] == 2  # the 502 was charged too
        assert [(rec.status, rec.fault, rec.cost) for rec in e.request_log] == [(502, "graphql_timeout", 1), (200, None, 1)]
    with Emulator(cfg(graphql_fault_rate=1.0, fault_kinds=("secondary",), secondary_retry_after=7)) as e, httpx.Client(
        base_url=e.url, headers={"Authorization": "token t"}
    ) as c:
        r = c.post("/graphql", json={"query": "{ rateLimit { cost } }"})
        assert r.status_code == 403 and r.headers["retry-after"] == "7"
        assert "secondary rate limit" in r.json()["message"]
        assert c.get(f"/repos/{REPO}/pulls").status_code == 200  # REST keeps its own fault rate (0)
        assert e.request_log[0].fault == "secondary" and e.request_log[0].cost == 0
        assert e.rate_limit_state(token="t", resource="graphql")["used"] == 0


def test_admin_endpoints_make_big_and_delete_pulls() -> None:
    with Emulator(cfg()) as e, httpx.Client(base_url=e.url) as c:
        numbers = pr_numbers(e)
        made = c.post("/_emulator/big-pull", json={"repo": REPO, "files": 120, "reviews": 101}).json()
        assert made == {"repo": REPO, "number": numbers[0]}
        assert len(walk(c, f"/repos/{REPO}/pulls/{numbers[0]}/files", {"per_page": 100})[0]) == 120
        assert len(walk(c, f"/repos/{REPO}/pulls/{numbers[0]}/reviews", {"per_page": 100})[0]) == 101
        assert c.post("/_emulator/delete-pull", json={"repo": REPO, "number": numbers[1]}).json()["deleted"] is True
        assert c.get(f"/repos/{REPO}/pulls/{numbers[1]}/files").status_code == 404
        assert c.post("/_emulator/delete-pull", json={"repo": REPO, "number": 10_000}).status_code == 422
        with pytest.raises(KeyError):
            e.delete_pull(REPO, 10_000)


# ---------------------------------------------------------------------------
# speed, edges, configuration
# ---------------------------------------------------------------------------


def test_a_batch_of_50_pull_requests_resolves_in_milliseconds(emu: Emulator) -> None:
    import time

    from gh_assets.emulator import graphql as emulator_graphql

    query = batch_query(pr_numbers(emu)[:50], "title state author { login } labels(first: 20) { nodes { name } }")
    plan = emulator_graphql.plan_query(query, {}, None)
    assert not plan.errors and plan.cost == 2  # 1 + 50 x 3 connections = 151 requests
    rate = emulator_graphql.RateLimitView(cost=2, limit=5000, remaining=4998, used=2, reset=0.0, node_count=plan.node_count)
    with emu.lock:
        emulator_graphql.execute_plan(plan, emu.store, rate)  # warm the entity caches
        started = time.perf_counter()
        body = emulator_graphql.execute_plan(plan, emu.store, rate)
        elapsed = time.perf_counter() - started
    assert "errors" not in body and len(body["data"]["repository"]) == 50
    assert elapsed < 1.0, f"50 pull requests took {elapsed:.3f} s"  # ~30 ms here; generous for a shared machine
    started = time.perf_counter()
    assert emulator_graphql.plan_query(query, {}, None).cost == 2
    assert time.perf_counter() - started < 0.5  # the parsed, validated document is cached by query text


def test_edges_cursors_and_the_admin_log(emu: Emulator, client: httpx.Client) -> None:
    n = next(n for n in pr_numbers(emu) if len(walk(client, f"/repos/{REPO}/pulls/{n}/files", {"per_page": 100})[0]) >= 3)
    query = """query($n: Int!, $after: String) { repository(owner: "demo-org", name: "alpha") { pullRequest(number: $n) {
                 files(first: 2, after: $after) { edges { cursor node { path } } pageInfo { startCursor endCursor hasPreviousPage } } } } }"""
    page1 = gql(client, query, n=n).json()["data"]["repository"]["pullRequest"]["files"]
    assert len(page1["edges"]) == 2 and page1["pageInfo"]["endCursor"] == page1["edges"][-1]["cursor"]
    assert page1["pageInfo"]["startCursor"] == page1["edges"][0]["cursor"] and not page1["pageInfo"]["hasPreviousPage"]
    page2 = gql(client, query, n=n, after=page1["edges"][0]["cursor"]).json()["data"]["repository"]["pullRequest"]["files"]
    assert page2["edges"][0] == page1["edges"][1] and page2["pageInfo"]["hasPreviousPage"]
    log = client.get("/_emulator/log").json()
    last = log[-1]
    assert (last["path"], last["resource"], last["cost"], last["charged"]) == ("/graphql", "graphql", 1, True)
    assert last["token"].startswith("sha256:")


def test_graphql_config_validation() -> None:
    assert EmulatorConfig().graphql_rate_limit == 5000 and EmulatorConfig().graphql_max_nodes is None
    for bad in ({"graphql_max_nodes": -1}, {"graphql_fault_rate": 1.5}, {"graphql_rate_limit": -1},
                {"graphql_fault_rate": 0.5, "fault_kinds": ()}):
        with pytest.raises(ValueError):
            EmulatorConfig(**bad)
    with Emulator(cfg()) as e:
        with pytest.raises(ValueError):
            e.make_big_pull(REPO, files=5000)
        with pytest.raises(KeyError):
            e.make_big_pull(REPO, next(i["number"] for i in e.issues(REPO) if "pull_request" not in i))
