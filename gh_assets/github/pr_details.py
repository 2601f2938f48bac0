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
from gh_assets.github.pagination import SweepPage

MAX_BATCH = 50  # pull requests per query: 1 + 2 x 50 connection requests = 1 point
RESTORE_AFTER = 3  # good batches at a reduced size before trying twice the size again
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
def batch_query(size: int) -> str:
    """The query for ``size`` pull requests (numbers as variables ``$n0``..., so the text repeats per size)."""
    numbers = ", ".join(f"$n{i}: Int!" for i in range(size))
    aliases = "\n".join(f"    pr{i}: pullRequest(number: $n{i}) {{ ...details }}" for i in range(size))
    connections = "\n".join(f"  {name}(first: 100) {{ {_CONNECTION.format(fields=fields)} }}" for name, fields in CONNECTIONS.items())
    return (
        f"query PullRequestDetails($owner: String!, $name: String!, {numbers}) {{\n"
        f"  {RATE_LIMIT_FIELDS}\n"
        f"  repository(owner: $owner, name: $name) {{\n{aliases}\n  }}\n}}\n"
        f"fragment details on PullRequest {{\n  id number changedFiles\n{connections}\n}}\n"
    )


@functools.cache
def follow_up_query(connection: str) -> str:
    """The next 100 nodes of one PR's ``reviews`` or ``files`` after a cursor."""
    fields = CONNECTIONS[connection]
    return (
        f"query PullRequest{connection.title()}Page($id: ID!, $after: String!) {{\n"
        f"  {RATE_LIMIT_FIELDS}\n"
        f"  node(id: $id) {{ ... on PullRequest {{ id number {connection}(first: 100, after: $after) {{ {_CONNECTION.format(fields=fields)} }} }} }}\n"
        f"}}\n"
    )


def all_queries() -> list[str]:
    """Every query text this module can send (for validation against GitHub's schema)."""
    return [batch_query(n) for n in range(1, MAX_BATCH + 1)] + [follow_up_query(c) for c in CONNECTIONS]


_TIMEOUT_RE = re.compile(r"timeout|timed out|something went wrong while executing your query", re.IGNORECASE)


@dataclass
class DetailStats:
    """What the GraphQL path did: queries, points, pull requests not found, batch sizes."""

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
            "graphql_follow_up_queries": self.follow_ups,
            "graphql_batch_halvings": self.halvings,
            "pull_requests_not_found": len(self.not_found),
        }
        if self.rate_limit_remaining is not None:
            out["graphql_rate_limit_remaining"] = self.rate_limit_remaining
        return out


def _errors_of(doc: Any, url: str) -> tuple[list[int], bool]:
    """``(PR numbers not found, cut off by a timeout?)``; raises on any other error (partial data is not complete)."""
    if not isinstance(doc, dict):
        raise errors.UnexpectedResponse(f"POST {url}: expected a GraphQL JSON object, got {type(doc).__name__}.", url=url)
    errs = doc.get("errors") or []
    not_found: list[int] = []
    timed_out = False
    other = []
    for err in errs if isinstance(errs, list) else [errs]:
        kind = err.get("type") if isinstance(err, dict) else None
        path = err.get("path") if isinstance(err, dict) else None
        message = str(err.get("message", "")) if isinstance(err, dict) else str(err)
        if kind == "NOT_FOUND" and isinstance(path, list) and len(path) == 2 and str(path[1]).startswith("pr"):
            not_found.append(int(str(path[1])[2:]))  # the alias index; mapped to its number by the caller
        elif kind == "NOT_FOUND" and path == ["repository"]:
            raise errors.NotFound(f"POST {url}: {message}", url=url, status=200)
        elif _TIMEOUT_RE.search(message):
            timed_out = True
        else:
            other.append(f"{kind or 'ERROR'}: {message}")
    if other:
        raise errors.GraphQLQueryError(f"POST {url}: GitHub refused the query: {'; '.join(other[:5])}", url=url, status=200)
    if not timed_out and not isinstance(doc.get("data"), dict):
        raise errors.UnexpectedResponse(f"POST {url}: a GraphQL answer without data and without errors.", url=url)
    return not_found, timed_out


def _record_cost(stats: DetailStats, doc: dict[str, Any]) -> None:
    rate = (doc.get("data") or {}).get("rateLimit") or {}
    stats.queries += 1
    stats.points += int(rate.get("cost") or 0)
    if isinstance(rate.get("remaining"), int):
        stats.rate_limit_remaining = rate["remaining"]


