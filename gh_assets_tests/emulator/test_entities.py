"""Tests of the emulator's pulls, reviews, files, issue comments, commits and org repos endpoints over real HTTP."""

from __future__ import annotations

import collections
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets_tests.emulator.process import emulator_cli

REPO = "demo-org/alpha"
REPOS = (REPO, "demo-org/beta", "Demo-Org/gamma", "other-org/delta")
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
AUTHOR_ASSOCIATIONS = {
    "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR", "MANNEQUIN", "MEMBER", "NONE", "OWNER",
}
# key sets of GitHub's own examples (/work/shared/github-api/examples/*-items.json)
PULL_KEYS = {
    "url", "id", "node_id", "html_url", "diff_url", "patch_url", "issue_url", "commits_url", "review_comments_url",
    "review_comment_url", "comments_url", "statuses_url", "number", "state", "locked", "title", "user", "body",
    "labels", "milestone", "active_lock_reason", "created_at", "updated_at", "closed_at", "merged_at",
    "merge_commit_sha", "assignee", "assignees", "requested_reviewers", "requested_teams", "head", "base", "_links",
    "author_association", "auto_merge", "draft",
}
PULL_LINKS = {"self", "html", "issue", "comments", "review_comments", "review_comment", "commits", "statuses"}
REVIEW_KEYS = {
    "id", "node_id", "user", "body", "state", "html_url", "pull_request_url", "_links", "submitted_at", "commit_id",
    "author_association",
}
FILE_KEYS = {"sha", "filename", "status", "additions", "deletions", "changes", "blob_url", "raw_url", "contents_url"}
COMMIT_KEYS = {"url", "sha", "node_id", "html_url", "comments_url", "commit", "author", "committer", "parents"}
GIT_COMMIT_KEYS = {"url", "author", "committer", "message", "tree", "comment_count", "verification"}
COMMENT_KEYS = {
    "id", "node_id", "url", "html_url", "body", "user", "created_at", "updated_at", "issue_url", "author_association",
    "reactions", "performed_via_github_app",
}
MINIMAL_REPO_REQUIRED = {
    "archive_url", "assignees_url", "blobs_url", "branches_url", "collaborators_url", "comments_url", "commits_url",
    "compare_url", "contents_url", "contributors_url", "deployments_url", "description", "downloads_url",
    "events_url", "fork", "forks_url", "full_name", "git_commits_url", "git_refs_url", "git_tags_url", "hooks_url",
    "html_url", "id", "node_id", "issue_comment_url", "issue_events_url", "issues_url", "keys_url", "labels_url",
    "languages_url", "merges_url", "milestones_url", "name", "notifications_url", "owner", "private", "pulls_url",
    "releases_url", "stargazers_url", "statuses_url", "subscribers_url", "subscription_url", "tags_url", "teams_url",
    "trees_url", "url", "archived", "disabled", "visibility", "pushed_at", "created_at", "updated_at",
}
ISSUE_FIELDS = (
    "number", "title", "user", "labels", "milestone", "assignee", "assignees", "state", "locked", "created_at",
    "updated_at", "closed_at", "draft", "author_association", "body", "active_lock_reason",
)


def cfg(**overrides: Any) -> EmulatorConfig:
    base: dict[str, Any] = {
        "seed": 7,
        "repos": REPOS,
        "issues_per_repo": 300,
        "many_reviews_fraction": 0.04,
        "many_files_fraction": 0.04,
        "archived_repos": ("demo-org/beta",),
        "fork_repos": ("demo-org/GAMMA",),  # case-insensitive, canonicalised
    }
    base.update(overrides)
    return EmulatorConfig(**base)


@pytest.fixture(scope="module")
def emu() -> Any:
    with Emulator(cfg(rate_limit=1_000_000)) as e:
        yield e


# The module-scoped httpx client fixture and the Link-walking helpers are the emulator tests' own.
from gh_assets_tests.emulator.test_emulator import client, ts, walk  # noqa: E402,F401



