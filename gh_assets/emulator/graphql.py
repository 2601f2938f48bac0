"""GitHub's GraphQL API (``POST /graphql``) over the emulator's own data, executed by graphql-core.

Two steps, so the server can decide on budget and faults in between:

* :func:`plan_query` parses and validates a request against GitHub's schema
  (:func:`gh_assets.graphql_schema.load_github_schema`), enforces GitHub's pagination rules (every
  connection needs ``first`` or ``last`` within 1..100) and the 500,000 node limit, and computes
  the cost by GitHub's documented rule: one request for the root plus, for every connection field,
  the product of the ``first``/``last`` values of the connections above it (aliases count
  separately); cost = ``max(1, round(requests / 100))``. A refused query costs nothing.
* :func:`execute_plan` runs the planned query against a :class:`~gh_assets.emulator.data.DataStore`
  (the caller holds its lock). The REST documents are the source of truth and are mapped field by
  field (review ``databaseId`` = REST ``id``, ``commit.oid`` = ``commit_id``, file ``path`` =
  ``filename``, ``changeType`` = upper-cased ``status`` with ``removed`` -> ``DELETED``...), so a
  test can compare both APIs.

Errors have GitHub's shape: ``{"type"?, "path"?, "locations"?, "message"}``, beside partial
``data`` when a resolver fails (``NOT_FOUND`` for an unknown repository or pull request).
The shared schema is never modified: resolvers are plain objects whose attributes or methods are
named after the GraphQL fields, dispatched by our own field and type resolvers.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import graphql
import orjson
from graphql import GraphQLError
from graphql.execution import ExecutionContext
from graphql.execution.values import get_argument_values, get_variable_values

from gh_assets.emulator.data import _NUMBER_MASK, format_ts, parse_ts
from gh_assets.graphql_schema import load_github_schema

if TYPE_CHECKING:
    from gh_assets.emulator.data import DataStore, IssueRecord, RepoData

__all__ = [
    "MAX_NODES",
    "MAX_PAGE",
    "QueryPlan",
    "RateLimitView",
    "RequestRefused",
    "error_body",
    "parse_request",
    "execute_plan",
    "plan_query",
]

DOC_GRAPHQL = "https://docs.github.com/graphql"
MAX_NODES = 500_000
MAX_PAGE = 100
_CURSOR_PREFIX = b"cursor:v2:"
_FILE_CHANGE_TYPES = {
    "added": "ADDED",
    "removed": "DELETED",
    "modified": "MODIFIED",
    "renamed": "RENAMED",
    "copied": "COPIED",
    "changed": "CHANGED",
    "unchanged": "MODIFIED",  # PatchStatus has no UNCHANGED
}
_UNDEFINED_FIELD_RE = re.compile(r"^Cannot query field '([^']+)' on type '([^']+)'\.")
_ISSUE_ORDER = {"CREATED_AT": "created", "UPDATED_AT": "updated", "COMMENTS": "comments"}


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


class GitHubQueryError(GraphQLError):
    """An error GitHub reports with a ``type`` (``NOT_FOUND``, ``EXCESSIVE_PAGINATION``...)."""

    def __init__(self, error_type: str, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.error_type = error_type


def format_error(error: GraphQLError) -> dict[str, Any]:
    """GitHub's error object: ``type`` first when known, then ``path``, ``locations``, ``message``."""
    out: dict[str, Any] = {}
    typed = error if isinstance(error, GitHubQueryError) else error.original_error
    if isinstance(typed, GitHubQueryError):
        out["type"] = typed.error_type
    if error.path:
        out["path"] = list(error.path)
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    message = error.message
    m = _UNDEFINED_FIELD_RE.match(message)
    if m:  # GitHub's wording of the most common validation error
        message = f"Field '{m.group(1)}' doesn't exist on type '{m.group(2)}'"
        out["extensions"] = {"code": "undefinedField", "typeName": m.group(2), "fieldName": m.group(1)}
    out["message"] = message
    return out


def error_body(errors: Sequence[GraphQLError | dict[str, Any]]) -> dict[str, Any]:
    return {"errors": [e if isinstance(e, dict) else format_error(e) for e in errors]}


# ---------------------------------------------------------------------------
# planning: validation, pagination rules, node count and cost
# ---------------------------------------------------------------------------


@dataclass
class QueryPlan:
    """A validated query with its cost, or the errors that refuse it (then it costs nothing)."""

    errors: list[GraphQLError] = field(default_factory=list)
    document: graphql.DocumentNode | None = None
    operation: graphql.OperationDefinitionNode | None = None
    variables: dict[str, Any] = field(default_factory=dict)  # as sent (graphql-core coerces them again)
    requests: int = 0
    node_count: int = 0

    @property
    def cost(self) -> int:
        """GitHub's points: connection requests / 100, rounded, at least 1."""
        return max(1, round(self.requests / 100))


