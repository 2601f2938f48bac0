"""Pull-request details in bulk over GraphQL: the reviews and changed files of up to 50 PRs per query.

REST needs one request per page per PR for each of ``/reviews`` and ``/files``; GitHub's GraphQL API answers
both for 50 PRs in one query costing 1 point (1 + 50 + 50 connection requests / 100). The queries here are
validated against GitHub's published schema in the tests. A connection with more than 100 nodes is completed
with follow-up queries on its ``endCursor``, so nothing is truncated. No Dagster in here.

Error handling follows GitHub's GraphQL rules: errors come as HTTP 200 with an ``errors`` array, possibly
beside partial ``data``. ``NOT_FOUND`` for one pull request (deleted since it was listed) is recorded and the
rest of the batch kept; a spent budget (``RATE_LIMITED``) is waited for by the client; a query cut off at
GitHub's time limit (502/504, or a timeout error) halves the batch; anything else is a typed error, and
partial data beside it is never taken as complete.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl

from gh_assets.github import errors
from gh_assets.github.client import GitHubClient
from gh_assets.github.pagination import RESTORE_AFTER, SweepPage

MAX_BATCH = 50  # pull requests per query: 1 + 2 x 50 connection requests = 1 point
RAW_ENTITY = "pr_details"  # the lake entity of the captured GraphQL pages

_CONNECTION = "totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {fields} }}"
REVIEW_FIELDS = (
    "fullDatabaseId author { __typename login ... on User { databaseId } ... on Bot { databaseId } } "
    "authorAssociation state body submittedAt commit { oid } url"
)
FILE_FIELDS = "path additions deletions changeType"
CONNECTIONS = {"reviews": REVIEW_FIELDS, "files": FILE_FIELDS}
RATE_LIMIT_FIELDS = "rateLimit { cost remaining resetAt }"


@functools.cache
def details_query(prs: int, follow_ups: tuple[str, ...] = ()) -> str:
    """One query: the first 100 reviews and files of ``prs`` pull requests (by number, ``$n0``...) and the next
    100 nodes of each connection in ``follow_ups`` (a PR's ``reviews`` or ``files`` after a cursor, ``$id0``/``$a0``...).

    Packing the pages past 100 nodes into the same queries as new pull requests keeps one query per 50 PRs
    even where PRs have hundreds of files. Numbers, ids and cursors are variables, so the text repeats.
    """
    variables = [*(f"$n{i}: Int!" for i in range(prs)), *(f"$id{i}: ID!, $a{i}: String!" for i in range(len(follow_ups)))]
    if prs:
        variables = ["$owner: String!", "$name: String!", *variables]
    lines = [f"query PullRequestDetails({', '.join(variables)}) {{", f"  {RATE_LIMIT_FIELDS}"]
    if prs:
        lines.append("  repository(owner: $owner, name: $name) {")
        lines += [f"    pr{i}: pullRequest(number: $n{i}) {{ ...details }}" for i in range(prs)]
        lines.append("  }")
    for i, connection in enumerate(follow_ups):
        page = _CONNECTION.format(fields=CONNECTIONS[connection])
        lines.append(f"  f{i}: node(id: $id{i}) {{ ... on PullRequest {{ id number {connection}(first: 100, after: $a{i}) {{ {page} }} }} }}")
    lines.append("}")
    if prs:
        connections = " ".join(f"{name}(first: 100) {{ {_CONNECTION.format(fields=fields)} }}" for name, fields in CONNECTIONS.items())
        lines.append(f"fragment details on PullRequest {{ id number {connections} }}")
    return "\n".join(lines) + "\n"


def sample_queries() -> list[str]:
    """Query texts of every shape this module sends (for validation against GitHub's schema)."""
    kinds = tuple(CONNECTIONS)
    return [details_query(n) for n in range(1, MAX_BATCH + 1)] + [
        details_query(0, (kinds[0],)),
        details_query(0, (kinds[1],)),
        details_query(3, kinds * 2),
        details_query(MAX_BATCH - 4, (kinds[1], kinds[0], kinds[1], kinds[1])),
    ]


_TIMEOUT_RE = re.compile(r"timeout|timed out|something went wrong while executing your query", re.IGNORECASE)


@dataclass
class DetailStats:
    """What the GraphQL path did: queries, points, pages past 100 nodes, pull requests not found, halvings."""

    queries: int = 0
    points: int = 0
    follow_ups: int = 0
    halvings: int = 0
    not_found: list[int] = field(default_factory=list)
    rate_limit_remaining: int | None = None

    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "graphql_queries": self.queries,
            "graphql_points": self.points,
            "graphql_connection_pages_past_100": self.follow_ups,
            "graphql_batch_halvings": self.halvings,
            "pull_requests_not_found": len(self.not_found),
        }
        if self.rate_limit_remaining is not None:
            out["graphql_rate_limit_remaining"] = self.rate_limit_remaining
        return out


def _errors_of(doc: Any, url: str) -> tuple[list[str], bool]:
    """``(aliases not found, cut off by a timeout?)``; raises on any other error (partial data is not complete)."""
    if not isinstance(doc, dict):
        raise errors.UnexpectedResponse(f"POST {url}: expected a GraphQL JSON object, got {type(doc).__name__}.", url=url)
    errs = doc.get("errors") or []
    not_found: list[str] = []
    timed_out = False
    other = []
    for err in errs if isinstance(errs, list) else [errs]:
        kind = err.get("type") if isinstance(err, dict) else None
        path = err.get("path") if isinstance(err, dict) else None
        message = str(err.get("message", "")) if isinstance(err, dict) else str(err)
        if kind == "NOT_FOUND" and path == ["repository"]:
            raise errors.NotFound(f"POST {url}: {message}", url=url, status=200)
        if kind == "NOT_FOUND" and isinstance(path, list) and path and re.fullmatch(r"pr\d+|f\d+", str(path[-1])):
            not_found.append(str(path[-1]))  # a pull request deleted since it was listed
        elif _TIMEOUT_RE.search(message):
            timed_out = True
        else:
            other.append(f"{kind or 'ERROR'}: {message}")
    if other:
        raise errors.GraphQLQueryError(f"POST {url}: GitHub refused the query: {'; '.join(other[:5])}", url=url, status=200)
    if not timed_out and not isinstance(doc.get("data"), dict):
        raise errors.UnexpectedResponse(f"POST {url}: a GraphQL answer without data and without errors.", url=url)
    return not_found, timed_out


@dataclass(frozen=True)
class _Next:
    """A connection of a pull request with more than the nodes read so far: where to go on."""

    number: int
    node_id: str
    connection: str
    cursor: str


def _pending(pr: dict[str, Any]) -> list[_Next]:
    out = []
    for connection in CONNECTIONS:
        info = (pr.get(connection) or {}).get("pageInfo") or {}
        if info.get("hasNextPage"):
            out.append(_Next(pr["number"], pr["id"], connection, info["endCursor"]))
    return out


def detail_pages(client: GitHubClient, repo: str, numbers: Sequence[int], stats: DetailStats, *, batch: int = MAX_BATCH) -> Iterator[SweepPage]:
    """Every GraphQL page of the reviews and files of ``numbers``, ``batch`` pull requests or connection pages a query.

    Each page's ``items`` are the pull-request objects it answers (with their ``number``); its ``extra`` holds the
    query's variables and cost. Connections past 100 nodes are continued from their ``endCursor`` in the next
    queries, beside new pull requests, until GitHub says there is no next page. A 502/504 or a timeout error
    halves the batch (down to 1); it grows back after a few good queries.
    """
    owner, name = repo.split("/", 1)
    size, good = min(batch, MAX_BATCH), 0
    todo, pending = list(numbers), []  # pull requests not asked yet; connection pages still to read
    while todo or pending:
        follow = pending[:size]
        new = todo[: size - len(follow)]
        variables: dict[str, Any] = {"owner": owner, "name": name} if new else {}
        variables |= {f"n{k}": n for k, n in enumerate(new)}
        for k, step in enumerate(follow):
            variables |= {f"id{k}": step.node_id, f"a{k}": step.cursor}
        try:
            response = client.graphql(details_query(len(new), tuple(s.connection for s in follow)), variables, shrinkable=size > 1)
            missing, timed_out = _errors_of(response.data, response.url)
        except errors.PageTooLarge:
            missing, timed_out = [], True
        if timed_out:
            if size == 1:
                raise errors.ServerError(f"POST /graphql: the details of one pull request of {repo} time out even alone ({variables}).", status=502)
            size, good = max(size // 2, 1), 0
            stats.halvings += 1
            continue
        doc = response.data
        _record_cost(stats, doc)
        data = doc["data"]
        stats.not_found.extend(new[int(a[2:])] if a.startswith("pr") else follow[int(a[1:])].number for a in missing)
        stats.follow_ups += len(follow)
        prs = [pr for pr in (data.get("repository") or {}).values() if isinstance(pr, dict)]
        prs += [data[f"f{k}"] for k in range(len(follow)) if isinstance(data.get(f"f{k}"), dict)]
        key = "numbers=" + ",".join(map(str, new)) + "&after=" + ",".join(f"{s.number}:{s.connection}:{s.cursor}" for s in follow)
        yield SweepPage(key=f"graphql:PullRequestDetails?{key}", response=response, items=prs, reused=False, extra=_extra(doc, variables))
        todo, pending = todo[len(new) :], pending[len(follow) :] + [step for pr in prs for step in _pending(pr)]
        good += 1
        if size < batch and good >= RESTORE_AFTER:
            size, good = min(size * 2, batch), 0


def _record_cost(stats: DetailStats, doc: dict[str, Any]) -> None:
    rate = (doc.get("data") or {}).get("rateLimit") or {}
    stats.queries += 1
    stats.points += int(rate.get("cost") or 0)
    if isinstance(rate.get("remaining"), int):
        stats.rate_limit_remaining = rate["remaining"]


def _extra(doc: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """What the raw manifest keeps of a GraphQL page besides its body: the variables and the query's cost."""
    return {"variables": variables, "graphql_cost": ((doc.get("data") or {}).get("rateLimit") or {}).get("cost")}


# ---------------------------------------------------------------------------------------------- staging
_USER = pl.Struct({"__typename": pl.String, "login": pl.String, "databaseId": pl.Int64})
_REVIEW = pl.Struct(
    {
        "fullDatabaseId": pl.String,
        "author": _USER,
        "authorAssociation": pl.String,
        "state": pl.String,
        "body": pl.String,
        "submittedAt": pl.String,
        "commit": pl.Struct({"oid": pl.String}),
        "url": pl.String,
    }
)
_FILE = pl.Struct({"path": pl.String, "additions": pl.Int64, "deletions": pl.Int64, "changeType": pl.String})
_PR_SCHEMA = {
    "number": pl.Int64,
    "reviews": pl.Struct({"totalCount": pl.Int64, "nodes": pl.List(_REVIEW)}),
    "files": pl.Struct({"totalCount": pl.Int64, "nodes": pl.List(_FILE)}),
}
# GraphQL's PatchStatus in REST's words (REST says "removed" where GraphQL says DELETED).
CHANGE_TYPES = {"ADDED": "added", "CHANGED": "changed", "COPIED": "copied", "DELETED": "removed", "MODIFIED": "modified", "RENAMED": "renamed"}


def pull_requests_of(body: bytes) -> list[dict[str, Any]]:
    """The pull-request objects of one stored GraphQL page: the batch's aliases, then the connection pages' nodes."""
    data = orjson.loads(body).get("data") or {}
    prs = [pr for pr in (data.get("repository") or {}).values() if isinstance(pr, dict)]
    return prs + [v for k, v in data.items() if re.fullmatch(r"f\d+", k) and isinstance(v, dict)]


def graphql_page(body: bytes, connection: str) -> pl.DataFrame:
    """A stored GraphQL page as the rows REST's ``/reviews`` or ``/files`` pages give (plus ``pull_number``), and
    one row per pull request with GitHub's own count of the connection (``github_total``; null on the others).

    Staged reviews and files keep one model whichever API fed them. GraphQL gives no file ``sha``, no
    ``previous_filename`` for renames and no ``patch``: those stay null on this path (documented in the README).
    """
    # A connection page (an ``fN`` alias) answers one connection of its PR: the other is absent from it.
    prs = pl.DataFrame(pull_requests_of(body), schema=_PR_SCHEMA).filter(pl.col(connection).is_not_null())
    nodes = prs.select(pl.col("number").alias("pull_number"), pl.col(connection).struct.field("nodes").alias("node")).explode("node")
    rows = _rest_columns(nodes.filter(pl.col("node").is_not_null()).unnest("node"), connection)
    totals = prs.select(pl.col("number").alias("pull_number"), pl.col(connection).struct.field("totalCount").alias("github_total"))
    return pl.concat([rows, totals], how="diagonal_relaxed")


def _rest_columns(nodes: pl.DataFrame, connection: str) -> pl.DataFrame:
    if connection == "reviews":
        bot = pl.col("author").struct.field("__typename") == "Bot"
        login = pl.col("author").struct.field("login")
        return nodes.select(
            "pull_number",
            pl.col("fullDatabaseId").cast(pl.Int64, strict=False).alias("id"),
            # GraphQL names a bot "dependabot" where REST says "dependabot[bot]".
            pl.struct(pl.when(bot).then(login + "[bot]").otherwise(login).alias("login"), pl.col("author").struct.field("databaseId").alias("id")).alias("user"),
            "body",
            "state",
            pl.col("url").alias("html_url"),
            pl.col("submittedAt").alias("submitted_at"),
            pl.col("commit").struct.field("oid").alias("commit_id"),
            pl.col("authorAssociation").alias("author_association"),
        )
    return nodes.select(
        "pull_number",
        pl.lit(None, dtype=pl.String).alias("sha"),
        pl.col("path").alias("filename"),
        pl.col("changeType").replace_strict(CHANGE_TYPES, default=pl.col("changeType").str.to_lowercase()).alias("status"),
        "additions",
        "deletions",
        (pl.col("additions") + pl.col("deletions")).alias("changes"),
        pl.lit(None, dtype=pl.String).alias("previous_filename"),
    )