def stamp(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# ---------------------------------------------------------------------------
# pulls
# ---------------------------------------------------------------------------


def test_pulls_mirror_the_pull_request_issues(emu: Emulator, client: httpx.Client) -> None:
    issues = {i["number"]: i for i in emu.issues(REPO) if "pull_request" in i}
    pulls, responses = walk(client, f"/repos/{REPO}/pulls", {"state": "all", "per_page": 100})
    assert len(responses) == -(-len(issues) // 100) > 0
    assert urlsplit(responses[0].links["next"]["url"]).path == f"/repositories/{emu.repo_id(REPO)}/pulls"
    assert sorted(p["number"] for p in pulls) == sorted(issues)
    assert sorted(pulls, key=lambda p: p["number"]) == emu.pulls(REPO)
    issue_ids = {i["id"] for i in emu.issues(REPO)}
    assert len({p["id"] for p in pulls}) == len(pulls) and not issue_ids & {p["id"] for p in pulls}
    for p in pulls:
        issue = issues[p["number"]]
        assert set(p) == PULL_KEYS and set(p["_links"]) == PULL_LINKS
        for key in ISSUE_FIELDS:
            assert p[key] == issue[key], (p["number"], key)
        assert p["merged_at"] == issue["pull_request"]["merged_at"]
        assert p["url"] == issue["pull_request"]["url"] and p["html_url"] == issue["pull_request"]["html_url"]
        assert p["issue_url"] == issue["url"]
        assert p["requested_teams"] == [] and p["auto_merge"] is None
        if p["merged_at"] is not None:
            assert p["state"] == "closed" and SHA_RE.match(p["merge_commit_sha"])
        elif p["state"] == "closed":
            assert p["merge_commit_sha"] is None
        if p["state"] == "closed":
            assert p["requested_reviewers"] == []
        assert all(r["login"] != (p["user"] or {}).get("login") for r in p["requested_reviewers"])
        for side in ("head", "base"):
            assert set(p[side]) == {"label", "ref", "sha", "user", "repo"}
            assert SHA_RE.match(p[side]["sha"]) and p[side]["label"] == f"{p[side]['user']['login']}:{p[side]['ref']}"
        assert p["base"]["ref"] == "main" and p["base"]["repo"]["full_name"] == REPO
        assert MINIMAL_REPO_REQUIRED <= set(p["base"]["repo"])
        assert p["statuses_url"].endswith(p["head"]["sha"])
        head_repo = p["head"]["repo"]
        assert head_repo is None or head_repo["full_name"] == REPO or head_repo["fork"] is True
    assert any(p["head"]["repo"] is None for p in pulls) or any(p["head"]["repo"]["fork"] for p in pulls)
    assert any(p["draft"] for p in pulls) and any(p["merged_at"] for p in pulls)
    assert {p["state"] for p in pulls} == {"open", "closed"}


@pytest.mark.parametrize(
    ("state", "sort", "direction", "field", "desc"),
    [
        (None, None, None, "created_at", True),  # defaults: open, created, desc
        ("closed", "updated", None, "updated_at", False),  # direction defaults to asc unless sorting by created
        ("all", "updated", "desc", "updated_at", True),
        ("all", "created", "asc", "created_at", False),
        ("all", "popularity", "desc", "comments", True),
    ],
)
def test_pulls_state_sort_direction(
    emu: Emulator, client: httpx.Client, state: str | None, sort: str | None, direction: str | None, field: str, desc: bool
) -> None:
    params = {k: v for k, v in {"state": state, "sort": sort, "direction": direction, "per_page": 33}.items() if v}
    pulls, responses = walk(client, f"/repos/{REPO}/pulls", params)
    for resp in responses[1:]:
        assert parse_qs(urlsplit(str(resp.url)).query)["per_page"] == ["33"]
    expected = [i for i in emu.issues(REPO) if "pull_request" in i and (state in (None, "all") or i["state"] == state)]
    if state is None:
        expected = [i for i in expected if i["state"] == "open"]
    expected.sort(key=lambda i: (i[field], i["number"]), reverse=desc)
    assert [p["number"] for p in pulls] == [i["number"] for i in expected]


def test_pulls_validation_and_not_found(client: httpx.Client) -> None:
    for params in ({"state": "merged"}, {"sort": "votes"}, {"direction": "up"}):
        bad = client.get(f"/repos/{REPO}/pulls", params=params)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == next(iter(params))
    r = client.get("/repos/nobody/nothing/pulls")
    assert r.status_code == 404
    assert r.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#list-pull-requests",
        "status": "404",
    }
    assert client.get(f"/repos/{REPO}/pulls", params={"per_page": 100, "page": 50}).json() == []


# ---------------------------------------------------------------------------
# reviews and files
# ---------------------------------------------------------------------------


def test_reviews_paginate_and_stay_within_the_pull_request(emu: Emulator, client: httpx.Client) -> None:
    pulls = {p["number"]: p for p in emu.pulls(REPO)}
    truth: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for number, review in emu.reviews(REPO):
        truth[number].append(review)
    counts = collections.Counter()
    for number, p in pulls.items():
        reviews, responses = walk(client, f"/repos/{REPO}/pulls/{number}/reviews", {"per_page": 100})
        assert reviews == truth.get(number, [])
        counts[len(reviews)] += 1
        if len(reviews) > 100:
            first = responses[0]
            assert len(first.json()) == 100 and len(responses) == -(-len(reviews) // 100)
            assert urlsplit(first.links["next"]["url"]).path == f"/repositories/{emu.repo_id(REPO)}/pulls/{number}/reviews"
        submitted = [r["submitted_at"] for r in reviews]
        assert submitted == sorted(submitted)  # chronological
        for r in reviews:
            assert set(r) == REVIEW_KEYS
            assert p["created_at"] <= r["submitted_at"] <= p["updated_at"]
            assert r["state"] in {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"}
            assert r["author_association"] in AUTHOR_ASSOCIATIONS and SHA_RE.match(r["commit_id"])
            assert r["pull_request_url"] == p["url"] == r["_links"]["pull_request"]["href"]
            assert r["html_url"] == r["_links"]["html"]["href"] == f"{p['html_url']}#pullrequestreview-{r['id']}"
    assert max(counts) > 100 and counts[0] > 0 and sum(v for k, v in counts.items() if k <= 4) > 0.8 * len(pulls)
    all_reviews = [r for rs in truth.values() for r in rs]
    assert len({r["id"] for r in all_reviews}) == len(all_reviews)
    assert any(r["user"] is None for r in all_reviews) and {r["state"] for r in all_reviews} == {
        "APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED",
    }


def test_files_paginate_with_realistic_paths(emu: Emulator, client: httpx.Client) -> None:
    pulls = {p["number"]: p for p in emu.pulls(REPO)}
    truth: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for number, entry in emu.pr_files(REPO):
        truth[number].append(entry)
    assert set(truth) == set(pulls)  # every pull request changes at least one file
    sizes = []
    for number, p in pulls.items():
        files, responses = walk(client, f"/repos/{REPO}/pulls/{number}/files", {"per_page": 100})
        assert files == truth[number]
        sizes.append(len(files))
        if len(files) > 100:
            assert len(responses) == -(-len(files) // 100) and len(responses[0].json()) == 100
        names = [f["filename"] for f in files]
        assert len(set(names)) == len(names) and names == sorted(names)
        head = p["head"]["sha"]
        for f in files:
            assert FILE_KEYS <= set(f) <= FILE_KEYS | {"patch", "previous_filename"}
            assert f["status"] in {"added", "removed", "modified", "renamed", "copied", "changed", "unchanged"}
            assert f["changes"] == f["additions"] + f["deletions"] and min(f["additions"], f["deletions"]) >= 0
            assert ("previous_filename" in f) == (f["status"] == "renamed")
            assert f["status"] != "added" or f["deletions"] == 0
            assert f["status"] != "removed" or f["additions"] == 0
            assert SHA_RE.match(f["sha"]) and head in f["blob_url"] and head in f["raw_url"]
            assert f["contents_url"].endswith(f"?ref={head}")
    assert max(sizes) > 100 and sum(1 for s in sizes if 1 <= s <= 20) > 0.8 * len(sizes)
    entries = [f for fs in truth.values() for f in fs]
    tops = collections.Counter(f["filename"].split("/", 1)[0] for f in entries if "/" in f["filename"])
    exts = collections.Counter(f["filename"].rsplit(".", 1)[-1] for f in entries)
    assert {"src", "tests", "docs"} <= set(tops) and {"py", "md", "ts", "go", "yaml"} <= set(exts)
    assert any("patch" not in f for f in entries) and any("patch" in f for f in entries)
    assert any(ord(ch) > 127 for f in entries for ch in f["filename"])  # non-ASCII paths are URL-quoted
    assert {f["status"] for f in entries} >= {"added", "removed", "modified", "renamed"}


def test_reviews_and_files_404_for_issues_and_unknown_numbers(emu: Emulator, client: httpx.Client) -> None:
    issue = next(i["number"] for i in emu.issues(REPO) if "pull_request" not in i)
    for sub, doc in (
        ("reviews", "https://docs.github.com/rest/pulls/reviews#list-reviews-for-a-pull-request"),
        ("files", "https://docs.github.com/rest/pulls/pulls#list-pull-requests-files"),
    ):
        for number in (issue, 99_999):
            r = client.get(f"/repos/{REPO}/pulls/{number}/{sub}")
            assert r.status_code == 404
            assert r.json() == {"message": "Not Found", "documentation_url": doc, "status": "404"}
        assert client.get(f"/repos/nobody/nothing/pulls/1/{sub}").status_code == 404


# ---------------------------------------------------------------------------
# commits
# ---------------------------------------------------------------------------


def test_commits_newest_first_with_since_until(emu: Emulator, client: httpx.Client) -> None:
    truth = emu.commits(REPO)
    assert len(truth) == 150  # issues_per_repo // 2
    commits, responses = walk(client, f"/repos/{REPO}/commits", {"per_page": 100})
    assert commits == truth and len(responses) == 2
    dates = [c["commit"]["committer"]["date"] for c in commits]
    assert dates == sorted(dates, reverse=True)
    assert "2025-01-01T00:00:00Z" <= dates[-1] and dates[0] < "2025-04-01T00:00:00Z"  # the 90-day window
    assert len({c["sha"] for c in commits}) == len(commits)
    for newer, older in zip(commits, commits[1:]):
        assert newer["parents"][0]["sha"] == older["sha"]
    for c in commits:
        assert set(c) == COMMIT_KEYS and set(c["commit"]) == GIT_COMMIT_KEYS
        assert SHA_RE.match(c["sha"]) and c["url"].endswith(c["sha"]) and c["html_url"].endswith(c["sha"])
        for who in ("author", "committer"):
            person = c["commit"][who]
            assert person["name"] and "@" in person["email"] and TS_RE.match(person["date"])
        assert c["commit"]["author"]["date"] <= c["commit"]["committer"]["date"]
        assert set(c["commit"]["verification"]) == {"verified", "reason", "signature", "payload", "verified_at"}
        assert SHA_RE.match(c["commit"]["tree"]["sha"])
        assert all(set(p) == {"sha", "url", "html_url"} for p in c["parents"]) and 1 <= len(c["parents"]) <= 2
    unlinked = sum(1 for c in commits if c["author"] is None)
    assert 0 < unlinked < 0.3 * len(commits)
    assert any(c["committer"] and c["committer"]["login"] == "web-flow" for c in commits)

    since, until = dates[-40], dates[20]  # inclusive bounds, on exact commit dates
    window, _ = walk(client, f"/repos/{REPO}/commits", {"since": since, "until": until, "per_page": 7, "sha": "main"})
    assert window == [c for c in commits if since <= c["commit"]["committer"]["date"] <= until]
    assert window[0]["commit"]["committer"]["date"] == until and window[-1]["commit"]["committer"]["date"] == since
    day, _ = walk(client, f"/repos/{REPO}/commits", {"since": "2025-02-01", "until": "2025-02-01T23:59:59Z"})
    assert day == [c for c in commits if c["commit"]["committer"]["date"].startswith("2025-02-01")]
    assert client.get(f"/repos/{REPO}/commits", params={"since": "2030-01-01T00:00:00Z"}).json() == []
    assert client.get(f"/repos/{REPO}/commits", params={"until": "yesterday"}).status_code == 422


# ---------------------------------------------------------------------------
# issue comments
# ---------------------------------------------------------------------------


def check_comments_match_issues(comments: list[dict[str, Any]], issues: list[dict[str, Any]], repo: str) -> None:
    by_url = {i["url"]: i for i in issues}
    per_issue = collections.Counter(c["issue_url"] for c in comments)
    for issue in issues:
        assert per_issue.get(issue["url"], 0) == issue["comments"], issue["number"]
    for c in comments:
        issue = by_url[c["issue_url"]]
        assert issue["created_at"] <= c["created_at"] <= c["updated_at"] <= issue["updated_at"]
        kind = "pull" if "pull_request" in issue else "issues"
        assert c["html_url"] == f"https://github.com/{repo}/{kind}/{issue['number']}#issuecomment-{c['id']}"
        assert c["url"].endswith(f"/issues/comments/{c['id']}")


def test_issue_comments_match_issue_counts_and_order(emu: Emulator, client: httpx.Client) -> None:
    issues = emu.issues(REPO)
    comments, responses = walk(client, f"/repos/{REPO}/issues/comments", {"per_page": 100})
    assert comments == emu.issue_comments(REPO) and len(comments) == sum(i["comments"] for i in issues) > 300
    assert urlsplit(responses[0].links["next"]["url"]).path == f"/repositories/{emu.repo_id(REPO)}/issues/comments"
    assert [(c["created_at"], c["id"]) for c in comments] == sorted((c["created_at"], c["id"]) for c in comments)
    assert len({c["id"] for c in comments}) == len(comments)
    check_comments_match_issues(comments, issues, REPO)
    for c in comments:
        assert set(c) == COMMENT_KEYS and c["author_association"] in AUTHOR_ASSOCIATIONS
        assert c["performed_via_github_app"] is None
        reactions = c["reactions"]
        assert reactions["total_count"] == sum(
            reactions[k] for k in ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
        )
    assert any(c["user"] is None for c in comments) and any(c["created_at"] != c["updated_at"] for c in comments)

    since = sorted(c["updated_at"] for c in comments)[len(comments) // 2]
    recent, _ = walk(client, f"/repos/{REPO}/issues/comments", {"since": since, "sort": "updated", "direction": "desc"})
    expected = sorted((c for c in comments if c["updated_at"] >= since), key=lambda c: (c["updated_at"], c["id"]), reverse=True)
    assert recent == expected
    by_created, _ = walk(client, f"/repos/{REPO}/issues/comments", {"since": since, "per_page": 100})
    assert by_created == [c for c in comments if c["updated_at"] >= since]
    ignored, _ = walk(client, f"/repos/{REPO}/issues/comments", {"direction": "desc", "per_page": 100})
    assert ignored == comments  # GitHub ignores direction without sort
    for params in ({"sort": "comments"}, {"since": "soon"}, {"direction": "up"}):
        assert client.get(f"/repos/{REPO}/issues/comments", params=params).status_code == 422


# ---------------------------------------------------------------------------
# organisation repositories
# ---------------------------------------------------------------------------


def test_org_repos_flags_filters_and_paging(emu: Emulator, client: httpx.Client) -> None:
    listed, responses = walk(client, "/orgs/DEMO-ORG/repos", {"per_page": 1})
    assert len(responses) == 3
    org_id = listed[0]["owner"]["id"]
    assert urlsplit(responses[0].links["next"]["url"]).path == f"/organizations/{org_id}/repos"
    assert listed == emu.org_repos("demo-org")
    assert {r["full_name"] for r in listed} == {"demo-org/alpha", "demo-org/beta", "Demo-Org/gamma"}
    created = [r["created_at"] for r in listed]
    assert created == sorted(created, reverse=True)  # default: created, desc
    flags = {r["full_name"]: (r["archived"], r["fork"]) for r in listed}
    assert flags == {"demo-org/alpha": (False, False), "demo-org/beta": (True, False), "Demo-Org/gamma": (False, True)}
    for r in listed:
        assert MINIMAL_REPO_REQUIRED <= set(r) and r["visibility"] == "public" and r["disabled"] is False
        assert r["private"] is False and r["owner"]["type"] == "Organization" and r["id"] == emu.repo_id(r["full_name"])
        assert r["pushed_at"] == client.get(f"/repos/{r['full_name']}").json()["pushed_at"]
        assert client.get(f"/repos/{r['full_name']}").json()["archived"] == r["archived"]
    names = [r["full_name"] for r in client.get("/orgs/demo-org/repos", params={"sort": "full_name"}).json()]
    assert names == sorted(names, key=str.lower)  # full_name defaults to asc
    assert [r["full_name"] for r in client.get("/orgs/demo-org/repos", params={"type": "forks"}).json()] == ["Demo-Org/gamma"]
    assert len(client.get("/orgs/demo-org/repos", params={"type": "sources"}).json()) == 2
    assert client.get("/orgs/demo-org/repos", params={"type": "private"}).json() == []
    assert [r["full_name"] for r in emu.org_repos("other-org")] == ["other-org/delta"]
    missing = client.get("/orgs/nobody/repos")
    assert missing.status_code == 404
    assert missing.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/repos/repos#list-organization-repositories",
        "status": "404",
    }
    assert client.get("/orgs/demo-org/repos", params={"type": "secret"}).status_code == 422
    with pytest.raises(KeyError):
        emu.org_repos("nobody")


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="archived_repos"):
        EmulatorConfig(repos=("a/b",), archived_repos=("a/c",))
    with pytest.raises(ValueError, match="fork_repos"):
        EmulatorConfig(repos=("a/b",), fork_repos="x/y")
    with pytest.raises(ValueError, match="many_files_fraction"):
        EmulatorConfig(many_files_fraction=1.5)
    with pytest.raises(ValueError, match="commits_per_repo"):
        EmulatorConfig(commits_per_repo=-1)
    assert EmulatorConfig(repos=("a/b", "a/c"), fork_repos="A/B, a/c").fork_repos == ("a/b", "a/c")
    assert EmulatorConfig(issues_per_repo=10).commits_count == 5
    assert EmulatorConfig(issues_per_repo=10, commits_per_repo=0).commits_count == 0


# ---------------------------------------------------------------------------
# ETags, rate limits, faults, request log, admin endpoints
# ---------------------------------------------------------------------------

NEW_LISTS = (
    f"/repos/{REPO}/pulls",
    f"/repos/{REPO}/pulls/{{pr}}/reviews",
    f"/repos/{REPO}/pulls/{{pr}}/files",
    f"/repos/{REPO}/commits",
    f"/repos/{REPO}/issues/comments",
    "/orgs/demo-org/repos",
)


def test_etag_304_rate_limit_and_log(emu: Emulator, client: httpx.Client) -> None:
    pr = emu.pulls(REPO)[0]["number"]
    emu.clear_log()
    for template in NEW_LISTS:
        path = template.format(pr=pr)
        r = client.get(path)
        assert r.status_code == 200 and r.headers["x-ratelimit-resource"] == "core"
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        etag = r.headers["etag"]
        remaining = int(r.headers["x-ratelimit-remaining"])
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert int(again.headers["x-ratelimit-remaining"]) == remaining
        other = client.get(path, params={"per_page": 1}, headers={"If-None-Match": etag})
        assert other.status_code == 200 and int(other.headers["x-ratelimit-remaining"]) == remaining - 1
    log = emu.request_log
    assert [rec.path for rec in log] == [t.format(pr=pr) for t in NEW_LISTS for _ in range(3)]
    assert [rec.status for rec in log] == [200, 304, 200] * len(NEW_LISTS)
    assert [rec.charged for rec in log] == [True, False, True] * len(NEW_LISTS)


def test_rate_limit_and_faults_apply_to_new_lists() -> None:
    with Emulator(cfg(rate_limit=2)) as e, httpx.Client(base_url=e.url) as c:
        assert c.get(f"/repos/{REPO}/commits").status_code == 200
        assert c.get("/orgs/demo-org/repos").status_code == 200
        blocked = c.get(f"/repos/{REPO}/pulls")
        assert blocked.status_code == 403 and blocked.json()["message"].startswith("API rate limit exceeded")
    with Emulator(cfg(fault_rate=1.0, fault_kinds=("503",))) as e, httpx.Client(base_url=e.url) as c:
        pr = e.pulls(REPO)[0]["number"]
        for template in NEW_LISTS:
            assert c.get(template.format(pr=pr)).status_code == 503
        assert all(rec.fault == "503" and rec.charged is False for rec in e.request_log)
    with Emulator(cfg(large_page_fail_above=50)) as e, httpx.Client(base_url=e.url) as c:
        assert c.get(f"/repos/{REPO}/commits", params={"per_page": 100}).status_code == 502
        assert c.get(f"/repos/{REPO}/commits", params={"per_page": 50}).status_code == 200


def test_admin_endpoints(emu: Emulator, client: httpx.Client) -> None:
    assert client.get("/_emulator/pulls", params={"repo": REPO}).json() == emu.pulls(REPO)
    assert client.get("/_emulator/commits", params={"repo": REPO}).json() == emu.commits(REPO)
    assert client.get("/_emulator/issue-comments", params={"repo": REPO}).json() == emu.issue_comments(REPO)
    reviews = client.get("/_emulator/reviews", params={"repo": REPO}).json()
    assert [(r["pull_number"], r["review"]) for r in reviews] == emu.reviews(REPO)
    files = client.get("/_emulator/pr-files", params={"repo": REPO}).json()
    assert [(f["pull_number"], f["file"]) for f in files] == emu.pr_files(REPO)
    assert client.get("/_emulator/org-repos", params={"org": "demo-org"}).json() == emu.org_repos("demo-org")
    for path in ("pulls", "reviews", "pr-files", "commits", "issue-comments"):
        assert client.get(f"/_emulator/{path}", params={"repo": "x/y"}).status_code == 404
    assert client.get("/_emulator/org-repos", params={"org": "nobody"}).status_code == 404


# ---------------------------------------------------------------------------
# mutation and determinism
# ---------------------------------------------------------------------------


def test_mutation_keeps_pulls_comments_and_reviews_consistent() -> None:
    small = {"repos": (REPO,), "issues_per_repo": 200, "archived_repos": (), "fork_repos": ()}
    with Emulator(cfg(**small)) as e, httpx.Client(base_url=e.url) as c:
        before, _ = walk(c, f"/repos/{REPO}/issues/comments", {"per_page": 100})  # index built before mutating
        old_pulls = {p["number"]: p for p in e.pulls(REPO)}
        touched = e.mutate(REPO, update=40, add=10)
        touched += c.post("/_emulator/mutate", json={"repo": REPO, "update": 20, "add": 2}).json()["numbers"]
        issues = e.issues(REPO)
        by_number = {i["number"]: i for i in issues}
        pulls, _ = walk(c, f"/repos/{REPO}/pulls", {"state": "all", "sort": "updated", "direction": "desc", "per_page": 100})
        assert sorted(p["number"] for p in pulls) == sorted(n for n, i in by_number.items() if "pull_request" in i)
        assert any(n in old_pulls and by_number[n]["updated_at"] != old_pulls[n]["updated_at"] for n in touched)
        assert any(n not in old_pulls and "pull_request" in by_number[n] for n in touched)  # added pull requests
        for p in pulls:
            issue = by_number[p["number"]]
            for key in ISSUE_FIELDS:
                assert p[key] == issue[key], (p["number"], key)
            assert p["merged_at"] == issue["pull_request"]["merged_at"]
        comments, _ = walk(c, f"/repos/{REPO}/issues/comments", {"per_page": 100})
        assert comments[: len(before)] != [] and all(x in comments for x in before)
        assert len(comments) > len(before)
        check_comments_match_issues(comments, issues, REPO)
        latest = max(before, key=lambda x: x["updated_at"])["updated_at"]
        newer, _ = walk(c, f"/repos/{REPO}/issues/comments", {"since": stamp(ts(latest) + 1), "sort": "updated"})
        assert newer and all(by_number[int(x["issue_url"].rsplit("/", 1)[1])]["number"] in touched for x in newer)
        for number, review in e.reviews(REPO):
            assert by_number[number]["created_at"] <= review["submitted_at"] <= by_number[number]["updated_at"]
        # the comment index built after the same mutations serves the same comments
        with Emulator(cfg(**small)) as late:
            late.mutate(REPO, update=40, add=10)
            late.mutate(REPO, update=20, add=2)
            again = [orjson.loads(orjson.dumps(x).replace(late.url.encode(), e.url.encode())) for x in late.issue_comments(REPO)]
        assert again == comments


def test_determinism_across_instances() -> None:
    fixed = {"api_url": "https://api.github.com"}

    def snapshot(seed: int) -> list[bytes]:
        with Emulator(cfg(seed=seed, **fixed)) as e, httpx.Client(base_url=e.url) as c:
            pr = collections.Counter(n for n, _ in e.pr_files(REPO)).most_common(1)[0][0]  # the most files
            paths = [t.format(pr=pr) for t in NEW_LISTS]
            bodies = [c.get(p, params={"per_page": 100, "state": "all"}).content for p in paths]
            assert all(b"https://api.github.com/repos/" in b and e.url.encode() not in b for b in bodies)
            return bodies

    first, second, other = snapshot(7), snapshot(7), snapshot(8)
    assert first == second
    assert all(a != b for a, b in zip(first, other))


def test_issue_documents_are_unchanged_by_the_new_endpoints() -> None:
    with Emulator(cfg(api_url="https://api.github.com")) as plain, httpx.Client(base_url=plain.url) as c:
        untouched = c.get(f"/repos/{REPO}/issues", params={"state": "all", "per_page": 100}).content
    with Emulator(cfg(api_url="https://api.github.com")) as used, httpx.Client(base_url=used.url) as c:
        pr = used.pulls(REPO)[0]["number"]
        for template in NEW_LISTS:
            assert c.get(template.format(pr=pr)).status_code == 200
        assert c.get(f"/repos/{REPO}/issues", params={"state": "all", "per_page": 100}).content == untouched


def test_cli_flags() -> None:
    args = ("--repo-names", "cli-org/a,cli-org/b", "--issues", "60", "--commits", "12", "--archived-repos", "cli-org/b")
    with emulator_cli(*args, "--fork-repos", "cli-org/a", "--many-files-fraction", "0") as url:
        commits = httpx.get(f"{url}/repos/cli-org/a/commits", params={"per_page": 100}, timeout=10).json()
        assert len(commits) == 12
        repos = httpx.get(f"{url}/orgs/cli-org/repos", params={"sort": "full_name"}, timeout=10).json()
        assert [(r["full_name"], r["fork"], r["archived"]) for r in repos] == [
            ("cli-org/a", True, False),
            ("cli-org/b", False, True),
        ]


def test_bad_data_and_drift_carry_over_consistently() -> None:
    bad = "null_title=3,wrong_type=2,negative_count=2,closed_before_created=2,unknown_enum=2,duplicate_id=1"
    with Emulator(cfg(repos=(REPO,), archived_repos=(), fork_repos=(), bad_data=bad, drift_day="2025-02-10", drift_factor=3.0)) as e:
        issues = e.issues(REPO)
        by_number = {i["number"]: i for i in issues}
        for p in e.pulls(REPO):
            for key in ISSUE_FIELDS:  # defects of the issue document are served on the pull request too
                assert p[key] == by_number[p["number"]][key]
        served = collections.Counter(int(c["issue_url"].rsplit("/", 1)[1]) for c in e.issue_comments(REPO))
        for i in issues:
            if i["comments"] == -3:
                assert served[i["number"]] == 0
            elif i["comments"] != "many":
                assert served[i["number"]] == i["comments"]
        assert any(i["comments"] == "many" and served[i["number"]] >= 0 for i in issues)
        for c in e.issue_comments(REPO):
            issue = by_number[int(c["issue_url"].rsplit("/", 1)[1])]
            assert issue["created_at"] <= c["created_at"] <= c["updated_at"] <= issue["updated_at"]