class RequestRefused(Exception):
    """A request body GitHub refuses before looking at the query: HTTP ``status`` with ``body``."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def parse_request(payload: bytes) -> tuple[str, dict[str, Any], str | None]:
    """``(query, variables, operationName)`` of a request body; :class:`RequestRefused` when unusable."""
    try:
        body = orjson.loads(payload) if payload else None
    except orjson.JSONDecodeError:
        raise RequestRefused(400, {"message": "Problems parsing JSON", "documentation_url": DOC_GRAPHQL}) from None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise RequestRefused(200, {"errors": [{"message": "A query attribute must be specified and must be a string."}]})
    variables = body.get("variables")
    if variables is None or variables == "":
        variables = {}
    if isinstance(variables, str):
        try:
            variables = orjson.loads(variables)
        except orjson.JSONDecodeError:
            variables = None
    if not isinstance(variables, dict):
        raise RequestRefused(200, {"errors": [{"message": "Variables are invalid JSON."}]})
    name = body.get("operationName")
    return body["query"], variables, name if isinstance(name, str) and name else None


def plan_query(query: str, variables: dict[str, Any], operation_name: str | None = None) -> QueryPlan:
    """Parse, validate and price ``query`` (pure: no data, no budget)."""
    schema = load_github_schema()
    document, errors = _parse_and_validate(schema, query)
    if errors:
        return QueryPlan(errors=list(errors))
    operation = graphql.get_operation_ast(document, operation_name)
    if operation is None:
        if operation_name:
            return QueryPlan(errors=[GraphQLError(f"Unknown operation named '{operation_name}'.")])
        return QueryPlan(errors=[GraphQLError("Must provide operation name if query contains multiple operations.")])
    if operation.operation != graphql.OperationType.QUERY:
        return QueryPlan(errors=[GraphQLError(f"The emulator serves queries only, not {operation.operation.value}s.", operation)])
    coerced = get_variable_values(schema, operation.variable_definitions or [], variables)
    if isinstance(coerced, list):
        return QueryPlan(errors=coerced)
    plan = QueryPlan(document=document, operation=operation, variables=variables, requests=1)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, graphql.FragmentDefinitionNode)}
    walker = _CostWalker(schema, fragments, coerced, plan)
    walker.walk(operation.selection_set, schema.query_type, 1, [])
    if not plan.errors and walker.over_limit is not None:
        name, count, node = walker.over_limit
        plan.errors.append(
            GitHubQueryError(
                "MAX_NODE_LIMIT_EXCEEDED",
                f"By the time this query traverses to the {name} connection, it is requesting up to {count:,} possible "
                f"nodes which exceeds the maximum limit of {MAX_NODES:,}.",
                nodes=node,
            )
        )
    return plan


def _parse_and_validate(schema: graphql.GraphQLSchema, query: str) -> tuple[graphql.DocumentNode, list[GraphQLError]]:
    """Parsed document and validation errors of ``query``, cached: a client repeats the same query text with
    new variables, and graphql-core needs ~0.2 s to parse and validate a batch of 50 aliased pull requests."""
    with _documents_lock:
        hit = _documents.get(query)
        if hit is not None:
            _documents.move_to_end(query)
            return hit
    try:
        document = graphql.parse(query)
        errors = list(graphql.validate(schema, document))
    except GraphQLError as exc:
        document, errors = graphql.DocumentNode(definitions=()), [exc]
    with _documents_lock:
        _documents[query] = (document, errors)
        if len(_documents) > _DOCUMENT_CACHE_SIZE:
            _documents.popitem(last=False)
    return document, errors


_DOCUMENT_CACHE_SIZE = 128
_documents: OrderedDict[str, tuple[graphql.DocumentNode, list[GraphQLError]]] = OrderedDict()
_documents_lock = threading.Lock()


class _CostWalker:
    """Walks the operation's selections (fragments expanded) counting connections GitHub's way."""

    def __init__(
        self,
        schema: graphql.GraphQLSchema,
        fragments: dict[str, graphql.FragmentDefinitionNode],
        variables: dict[str, Any],
        plan: QueryPlan,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.plan = plan
        self.over_limit: tuple[str, int, graphql.FieldNode] | None = None  # first connection past MAX_NODES

    def walk(self, selection_set: graphql.SelectionSetNode | None, parent: Any, multiplier: int, path: list[Any]) -> None:
        if selection_set is None:
            return
        for sel in selection_set.selections:
            if isinstance(sel, graphql.FieldNode):
                self._field(sel, parent, multiplier, path)
            elif isinstance(sel, graphql.InlineFragmentNode):
                cond = self.schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                self.walk(sel.selection_set, cond, multiplier, path)
            elif isinstance(sel, graphql.FragmentSpreadNode):
                frag = self.fragments[sel.name.value]
                self.walk(frag.selection_set, self.schema.get_type(frag.type_condition.name.value), multiplier, path)

    def _field(self, node: graphql.FieldNode, parent: Any, multiplier: int, path: list[Any]) -> None:
        name = node.name.value
        if name.startswith("__") or not hasattr(parent, "fields"):
            return
        field_def = parent.fields[name]
        key = node.alias.value if node.alias else name
        here = path + [key]
        target = graphql.get_named_type(field_def.type)
        args = get_argument_values(field_def, node, self.variables)
        child = multiplier
        if target.name.endswith("Connection") and "first" in field_def.args:
            first, last = args.get("first"), args.get("last")
            if first is not None and last is not None:
                self.plan.errors.append(
                    GraphQLError(
                        f"Passing both `first` and `last` to paginate the `{name}` connection is not supported.",
                        nodes=node,
                        path=here,
                    )
                )
                return
            if first is None and last is None:
                self.plan.errors.append(
                    GitHubQueryError(
                        "MISSING_PAGINATION_BOUNDARIES",
                        f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
                        nodes=node,
                        path=here,
                    )
                )
                return
            for arg, value in (("first", first), ("last", last)):
                if value is not None and value > MAX_PAGE:
                    self.plan.errors.append(
                        GitHubQueryError(
                            "EXCESSIVE_PAGINATION",
                            f"Requesting {value} records on the `{name}` connection exceeds the `{arg}` limit of "
                            f"{MAX_PAGE} records.",
                            nodes=node,
                            path=here,
                        )
                    )
                    return
                if value is not None and value < 1:
                    self.plan.errors.append(
                        GitHubQueryError(
                            "EXCESSIVE_PAGINATION",
                            f"Requesting {value} records on the `{name}` connection is below the `{arg}` minimum of "
                            "1 record.",
                            nodes=node,
                            path=here,
                        )
                    )
                    return
            size = first if first is not None else last
            self.plan.requests += multiplier
            child = multiplier * size
            self.plan.node_count += child
            if self.over_limit is None and self.plan.node_count > MAX_NODES:
                self.over_limit = (name, self.plan.node_count, node)
        elif name == "nodes" and parent is self.schema.query_type:
            child = multiplier * max(1, len(args.get("ids") or ()))
        self.walk(node.selection_set, target, child, here)


# ---------------------------------------------------------------------------
# execution
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimitView:
    """What ``rateLimit { ... }`` answers: the budget after this query was charged."""

    cost: int
    limit: int
    remaining: int
    used: int
    reset: float
    node_count: int


class _BigIntContext(ExecutionContext):
    """GitHub serves REST ids above 2**31 in ``databaseId: Int``; graphql-core would refuse them."""

    @staticmethod
    def complete_leaf_value(return_type: Any, result: Any) -> Any:
        if return_type is graphql.GraphQLInt and type(result) is int:
            return result
        return ExecutionContext.complete_leaf_value(return_type, result)


def _resolve(source: Any, info: graphql.GraphQLResolveInfo, **args: Any) -> Any:
    value = getattr(source, info.field_name, _MISSING)
    if value is _MISSING:
        raise GraphQLError(f"The GitHub emulator does not serve `{info.parent_type.name}.{info.field_name}`.")
    return value(info, **args) if callable(value) else value


def _resolve_type(value: Any, info: graphql.GraphQLResolveInfo, abstract_type: Any) -> str:
    return value.typename


_MISSING = object()


def execute_plan(plan: QueryPlan, store: DataStore, rate: RateLimitView) -> dict[str, Any]:
    """Run a valid plan over ``store`` (its lock held); the response body, GitHub-shaped."""
    assert plan.document is not None and not plan.errors
    ctx = _Context(store, rate)
    result = graphql.execute(
        load_github_schema(),
        plan.document,
        root_value=_Query(ctx),
        variable_values=plan.variables,
        operation_name=plan.operation.name.value if plan.operation and plan.operation.name else None,
        field_resolver=_resolve,
        type_resolver=_resolve_type,
        execution_context_class=_BigIntContext,
    )
    assert not hasattr(result, "__await__")
    out: dict[str, Any] = {"data": result.data}  # type: ignore[union-attr]
    if result.errors:  # type: ignore[union-attr]
        out["errors"] = [format_error(e) for e in result.errors]  # type: ignore[union-attr]
    return out


class _Context:
    def __init__(self, store: DataStore, rate: RateLimitView) -> None:
        self.store = store
        self.entities = store.entities
        self.rate = rate


# -- connections -------------------------------------------------------------


def _cursor(position: int) -> str:
    return base64.b64encode(_CURSOR_PREFIX + str(position).encode()).decode()


def _position(cursor: str) -> int:
    try:
        raw = base64.b64decode(cursor.encode(), validate=True)
        if raw.startswith(_CURSOR_PREFIX):
            return int(raw[len(_CURSOR_PREFIX) :])
    except (binascii.Error, ValueError, UnicodeError):
        pass
    raise GitHubQueryError("INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor.")


class _PageInfo:
    typename = "PageInfo"

    def __init__(self, start: int, end: int, total: int) -> None:
        self.hasNextPage = end < total
        self.hasPreviousPage = start > 0
        self.startCursor = _cursor(start) if end > start else None
        self.endCursor = _cursor(end - 1) if end > start else None


class _Edge:
    def __init__(self, typename: str, position: int, node: Any) -> None:
        self.typename = typename
        self.cursor = _cursor(position)
        self.node = node


class _Connection:
    """A Relay connection over ``total`` items; ``load(start, end)`` builds the nodes of one window."""

    def __init__(
        self,
        typename: str,
        total: int,
        load: Callable[[int, int], list[Any]],
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> None:
        self.typename = typename
        self.totalCount = total
        start, end = 0, total
        if after is not None:
            start = min(total, max(0, _position(after) + 1))
        if before is not None:
            end = max(start, min(total, _position(before)))
        if first is not None:
            end = min(end, start + first)
        if last is not None:
            start = max(start, end - last)
        self._start, self._end = start, end
        self._load = load
        self._nodes: list[Any] | None = None
        self.pageInfo = _PageInfo(start, end, total)

    def _window(self) -> list[Any]:
        if self._nodes is None:
            self._nodes = self._load(self._start, self._end) if self._end > self._start else []
        return self._nodes

    def nodes(self, info: Any) -> list[Any]:
        return self._window()

    def edges(self, info: Any) -> list[_Edge]:
        edge_type = self.typename[: -len("Connection")] + "Edge"
        return [_Edge(edge_type, self._start + i, n) for i, n in enumerate(self._window())]


class _CountOnly:
    """A connection the emulator only counts (``totalCount``); its nodes are not served."""

    def __init__(self, typename: str, total: int) -> None:
        self.typename = typename
        self.totalCount = total


def _list_connection(typename: str, items: Sequence[Any], args: dict[str, Any]) -> _Connection:
    return _Connection(
        typename, len(items), lambda s, e: list(items[s:e]), args.get("first"), args.get("last"), args.get("after"),
        args.get("before"),
    )


def _unsupported(info: Any, **given: Any) -> None:
    used = [k for k, v in given.items() if v is not None]
    if used:
        raise GraphQLError(f"The GitHub emulator does not support the argument(s) {', '.join(used)} of `{info.field_name}`.")


# -- actors and small objects --------------------------------------------------


def _actor(user: dict[str, Any] | None) -> _Actor | None:
    return None if user is None else _Actor(user)


class _Actor:
    """A REST ``user`` object as a GraphQL User, Bot or Organization (GitHub drops ``[bot]`` from bot logins)."""

    def __init__(self, user: dict[str, Any]) -> None:
        kind = user.get("type", "User")
        self.typename = kind if kind in ("User", "Bot", "Organization") else "User"
        login = user["login"]
        self.login = login[: -len("[bot]")] if self.typename == "Bot" and login.endswith("[bot]") else login
        self.databaseId = user["id"]
        self.id = user["node_id"]
        self.url = user["html_url"]
        self.resourcePath = "/" + login
        self.name = None

    def avatarUrl(self, info: Any, size: int | None = None) -> str:
        return f"https://avatars.githubusercontent.com/u/{self.databaseId}?v=4" + (f"&s={size}" if size else "")


class _Label:
    typename = "Label"

    def __init__(self, doc: dict[str, Any]) -> None:
        self.id = doc["node_id"]
        self.name = doc["name"]
        self.color = doc["color"]
        self.description = doc.get("description")
        self.isDefault = bool(doc.get("default"))
        self.url = doc["url"]


class _Milestone:
    typename = "Milestone"

    def __init__(self, doc: dict[str, Any]) -> None:
        self.id = doc["node_id"]
        self.number = doc["number"]
        self.title = doc["title"]
        self.description = doc.get("description")
        self.state = doc["state"].upper()
        self.dueOn = doc.get("due_on")
        self.closedAt = doc.get("closed_at")
        self.createdAt = doc["created_at"]
        self.updatedAt = doc["updated_at"]
        self.url = doc["html_url"]


class _Commit:
    typename = "Commit"

    def __init__(self, oid: str, html_base: str) -> None:
        self.oid = oid
        self.abbreviatedOid = oid[:7]
        self.url = f"{html_base}/commit/{oid}"


class _PullRequestCommit:
    typename = "PullRequestCommit"

    def __init__(self, commit: _Commit) -> None:
        self.commit = commit
        self.url = commit.url


class _ChangedFile:
    typename = "PullRequestChangedFile"
    viewerViewedState = "UNVIEWED"

    def __init__(self, doc: dict[str, Any]) -> None:
        self.path = doc["filename"]
        self.additions = doc["additions"]
        self.deletions = doc["deletions"]
        self.changeType = _FILE_CHANGE_TYPES[doc["status"]]


class _ReviewRequest:
    typename = "ReviewRequest"
    asCodeOwner = False

    def __init__(self, pr: _PullRequest, user: dict[str, Any]) -> None:
        self.pullRequest = pr
        self.requestedReviewer = _Actor(user)
        self.databaseId = None
        self.id = "RR_" + base64.urlsafe_b64encode(f"{pr.databaseId}:{user['id']}".encode()).decode().rstrip("=")


class _Review:
    typename = "PullRequestReview"

    def __init__(self, pr: _PullRequest, doc: dict[str, Any]) -> None:
        self.pullRequest = pr
        self.id = doc["node_id"]
        self.databaseId = doc["id"]
        self.fullDatabaseId = str(doc["id"])
        self.author = _actor(doc["user"])
        self.authorAssociation = doc["author_association"]
        self.state = doc["state"]
        self.body = doc["body"]
        self.bodyText = doc["body"]
        self.submittedAt = doc["submitted_at"]
        self.createdAt = doc["submitted_at"]
        self.publishedAt = doc["submitted_at"]
        self.updatedAt = doc["submitted_at"]
        self.lastEditedAt = None
        self.commit = _Commit(doc["commit_id"], pr.repo.html_url)
        self.url = doc["html_url"]
        self.resourcePath = doc["html_url"].removeprefix("https://github.com")


# -- issues and pull requests ---------------------------------------------------


class _IssueLike:
    """Fields shared by Issue and PullRequest, read from the REST document ``self.doc``."""

    ctx: _Context
    repo: RepoData
    rec: IssueRecord

    @property
    def doc(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def number(self) -> int:
        return self.rec.number

    def title(self, info: Any) -> Any:
        return self.doc["title"]

    def body(self, info: Any) -> Any:
        return self.doc["body"] or ""

    def bodyText(self, info: Any) -> Any:
        return self.doc["body"] or ""

    def createdAt(self, info: Any) -> str:
        return self.doc["created_at"]

    def updatedAt(self, info: Any) -> str:
        return self.doc["updated_at"]

    def closedAt(self, info: Any) -> str | None:
        return self.doc["closed_at"]

    def closed(self, info: Any) -> bool:
        return self.doc["state"] == "closed"

    def locked(self, info: Any) -> bool:
        return self.doc["locked"]

    def activeLockReason(self, info: Any) -> str | None:
        reason = self.doc.get("active_lock_reason")
        return None if reason is None else reason.upper().replace(" ", "_")

    def url(self, info: Any) -> str:
        return self.doc["html_url"]

    def resourcePath(self, info: Any) -> str:
        return self.doc["html_url"].removeprefix("https://github.com")

    def author(self, info: Any) -> _Actor | None:
        return _actor(self.doc["user"])

    def authorAssociation(self, info: Any) -> str:
        return self.doc["author_association"]

    def milestone(self, info: Any) -> _Milestone | None:
        m = self.doc.get("milestone")
        return None if m is None else _Milestone(m)

    def repository(self, info: Any) -> _Repository:
        return _Repository(self.ctx, self.repo)

    def labels(self, info: Any, **args: Any) -> _Connection:
        return _list_connection("LabelConnection", [_Label(x) for x in self.doc["labels"]], args)

    def assignees(self, info: Any, **args: Any) -> _Connection:
        return _list_connection("UserConnection", [_Actor(u) for u in self.doc["assignees"]], args)

    def comments(self, info: Any, **args: Any) -> _CountOnly:
        return _CountOnly("IssueCommentConnection", max(0, self.rec.comments))


class _Issue(_IssueLike):
    typename = "Issue"

    def __init__(self, ctx: _Context, repo: RepoData, rec: IssueRecord) -> None:
        self.ctx, self.repo, self.rec = ctx, repo, rec
        self._doc: dict[str, Any] | None = None

    @property
    def doc(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = orjson.loads(self.ctx.store.raw(self.repo, self.rec))
        return self._doc

    def id(self, info: Any) -> str:
        return self.doc["node_id"]

    def databaseId(self, info: Any) -> int:
        return self.doc["id"]

    def fullDatabaseId(self, info: Any) -> str:
        return str(self.doc["id"])

    def state(self, info: Any) -> str:
        return self.doc["state"].upper()

    def stateReason(self, info: Any, enableDuplicate: bool = False) -> str | None:
        reason = self.doc.get("state_reason")
        if reason is None:
            return None
        if reason == "duplicate" and not enableDuplicate:
            return "NOT_PLANNED"  # GitHub's answer unless the client opts in to DUPLICATE
        return reason.upper()


class _PullRequest(_IssueLike):
    typename = "PullRequest"

    def __init__(self, ctx: _Context, repo: RepoData, rec: IssueRecord) -> None:
        self.ctx, self.repo, self.rec = ctx, repo, rec
        self._doc: dict[str, Any] | None = None
        self._files: list[bytes] | None = None
        self._file_docs: list[dict[str, Any]] | None = None

    @property
    def doc(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = orjson.loads(self.ctx.entities.pr_raw(self.repo, self.rec))
        return self._doc

    @property
    def databaseId(self) -> int:
        return self.ctx.entities.pr_id(self.repo, self.rec.number)

    def fullDatabaseId(self, info: Any) -> str:
        return str(self.databaseId)

    def id(self, info: Any) -> str:
        return self.doc["node_id"]

    def state(self, info: Any) -> str:
        doc = self.doc
        if doc["merged_at"] is not None:
            return "MERGED"
        return doc["state"].upper()

    def merged(self, info: Any) -> bool:
        return self.doc["merged_at"] is not None

    def mergedAt(self, info: Any) -> str | None:
        return self.doc["merged_at"]

    def isDraft(self, info: Any) -> bool:
        return bool(self.doc["draft"])

    def headRefName(self, info: Any) -> str:
        return self.doc["head"]["ref"]

    def headRefOid(self, info: Any) -> str:
        return self.doc["head"]["sha"]

    def baseRefName(self, info: Any) -> str:
        return self.doc["base"]["ref"]

    def baseRefOid(self, info: Any) -> str:
        return self.doc["base"]["sha"]

    def isCrossRepository(self, info: Any) -> bool:
        head = self.doc["head"]["repo"]
        return head is None or head["full_name"] != self.repo.full_name

    def mergeCommit(self, info: Any) -> _Commit | None:
        doc = self.doc
        sha = doc["merge_commit_sha"]
        return _Commit(sha, self.repo.html_url) if sha and doc["merged_at"] is not None else None

    def permalink(self, info: Any) -> str:
        return self.doc["html_url"]

    # -- children -------------------------------------------------------------

    def _file_raws(self) -> list[bytes]:
        if self._files is None:
            self._files = self.ctx.entities.files(self.repo, self.rec)
        return self._files

    def _all_files(self) -> list[dict[str, Any]]:
        if self._file_docs is None:
            self._file_docs = [orjson.loads(raw) for raw in self._file_raws()]
        return self._file_docs

    def changedFiles(self, info: Any) -> int:
        return len(self._file_raws())

    def additions(self, info: Any) -> int:
        return sum(f["additions"] for f in self._all_files())

    def deletions(self, info: Any) -> int:
        return sum(f["deletions"] for f in self._all_files())

    def files(self, info: Any, **args: Any) -> _Connection:
        raws = self._file_raws()
        return _Connection(
            "PullRequestChangedFileConnection",
            len(raws),
            lambda s, e: [_ChangedFile(orjson.loads(raw)) for raw in raws[s:e]],
            args.get("first"), args.get("last"), args.get("after"), args.get("before"),
        )

    def reviews(self, info: Any, states: list[str] | None = None, author: str | None = None, **args: Any) -> _Connection:
        raws = self.ctx.entities.reviews(self.repo, self.rec)
        if states is not None or author is not None:
            docs = [orjson.loads(raw) for raw in raws]
            if states is not None:
                docs = [d for d in docs if d["state"] in states]
            if author is not None:
                low = author.lower()
                docs = [d for d in docs if d["user"] is not None and d["user"]["login"].lower() == low]
            return _list_connection("PullRequestReviewConnection", [_Review(self, d) for d in docs], args)
        return _Connection(
            "PullRequestReviewConnection",
            len(raws),
            lambda s, e: [_Review(self, orjson.loads(raw)) for raw in raws[s:e]],
            args.get("first"), args.get("last"), args.get("after"), args.get("before"),
        )

    def reviewRequests(self, info: Any, **args: Any) -> _Connection:
        requests = [_ReviewRequest(self, u) for u in self.doc["requested_reviewers"]]
        return _list_connection("ReviewRequestConnection", requests, args)

    def _commit_oids(self) -> list[str]:
        head = self.doc["head"]["sha"]
        n = 1 + (self.databaseId >> 4) % 5
        prefix = head[:-8]
        return [f"{prefix}{k:08x}" for k in range(n - 1)] + [head]

    def commits(self, info: Any, **args: Any) -> _Connection:
        html = self.repo.html_url
        commits = [_PullRequestCommit(_Commit(oid, html)) for oid in self._commit_oids()]
        return _list_connection("PullRequestCommitConnection", commits, args)

    def reviewThreads(self, info: Any, **args: Any) -> _Connection:
        return _list_connection("PullRequestReviewThreadConnection", [], args)  # no review comments are emulated

    def totalCommentsCount(self, info: Any) -> int:
        return max(0, self.rec.comments)


# -- repository and root ------------------------------------------------------------


def _not_found_pull(number: int) -> GitHubQueryError:
    return GitHubQueryError("NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}.")


class _Repository:
    typename = "Repository"

    def __init__(self, ctx: _Context, repo: RepoData) -> None:
        self.ctx = ctx
        self.repo = repo
        self.id = repo.node_id
        self.databaseId = repo.id
        self.name = repo.name
        self.nameWithOwner = repo.full_name
        self.url = repo.html_url
        self.isArchived = repo.full_name in ctx.store.config.archived_repos
        self.isFork = repo.full_name in ctx.store.config.fork_repos
        self.isPrivate = False

    def owner(self, info: Any) -> _Actor:
        return _Actor(self.ctx.store.owner_object(self.repo.owner))

    def createdAt(self, info: Any) -> str:
        return format_ts(self.repo.created_at)

    def updatedAt(self, info: Any) -> str:
        return format_ts(self.repo.max_updated)

    def pushedAt(self, info: Any) -> str:
        return format_ts(self.repo.max_updated)

    def pullRequest(self, info: Any, number: int) -> _PullRequest:
        rec = self.repo.record(number)
        if rec is None or not rec.is_pr or number in self.repo.deleted_pulls:
            raise _not_found_pull(number)
        return _PullRequest(self.ctx, self.repo, rec)

    def issue(self, info: Any, number: int) -> _Issue:
        rec = self.repo.record(number)
        if rec is None or rec.is_pr:
            raise GitHubQueryError("NOT_FOUND", f"Could not resolve to an Issue with the number of {number}.")
        return _Issue(self.ctx, self.repo, rec)

    def _order(self, order_by: dict[str, Any] | None) -> tuple[str, bool]:
        if not order_by:
            return "created", False
        return _ISSUE_ORDER[order_by["field"]], order_by.get("direction") == "DESC"

    def issues(
        self,
        info: Any,
        states: list[str] | None = None,
        filterBy: dict[str, Any] | None = None,
        orderBy: dict[str, Any] | None = None,
        labels: list[str] | None = None,
        **args: Any,
    ) -> _Connection:
        _unsupported(info, labels=labels)
        since = None
        if filterBy:
            unsupported = {k: v for k, v in filterBy.items() if k not in ("since", "states", "viewerSubscribed")}
            _unsupported(info, **{f"filterBy.{k}": v for k, v in unsupported.items()})
            if filterBy.get("states") and states is None:
                states = filterBy["states"]
            if filterBy.get("since") is not None:
                try:
                    since = parse_ts(str(filterBy["since"]))
                except ValueError:
                    raise GraphQLError(f"`{filterBy['since']}` is not a valid DateTime.") from None
        sort, desc = self._order(orderBy)
        wanted = {s.lower() for s in states} if states else {"open", "closed"}
        state = "all" if len(wanted) == 2 else next(iter(wanted))
        keys, lo, hi = self.repo.view(state, sort, since)
        recs = self.repo.records
        picked = [recs[(k & _NUMBER_MASK) - 1] for k in keys[lo:hi]]
        picked = [r for r in picked if not r.is_pr]
        if desc:
            picked.reverse()
        ctx, repo = self.ctx, self.repo
        return _Connection(
            "IssueConnection", len(picked), lambda s, e: [_Issue(ctx, repo, r) for r in picked[s:e]],
            args.get("first"), args.get("last"), args.get("after"), args.get("before"),
        )

    def pullRequests(
        self,
        info: Any,
        states: list[str] | None = None,
        orderBy: dict[str, Any] | None = None,
        labels: list[str] | None = None,
        headRefName: str | None = None,
        baseRefName: str | None = None,
        **args: Any,
    ) -> _Connection:
        _unsupported(info, labels=labels, headRefName=headRefName, baseRefName=baseRefName)
        sort, desc = self._order(orderBy)
        wanted = set(states) if states else {"OPEN", "CLOSED", "MERGED"}
        view = "open" if wanted == {"OPEN"} else "closed" if "OPEN" not in wanted else "all"
        pr_sort = {"updated": "updated", "comments": "popularity"}.get(sort, "created")
        keys = self.ctx.entities.pr_view(self.repo, view, pr_sort)
        recs = self.repo.records
        picked = [recs[(k & _NUMBER_MASK) - 1] for k in keys]
        if view != "open" and not {"CLOSED", "MERGED"} <= wanted:
            store, repo = self.ctx.store, self.repo

            def merged(rec: IssueRecord) -> bool:
                return orjson.loads(store.raw(repo, rec))["pull_request"]["merged_at"] is not None

            keep_merged = "MERGED" in wanted
            picked = [r for r in picked if r.open or merged(r) == keep_merged]
        if desc:
            picked.reverse()
        ctx, repo = self.ctx, self.repo
        return _Connection(
            "PullRequestConnection", len(picked), lambda s, e: [_PullRequest(ctx, repo, r) for r in picked[s:e]],
            args.get("first"), args.get("last"), args.get("after"), args.get("before"),
        )


def _decode_node_id(node_id: str) -> tuple[str, bytes] | None:
    prefix, sep, rest = node_id.partition("_")
    if not sep or not rest.startswith("kwDO"):
        return None
    try:
        raw = base64.urlsafe_b64decode(rest[4:] + "=" * (-len(rest[4:]) % 4))
    except (binascii.Error, ValueError):
        return None
    return prefix, raw


class _Query:
    typename = "Query"

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx

    def repository(self, info: Any, owner: str, name: str, followRenames: bool = True) -> _Repository:
        repo = self.ctx.store.repo(f"{owner}/{name}")
        if repo is None:
            raise GitHubQueryError("NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return _Repository(self.ctx, repo)

    def _node(self, node_id: str) -> Any:
        decoded = _decode_node_id(node_id)
        if decoded is not None:
            prefix, raw = decoded
            store = self.ctx.store
            if prefix == "PR" and len(raw) == 16:  # node_id of GET /pulls: repository id, number
                repo_id, number = int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:], "big")
            elif prefix in ("PR", "I") and len(raw) == 8:  # node_id of GET /issues: repository id << 24 | number
                packed = int.from_bytes(raw, "big")
                repo_id, number = packed >> 24, packed & 0xFFFFFF
            else:
                repo_id, number = -1, -1
            repo = store.repo_by_id(repo_id)
            rec = repo.record(number) if repo is not None else None
            if repo is not None and rec is not None:
                if prefix == "PR" and rec.is_pr and number not in repo.deleted_pulls:
                    return _PullRequest(self.ctx, repo, rec)
                if prefix == "I" and not rec.is_pr:
                    return _Issue(self.ctx, repo, rec)
        raise GitHubQueryError("NOT_FOUND", f"Could not resolve to a node with the global id of '{node_id}'")

    def node(self, info: Any, id: str) -> Any:  # noqa: A002 - the GraphQL argument's name
        return self._node(id)

    def nodes(self, info: Any, ids: list[str]) -> list[Any]:
        out: list[Any] = []
        for node_id in ids:
            try:
                out.append(self._node(node_id))
            except GitHubQueryError as exc:
                # one missing node: null in its place plus an error, the rest of the list stays
                out.append(_NodeError(exc))
        return out

    def rateLimit(self, info: Any, dryRun: bool = False) -> _RateLimit:
        return _RateLimit(self.ctx.rate)


class _NodeError:
    """Placeholder in ``nodes(ids:)`` for a missing id: resolving its type raises the NOT_FOUND error."""

    def __init__(self, error: GitHubQueryError) -> None:
        self.error = error

    @property
    def typename(self) -> str:
        raise self.error


class _RateLimit:
    typename = "RateLimit"

    def __init__(self, rate: RateLimitView) -> None:
        self.cost = rate.cost
        self.limit = rate.limit
        self.remaining = rate.remaining
        self.used = rate.used
        self.nodeCount = rate.node_count
        self.resetAt = format_ts(math.ceil(rate.reset))