def _page(kind: str, key_params: str, response: Any, items: list[dict[str, Any]], variables: dict[str, Any]) -> SweepPage:
    cost = ((response.data.get("data") or {}).get("rateLimit") or {}).get("cost")
    return SweepPage(key=f"graphql:{kind}?{key_params}", response=response, items=items, reused=False, extra={"variables": variables, "graphql_cost": cost})


def detail_pages(client: GitHubClient, repo: str, numbers: Sequence[int], stats: DetailStats, *, batch: int = MAX_BATCH) -> Iterator[SweepPage]:
    """Every GraphQL page of the reviews and files of ``numbers``: batches, then follow-ups of long connections.

    Each page's ``items`` are the pull-request objects it answers (with their ``number``); ``extra`` holds the
    query's variables. A 502/504 or a timeout error halves the batch (down to 1); it grows back after a few
    good batches.
    """
    owner, name = repo.split("/", 1)
    size, good, i = min(batch, MAX_BATCH), 0, 0
    todo = list(numbers)
    while i < len(todo):
        chunk = todo[i : i + size]
        variables: dict[str, Any] = {"owner": owner, "name": name, **{f"n{k}": n for k, n in enumerate(chunk)}}
        try:
            response = client.graphql(batch_query(len(chunk)), variables, shrinkable=size > 1)
            missing, timed_out = _errors_of(response.data, response.url)
        except errors.PageTooLarge:
            missing, timed_out = [], True
        if timed_out:
            if size == 1:
                raise errors.ServerError(f"POST /graphql: the details of pull request {chunk[0]} of {repo} time out even alone.", status=502)
            size, good = max(size // 2, 1), 0
            stats.halvings += 1
            continue
        doc = response.data
        _record_cost(stats, doc)
        stats.not_found.extend(chunk[k] for k in missing)
        prs = [pr for pr in (doc["data"].get("repository") or {}).values() if isinstance(pr, dict)]
        yield _page("PullRequestDetails", "numbers=" + ",".join(map(str, chunk)), response, prs, variables)
        for pr in prs:
            for connection in CONNECTIONS:
                yield from _follow_up(client, pr, connection, stats)
        i += len(chunk)
        good += 1
        if size < batch and good >= RESTORE_AFTER:
            size, good = min(size * 2, batch), 0


def _follow_up(client: GitHubClient, pr: dict[str, Any], connection: str, stats: DetailStats) -> Iterator[SweepPage]:
    """The pages after the first 100 nodes of one PR's connection, by cursor until ``hasNextPage`` is false."""
    info = (pr.get(connection) or {}).get("pageInfo") or {}
    while info.get("hasNextPage"):
        variables = {"id": pr["id"], "after": info["endCursor"]}
        response = client.graphql(follow_up_query(connection), variables)
        missing, timed_out = _errors_of(response.data, response.url)
        node = (response.data.get("data") or {}).get("node")
        if missing or timed_out or not isinstance(node, dict):
            raise errors.GraphQLQueryError(
                f"POST {response.url}: the {connection} of pull request {pr.get('number')} after cursor {info['endCursor']!r} could not be read "
                "completely; rerun the partition.",
                url=response.url,
                status=response.status,
            )
        _record_cost(stats, response.data)
        stats.follow_ups += 1
        yield _page(f"PullRequest{connection.title()}Page", f"number={node.get('number')}&after={info['endCursor']}", response, [node], variables)
        info = (node.get(connection) or {}).get("pageInfo") or {}


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
    """The pull-request objects of one stored GraphQL page (a batch's aliases, or a follow-up's node)."""
    data = orjson.loads(body).get("data") or {}
    if "node" in data:
        return [data["node"]] if isinstance(data["node"], dict) else []
    return [pr for pr in (data.get("repository") or {}).values() if isinstance(pr, dict)]


def graphql_page(body: bytes, connection: str) -> pl.DataFrame:
    """A stored GraphQL page as the rows REST's ``/reviews`` or ``/files`` pages give (plus ``pull_number``), and
    one row per pull request with GitHub's own count of the connection (``github_total``; null on the others).

    Staged reviews and files keep one model whichever API fed them. GraphQL gives no file ``sha``, no
    ``previous_filename`` for renames and no ``patch``: those stay null on this path (documented in the README).
    """
    # A follow-up page answers one connection: the other is absent from it.
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
