"""HTTP front end of the GitHub REST API emulator.

A ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive on 127.0.0.1.
It serves the issue, pull request (with reviews and files), issue comment,
commit, organisation repository, repository, search and rate-limit endpoints
with GitHub's headers (rate limits, ETags, Link pagination), enforces
per-token budgets, injects seeded faults into the list endpoints and exposes a
few admin endpoints under ``/_emulator/``. ``POST /graphql`` answers GitHub's
GraphQL API (:mod:`gh_assets.emulator.graphql`) with its own ``graphql`` budget
in points.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import re
import socket
import struct
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Sequence
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import orjson

from gh_assets.emulator import graphql as gql
from gh_assets.emulator.data import DataStore, EmulatorConfig, RepoData, parse_ts
from gh_assets.emulator.entities import ORG_REPO_SORTS, ORG_REPO_TYPES, PULL_SORTS
from gh_assets.graphql_schema import load_github_schema

__all__ = ["Emulator", "RequestRecord"]

JSON_TYPE = "application/json; charset=utf-8"
API_VERSION = "2022-11-28"
MAX_SEARCH_RESULTS = 1000
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30

DOC_LIST_ISSUES = "https://docs.github.com/rest/issues/issues#list-repository-issues"
DOC_REPO = "https://docs.github.com/rest/repos/repos#get-a-repository"
DOC_SEARCH = "https://docs.github.com/rest/search/search#search-issues-and-pull-requests"
DOC_RATE = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
DOC_SECONDARY = DOC_RATE + "#about-secondary-rate-limits"
DOC_ROOT = "https://docs.github.com/rest"
DOC_LIST_PULLS = "https://docs.github.com/rest/pulls/pulls#list-pull-requests"
DOC_LIST_REVIEWS = "https://docs.github.com/rest/pulls/reviews#list-reviews-for-a-pull-request"
DOC_LIST_FILES = "https://docs.github.com/rest/pulls/pulls#list-pull-requests-files"
DOC_LIST_COMMITS = "https://docs.github.com/rest/commits/commits#list-commits"
DOC_LIST_COMMENTS = "https://docs.github.com/rest/issues/comments#list-issue-comments-for-a-repository"
DOC_LIST_ORG_REPOS = "https://docs.github.com/rest/repos/repos#list-organization-repositories"
DOC_GRAPHQL_AUTH = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
BIG_PULL_FILES = 250
BIG_PULL_REVIEWS = 150

_REASONS = {
    200: "OK",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_TIMEOUT_MESSAGE = (
    "We couldn't respond to your request in time. Sorry about that. "
    "Please try resubmitting your request and contact us if the problem persists."
)
_BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
_REPO_ISSUES_RE = re.compile(r"^/repos/([^/]+)/([^/]+)/issues/?$")
_REPO_RE = re.compile(r"^/repos/([^/]+)/([^/]+)/?$")
_REPOID_ISSUES_RE = re.compile(r"^/repositories/(\d+)/issues/?$")
_REPOID_RE = re.compile(r"^/repositories/(\d+)/?$")
_REPO_SUB_RE = re.compile(
    r"^/(?:repos/(?P<owner>[^/]+)/(?P<name>[^/]+)|repositories/(?P<id>\d+))"
    r"/(?:(?P<pulls>pulls)|pulls/(?P<number>\d+)/(?P<sub>reviews|files)|(?P<commits>commits)|(?P<comments>issues/comments))/?$"
)
_ORG_REPOS_RE = re.compile(r"^/(?:orgs/(?P<org>[^/]+)|organizations/(?P<id>\d+))/repos/?$")
_LIST_ROUTES = frozenset(("issues", "search", "pulls", "reviews", "files", "commits", "comments", "org_repos"))
_KEY_MASK = (1 << 32) - 1  # sort keys are value << 32 | position
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_Q_TOKEN_RE = re.compile(r'(?:[^\s"]+:"[^"]*"|"[^"]*"|\S+)')
_TS_MIN, _TS_MAX = 0.0, float(2**40)


@dataclass(frozen=True)
class RequestRecord:
    """One API request as seen by the emulator (admin endpoints are not recorded).

    ``status`` is 0 when the connection was reset without a response;
    ``fault`` names the injected fault, if any. ``resource`` is the budget the
    request belongs to (``core``, ``search`` or ``graphql``: ``POST /graphql``);
    ``cost`` the points charged to it (1 for a charged REST request, the query's
    cost for GraphQL, 0 when nothing was charged).
    """

    method: str
    path: str
    query: dict[str, str]
    status: int
    token: str | None
    charged: bool
    fault: str | None = None
    resource: str = "core"
    cost: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``GET /_emulator/log``: the token is replaced by a fingerprint."""
        out = asdict(self)
        out["token"] = token_fingerprint(self.token)
        return out


def token_fingerprint(token: str | None) -> str | None:
    """``sha256:<first 12 hex>`` of a token, so logs can tell tokens apart without echoing them."""
    if token is None:
        return None
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass
class _Bucket:
    limit: int
    window: float
    remaining: int
    reset: float

    @property
    def used(self) -> int:
        return max(0, self.limit - self.remaining)


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = JSON_TYPE
    charged: bool = False
    fault: str | None = None  # "reset" | "truncated" | other fault names (informational)
    after: Callable[[], object] | None = None  # run under the lock once the response is produced
    cost: int = 0  # points charged to a GraphQL budget


class _ApiError(Exception):
    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("message"))
        self.status = status
        self.payload = payload


def _error_body(message: str, documentation_url: str, status: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    body.update(extra)
    body["documentation_url"] = documentation_url
    body["status"] = str(status)
    return body


def _validation_failed(resource: str, fieldname: str, doc: str, code: str = "invalid", **extra: Any) -> _ApiError:
    err: dict[str, Any] = {"resource": resource, "field": fieldname, "code": code}
    err.update(extra)
    return _ApiError(422, _error_body("Validation Failed", doc, 422, errors=[err]))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return  # client went away; nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass

    def _dispatch(self) -> None:
        self.server.emulator._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def write_response(self, resp: _Response, emulator: Emulator) -> None:
        body = resp.body
        lines = [
            f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Unknown')}",
            f"Date: {emulator._http_date()}",
            "Server: GitHub.com",
        ]
        if resp.content_type and resp.status != 304:
            lines.append(f"Content-Type: {resp.content_type}")
        lines.append(f"Content-Length: {len(body)}")
        for name, value in resp.headers:
            lines.append(f"{name}: {value}")
        if resp.fault in ("truncated",):
            self.close_connection = True
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if resp.fault == "truncated":
            self.wfile.write(head + body[: len(body) // 2])
            return
        if resp.status == 304:
            body = b""
        self.wfile.write(head + body)

    def reset_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass


class Emulator:
    """A GitHub REST API emulator serving seeded data over real HTTP.

    The socket is bound in the constructor (so :attr:`url` is known at once);
    :meth:`start` begins serving on a daemon thread, :meth:`stop` shuts down.
    Also usable as a context manager.
    """

    def __init__(self, config: EmulatorConfig | None = None, port: int = 0, host: str = "127.0.0.1") -> None:
        self.config = config if config is not None else EmulatorConfig()
        self._server = _Server((host, port), self)
        bound_host, bound_port = self._server.server_address[:2]
        self.host = host
        self.port = int(bound_port)
        self.url = f"http://{host}:{self.port}"
        self.store = DataStore(self.config, api_base=self.config.api_url or self.url)
        self.lock = self.store.lock
        self._log: list[RequestRecord] = []
        self._buckets: dict[tuple[str, str | None], _Bucket] = {}
        self._fault_rng = random.Random(f"emulator-faults:{self.config.seed}")
        self._request_counter = 0
        self._thread: threading.Thread | None = None
        self._date_cache: tuple[int, str] = (0, "")
        self._stopped = False

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Emulator:
        if self._stopped:
            raise RuntimeError("an Emulator cannot be restarted after stop(); create a new one")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="gh-emulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.close_connections()
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve on the calling thread until :meth:`stop` is called from elsewhere."""
        self._server.serve_forever(poll_interval=0.05)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test / admin API ----------------------------------------------------

    @property
    def repos(self) -> tuple[str, ...]:
        return self.config.repo_names

    def repo_id(self, repo: str) -> int:
        rid = self.store.repo_id_of(repo)
        if rid is None:
            raise KeyError(repo)
        return rid

    def issues(self, repo: str) -> list[dict[str, Any]]:
        """Current state of every issue of ``repo`` (fresh copies), ordered by number."""
        with self.lock:
            return self.store.issues(repo)

    def pulls(self, repo: str) -> list[dict[str, Any]]:
        """Every pull request of ``repo`` as ``GET /pulls`` serves it (pull-request-simple), ordered by number."""
        with self.lock:
            return self.store.pulls(repo)

    def reviews(self, repo: str) -> list[tuple[int, dict[str, Any]]]:
        """``(pull number, review)`` for every review of ``repo``: by pull number, then chronologically."""
        with self.lock:
            return self.store.reviews(repo)

    def pr_files(self, repo: str) -> list[tuple[int, dict[str, Any]]]:
        """``(pull number, diff entry)`` for every changed file of ``repo``: by pull number, then filename."""
        with self.lock:
            return self.store.pr_files(repo)

    def commits(self, repo: str) -> list[dict[str, Any]]:
        """Every commit of ``repo``, newest first (the order of ``GET /commits``)."""
        with self.lock:
            return self.store.commits(repo)

    def issue_comments(self, repo: str) -> list[dict[str, Any]]:
        """Every issue comment of ``repo`` ordered by ``created_at`` then id (the default of ``GET /issues/comments``)."""
        with self.lock:
            return self.store.issue_comments(repo)

    def org_repos(self, org: str) -> list[dict[str, Any]]:
        """Every repository of ``org`` (minimal-repository) ordered by creation, newest first (the default)."""
        with self.lock:
            return self.store.org_repos(org)

    def make_big_pull(
        self, repo: str, number: int | None = None, files: int = BIG_PULL_FILES, reviews: int = BIG_PULL_REVIEWS
    ) -> int:
        """Serve pull request ``number`` (None: the first one) with ``files`` changed files and ``reviews`` reviews.

        REST (``/pulls/{n}/files``, ``/pulls/{n}/reviews``) and GraphQL serve the same items.
        Returns the pull request's number.
        """
        if not 0 <= files <= 3000 or not 0 <= reviews <= 4000:
            raise ValueError("files must be within [0, 3000] and reviews within [0, 4000]")
        with self.lock:
            data = self.store.repo(repo)
            if data is None:
                raise KeyError(repo)
            if number is None:
                number = next((r.number for r in data.records if r.is_pr and r.number not in data.deleted_pulls), None)
                if number is None:
                    raise KeyError(f"{repo} has no pull request")
            rec = data.record(number)
            if rec is None or not rec.is_pr:
                raise KeyError(f"{repo}#{number} is not a pull request")
            self.store.entities.make_big(data, number, files, reviews)
            return number

    def delete_pull(self, repo: str, number: int) -> None:
        """Remove pull request ``number``: GraphQL answers NOT_FOUND for it, REST 404 for its reviews and files,
        and ``GET /pulls`` no longer lists it (its issue stays in ``GET /issues``)."""
        with self.lock:
            data = self.store.repo(repo)
            rec = data.record(number) if data is not None else None
            if data is None or rec is None or not rec.is_pr:
                raise KeyError(f"{repo}#{number} is not a pull request")
            data.deleted_pulls.add(number)
            data.touch()
            self.store.entities.forget_pr(data, number)

    def mutate(self, repo: str, update: int = 0, add: int = 0) -> list[int]:
        """Update ``update`` random issues and add ``add`` new ones; returns the affected numbers."""
        with self.lock:
            return self.store.mutate(repo, update=update, add=add)

    def warm(self, serialize: bool = True) -> None:
        """Generate all repositories up front (and pre-serialize every issue), and load the GraphQL schema."""
        load_github_schema()  # ~1.3 s once per process, otherwise paid by the first POST /graphql
        with self.lock:
            self.store.warm(serialize=serialize)

    @property
    def request_log(self) -> list[RequestRecord]:
        with self.lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self.lock:
            self._log.clear()

    def set_rate_limit(
        self,
        remaining: int | None = None,
        reset_in: float | None = None,
        token: str | None = None,
        resource: str = "core",
    ) -> None:
        """Force the budget of ``token`` (None: anonymous) for ``resource`` ("core", "search" or "graphql")."""
        with self.lock:
            bucket = self._bucket(resource, token)
            if remaining is not None:
                bucket.remaining = max(0, min(int(remaining), bucket.limit))
            if reset_in is not None:
                bucket.reset = self.config.clock() + float(reset_in)

    def rate_limit_state(self, token: str | None = None, resource: str = "core") -> dict[str, int]:
        with self.lock:
            b = self._bucket(resource, token)
            return {"limit": b.limit, "remaining": b.remaining, "reset": math.ceil(b.reset), "used": b.used}

    # -- internals: rate limiting ----------------------------------------------

    def _bucket(self, resource: str, token: str | None) -> _Bucket:
        key = (resource, token)
        now = self.config.clock()
        bucket = self._buckets.get(key)
        if resource == "search":
            limit, window = self.config.search_rate_limit, float(self.config.search_reset_seconds)
        elif resource == "graphql":
            limit, window = self.config.graphql_rate_limit, float(self.config.graphql_reset_seconds)
        else:
            limit, window = self.config.rate_limit, float(self.config.rate_reset_seconds)
        if bucket is None:
            bucket = _Bucket(limit=limit, window=window, remaining=limit, reset=now + window)
            self._buckets[key] = bucket
        elif now >= bucket.reset:
            bucket.remaining = bucket.limit
            bucket.reset = now + bucket.window
        return bucket

    def _rate_headers(self, bucket: _Bucket, resource: str) -> list[tuple[str, str]]:
        return [
            ("X-RateLimit-Limit", str(bucket.limit)),
            ("X-RateLimit-Remaining", str(bucket.remaining)),
            ("X-RateLimit-Reset", str(math.ceil(bucket.reset))),
            ("X-RateLimit-Used", str(bucket.used)),
            ("X-RateLimit-Resource", resource),
        ]

    def _next_request_id(self) -> str:
        self._request_counter += 1
        n = self._request_counter
        return f"{0xC0DE ^ (self.config.seed & 0xFFFF):04X}:{n:X}:{(n * 2654435761) & 0xFFFFFFF:X}:{(n * 40503) & 0xFFFFF:X}:{n:08X}"

    def _http_date(self) -> str:
        now = int(time.time())
        cached = self._date_cache
        if cached[0] != now:
            cached = (now, formatdate(now, usegmt=True))
            self._date_cache = cached
        return cached[1]

    def _pick_fault(self, rate: float | None = None) -> str | None:
        if rate is None:
            rate = self.config.fault_rate
        if rate <= 0:
            return None
        if self._fault_rng.random() < rate:
            return self._fault_rng.choice(self.config.fault_kinds)
        return None

    # -- internals: request handling -------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        method = handler.command
        split = urlsplit(handler.path)
        path = split.path
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query = dict(pairs)
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        payload = handler.rfile.read(length) if length > 0 else b""

        if path.startswith("/_emulator/"):
            resp = self._admin(method, path, query, payload)
            handler.write_response(resp, self)
            return

        token, token_ok = self._token(handler.headers.get("Authorization"))
        request_id = None
        is_graphql = path.rstrip("/") == "/graphql"
        try:
            if is_graphql:
                resp = self._graphql(method, payload, token, token_ok)
            else:
                resp = self._api(handler, method, path, pairs, query, token, token_ok)
        except Exception as exc:  # pragma: no cover - defensive: never kill the connection silently
            traceback.print_exc(file=sys.stderr)
            resp = _Response(500, orjson.dumps(_error_body(f"Internal emulator error: {type(exc).__name__}", DOC_ROOT, 500)))
        with self.lock:
            request_id = self._next_request_id()
            self._log.append(
                RequestRecord(
                    method=method,
                    path=path,
                    query=query,
                    status=0 if resp.fault == "reset" else resp.status,
                    token=token,
                    charged=resp.charged,
                    fault=resp.fault,
                    resource="graphql" if is_graphql else "search" if path.rstrip("/") == "/search/issues" else "core",
                    cost=resp.cost if is_graphql else int(resp.charged),
                )
            )
        if resp.fault == "reset":
            handler.reset_connection()
            return
        resp.headers.append(("X-GitHub-Request-Id", request_id))
        handler.write_response(resp, self)

    def _token(self, header: str | None) -> tuple[str | None, bool]:
        if not header:
            return None, True
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() not in ("bearer", "token") or not value:
            return None, self.config.tokens is None
        allowed = self.config.tokens
        return value, allowed is None or value in allowed

    def _api(
        self,
        handler: _Handler,
        method: str,
        path: str,
        pairs: list[tuple[str, str]],
        query: dict[str, str],
        token: str | None,
        token_ok: bool,
    ) -> _Response:
        route, arg = self._route(method, path)
        resource = "search" if route == "search" else "core"
        with self.lock:
            if not token_ok:
                bucket = self._bucket("core", None)
                charged = bucket.remaining > 0
                if charged:
                    bucket.remaining -= 1
                return _Response(
                    401,
                    orjson.dumps(_error_body("Bad credentials", DOC_ROOT, 401)),
                    self._rate_headers(bucket, "core"),
                    charged=charged,
                )
            bucket = self._bucket(resource, token)
            if route == "rate_limit":
                resp = self._rate_limit_response(token)
                return self._finish(handler, resp, bucket, resource, charge=False)
            if bucket.remaining <= 0:
                return self._rate_limited(bucket, resource, token)

            fault = None
            if route in _LIST_ROUTES:
                limit = self.config.large_page_fail_above
                if limit is not None:
                    try:
                        per_page = int(query.get("per_page", DEFAULT_PER_PAGE))
                    except ValueError:
                        per_page = DEFAULT_PER_PAGE
                    if per_page > limit:
                        return _Response(
                            502,
                            orjson.dumps({"message": _TIMEOUT_MESSAGE, "documentation_url": DOC_ROOT}),
                            self._rate_headers(bucket, resource),
                            fault="large_page",
                        )
                fault = self._pick_fault()
                if fault is not None and fault != "slow":
                    early = self._fault_response(fault, bucket, resource)
                    if early is not None:
                        return early

        if fault == "slow":
            time.sleep(self.config.slow_seconds)

        with self.lock:
            bucket = self._bucket(resource, token)
            try:
                if route == "issues":
                    resp = self._issues(arg, pairs, query)
                elif route == "repo":
                    resp = self._repo(arg)
                elif route == "search":
                    resp = self._search(pairs, query)
                elif route == "pulls":
                    resp = self._pulls(arg, pairs, query)
                elif route in ("reviews", "files"):
                    resp = self._pull_list(route, arg, pairs, query)
                elif route == "commits":
                    resp = self._commits(arg, pairs, query)
                elif route == "comments":
                    resp = self._comments(arg, pairs, query)
                elif route == "org_repos":
                    resp = self._org_repos(arg, pairs, query)
                else:
                    raise _ApiError(404, _error_body("Not Found", DOC_ROOT, 404))
            except _ApiError as err:
                resp = _Response(err.status, orjson.dumps(err.payload))
            if fault == "truncated":
                # full headers and Content-Length, half the body, then the connection is closed
                resp.fault = "truncated"
                resp.headers.extend(self._rate_headers(bucket, resource))
                resp.headers.append(("X-GitHub-Api-Version-Selected", API_VERSION))
                return resp
            resp.fault = fault
            return self._finish(handler, resp, bucket, resource, charge=True)

    def _graphql(self, method: str, payload: bytes, token: str | None, token_ok: bool) -> _Response:
        """``POST /graphql``: authenticate, validate and price the query, charge the ``graphql`` budget, execute."""
        if method != "POST":
            return _Response(404, orjson.dumps(_error_body("Not Found", gql.DOC_GRAPHQL, 404)))
        if token is None:
            body = {"message": "This endpoint requires you to be authenticated.", "documentation_url": DOC_GRAPHQL_AUTH}
            return _Response(401, orjson.dumps(body))
        if not token_ok:
            return _Response(401, orjson.dumps(_error_body("Bad credentials", DOC_ROOT, 401)))
        try:
            plan = gql.plan_query(*gql.parse_request(payload))  # pure: outside the lock
        except gql.RequestRefused as refused:
            with self.lock:
                headers = self._rate_headers(self._bucket("graphql", token), "graphql")
            return _Response(refused.status, orjson.dumps(refused.body), headers)
        with self.lock:
            bucket = self._bucket("graphql", token)
            if plan.errors:  # a refused query costs nothing
                return _Response(200, orjson.dumps(gql.error_body(plan.errors)), self._rate_headers(bucket, "graphql"))
            if bucket.remaining < plan.cost:
                return self._graphql_rate_limited(bucket, token)
            fault = self._pick_fault(self.config.graphql_fault_rate)
            if fault is not None and fault not in ("slow", "truncated"):
                early = self._fault_response(fault, bucket, "graphql")
                if early is not None:
                    return early
            limit = self.config.graphql_max_nodes
            if limit is not None and plan.node_count > limit:
                # GitHub cuts a query off after 10 s; the points are spent all the same
                bucket.remaining = max(0, bucket.remaining - plan.cost)
                return _Response(
                    502, _BAD_GATEWAY_HTML, self._rate_headers(bucket, "graphql"), content_type="text/html",
                    charged=True, fault="graphql_timeout", cost=plan.cost,
                )
        if fault == "slow":
            time.sleep(self.config.slow_seconds)
        with self.lock:
            bucket = self._bucket("graphql", token)
            if bucket.remaining < plan.cost:
                return self._graphql_rate_limited(bucket, token)
            bucket.remaining -= plan.cost
            rate = gql.RateLimitView(
                cost=plan.cost, limit=bucket.limit, remaining=bucket.remaining, used=bucket.used, reset=bucket.reset,
                node_count=plan.node_count,
            )
            body = gql.execute_plan(plan, self.store, rate)
            headers = self._rate_headers(bucket, "graphql") + [("X-GitHub-Media-Type", "github.v4; format=json")]
            return _Response(200, orjson.dumps(body), headers, charged=True, fault=fault, cost=plan.cost)

    def _graphql_rate_limited(self, bucket: _Bucket, token: str | None) -> _Response:
        tokens = self.config.tokens
        user_id = tokens.index(token) + 1 if tokens and token in tokens else 1
        body = {"errors": [{"type": "RATE_LIMITED", "message": f"API rate limit exceeded for user ID {user_id}."}]}
        return _Response(200, orjson.dumps(body), self._rate_headers(bucket, "graphql"))

    def _finish(self, handler: _Handler, resp: _Response, bucket: _Bucket, resource: str, charge: bool) -> _Response:
        """Apply ETag / 304, charge the budget, attach headers, run post-response hooks (lock held)."""
        if resp.status == 200:
            etag = 'W/"' + hashlib.sha1(resp.body).hexdigest() + '"'
            resp.headers.append(("ETag", etag))
            inm = handler.headers.get("If-None-Match")
            if inm and _etag_matches(inm, etag):
                resp.status = 304
                resp.body = b""
                charge = False
        if charge and 200 <= resp.status < 500 and resp.status != 304:
            bucket.remaining = max(0, bucket.remaining - 1)
            resp.charged = True
        resp.headers.extend(self._rate_headers(bucket, resource))
        resp.headers.append(("X-GitHub-Api-Version-Selected", API_VERSION))
        resp.headers.append(("X-GitHub-Media-Type", "github.v3; format=json"))
        if resp.after is not None:
            resp.after()
            resp.after = None
        return resp

    def _rate_limited(self, bucket: _Bucket, resource: str, token: str | None) -> _Response:
        rid = f"{0xC0DE ^ (self.config.seed & 0xFFFF):04X}:{self._request_counter + 1:X}"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        if token is None:
            message = (
                "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a "
                "higher rate limit. Check out the documentation for more details.) If you reach out to GitHub "
                f"Support for help, please include the request ID {rid} and timestamp {stamp}."
            )
        else:
            tokens = self.config.tokens
            user_id = tokens.index(token) + 1 if tokens and token in tokens else 1
            message = (
                f"API rate limit exceeded for user ID {user_id}. If you reach out to GitHub Support for help, "
                f"please include the request ID {rid} and timestamp {stamp}."
            )
        return _Response(
            403,
            orjson.dumps(_error_body(message, DOC_RATE, 403)),
            self._rate_headers(bucket, resource) + [("X-GitHub-Api-Version-Selected", API_VERSION)],
        )

    def _fault_response(self, fault: str, bucket: _Bucket, resource: str) -> _Response | None:
        headers = self._rate_headers(bucket, resource)
        if fault == "500":
            return _Response(500, orjson.dumps({"message": "Server Error"}), headers, fault=fault)
        if fault == "502":
            return _Response(502, _BAD_GATEWAY_HTML, headers, content_type="text/html", fault=fault)
        if fault == "503":
            body = {"message": "Service Unavailable", "documentation_url": DOC_ROOT, "status": "503"}
            return _Response(503, orjson.dumps(body), headers, fault=fault)
        if fault == "504":
            body = {"message": _TIMEOUT_MESSAGE, "documentation_url": DOC_ROOT, "status": "504"}
            return _Response(504, orjson.dumps(body), headers, fault=fault)
        if fault == "secondary":
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                "If you reach out to GitHub Support for help, please include the request ID "
                f"{0xC0DE ^ (self.config.seed & 0xFFFF):04X}:{self._request_counter + 1:X}."
            )
            headers = [("Retry-After", str(self.config.secondary_retry_after))] + headers
            return _Response(403, orjson.dumps(_error_body(message, DOC_SECONDARY, 403)), headers, fault=fault)
        if fault == "reset":
            return _Response(0, fault="reset")
        return None  # "truncated" and "slow" are applied to the normal response

    @staticmethod
    def _route(method: str, path: str) -> tuple[str, Any]:
        if method != "GET":
            return "notfound", None
        if path in ("/rate_limit", "/rate_limit/"):
            return "rate_limit", None
        if path in ("/search/issues", "/search/issues/"):
            return "search", None
        m = _REPO_ISSUES_RE.match(path)
        if m:
            return "issues", ("name", f"{unquote(m.group(1))}/{unquote(m.group(2))}")
        m = _REPOID_ISSUES_RE.match(path)
        if m:
            return "issues", ("id", int(m.group(1)))
        m = _REPO_SUB_RE.match(path)
        if m:
            ref = ("id", int(m["id"])) if m["id"] else ("name", f"{unquote(m['owner'])}/{unquote(m['name'])}")
            if m["pulls"]:
                return "pulls", ref
            if m["sub"]:
                return m["sub"], (ref, int(m["number"]))
            return ("commits" if m["commits"] else "comments"), ref
        m = _ORG_REPOS_RE.match(path)
        if m:
            return "org_repos", ("id", int(m["id"])) if m["id"] else ("name", unquote(m["org"]))
        m = _REPO_RE.match(path)
        if m:
            return "repo", ("name", f"{unquote(m.group(1))}/{unquote(m.group(2))}")
        m = _REPOID_RE.match(path)
        if m:
            return "repo", ("id", int(m.group(1)))
        return "notfound", None

    def _lookup(self, ref: tuple[str, Any], doc: str) -> RepoData:
        kind, value = ref
        repo = self.store.repo(value) if kind == "name" else self.store.repo_by_id(value)
        if repo is None:
            raise _ApiError(404, _error_body("Not Found", doc, 404))
        return repo

    # -- endpoints ---------------------------------------------------------------

    def _rate_limit_response(self, token: str | None) -> _Response:
        core = self._bucket("core", token)
        search = self._bucket("search", token)
        graphql = self._bucket("graphql", token)
        now = self.config.clock()

        def res(b: _Bucket) -> dict[str, int]:
            return {"limit": b.limit, "used": b.used, "remaining": b.remaining, "reset": math.ceil(b.reset)}

        def static(limit: int, window: float) -> dict[str, int]:
            return {"limit": limit, "used": 0, "remaining": limit, "reset": math.ceil(now + window)}

        body = {
            "resources": {
                "core": res(core),
                "search": res(search),
                "graphql": res(graphql),
                "integration_manifest": static(5000, 3600),
                "source_import": static(100, 60),
                "code_scanning_upload": static(1000, 3600),
                "actions_runner_registration": static(10000, 3600),
                "scim": static(15000, 3600),
                "dependency_snapshots": static(100, 60),
                "code_search": static(10, 60),
            },
            "rate": res(core),
        }
        return _Response(200, orjson.dumps(body))

    def _repo(self, ref: tuple[str, Any]) -> _Response:
        repo = self._lookup(ref, DOC_REPO)
        return _Response(200, orjson.dumps(self.store.repo_doc(repo)))

    def _issues(self, ref: tuple[str, Any], pairs: list[tuple[str, str]], query: dict[str, str]) -> _Response:
        repo = self._lookup(ref, DOC_LIST_ISSUES)
        state = query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise _validation_failed("Issue", "state", DOC_LIST_ISSUES, value=state)
        sort = query.get("sort", "created")
        if sort not in ("created", "updated", "comments"):
            raise _validation_failed("Issue", "sort", DOC_LIST_ISSUES, value=sort)
        direction = query.get("direction", "desc")
        if direction not in ("asc", "desc"):
            raise _validation_failed("Issue", "direction", DOC_LIST_ISSUES, value=direction)
        since: float | None = None
        if "since" in query:
            try:
                since = parse_ts(query["since"])
            except ValueError:
                raise _validation_failed("Issue", "since", DOC_LIST_ISSUES, value=query["since"]) from None
        per_page, page = _paging(query, DOC_LIST_ISSUES, "Issue")

        keys, lo, hi = repo.view(state, sort, since)
        total = hi - lo
        offset = (page - 1) * per_page
        if offset >= total:
            page_keys: list[int] = []
        elif direction == "asc":
            page_keys = keys[lo + offset : lo + min(offset + per_page, total)]
        else:
            top = hi - offset
            page_keys = keys[max(lo, top - per_page) : top]
            page_keys.reverse()
        body = b"[" + b",".join(self.store.raws(repo, page_keys)) + b"]"
        last = max(1, math.ceil(total / per_page))
        headers = []
        link = _link_header(f"{self.url}/repositories/{repo.id}/issues", pairs, page, last)
        if link:
            headers.append(("Link", link))
        resp = _Response(200, body, headers)
        k = self.config.mutate_per_page
        if k > 0:
            name = repo.full_name
            resp.after = lambda: self.store.mutate(name, update=k)
        return resp

    def _listing(
        self, base: str, pairs: list[tuple[str, str]], page: int, per_page: int, total: int, items: list[bytes]
    ) -> _Response:
        """A 200 JSON array of ``items`` (already the requested page) with the Link header of ``total`` results."""
        last = max(1, math.ceil(total / per_page))
        headers = []
        link = _link_header(f"{self.url}{base}", pairs, page, last)
        if link:
            headers.append(("Link", link))
        return _Response(200, b"[" + b",".join(items) + b"]", headers)

    def _pulls(self, ref: tuple[str, Any], pairs: list[tuple[str, str]], query: dict[str, str]) -> _Response:
        repo = self._lookup(ref, DOC_LIST_PULLS)
        state = query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise _validation_failed("PullRequest", "state", DOC_LIST_PULLS, value=state)
        sort = query.get("sort", "created")
        if sort not in PULL_SORTS:
            raise _validation_failed("PullRequest", "sort", DOC_LIST_PULLS, value=sort)
        # GitHub: desc when sort is created (or not given), otherwise asc
        direction = query.get("direction", "desc" if sort == "created" else "asc")
        if direction not in ("asc", "desc"):
            raise _validation_failed("PullRequest", "direction", DOC_LIST_PULLS, value=direction)
        per_page, page = _paging(query, DOC_LIST_PULLS, "PullRequest")
        keys = self.store.entities.pr_view(repo, state, sort)
        window = _window(keys, 0, len(keys), page, per_page, direction == "desc")
        items = self.store.entities.pr_raws(repo, window)
        return self._listing(f"/repositories/{repo.id}/pulls", pairs, page, per_page, len(keys), items)

    def _pull_list(self, route: str, arg: tuple[tuple[str, Any], int], pairs: list[tuple[str, str]], query: dict[str, str]) -> _Response:
        doc = DOC_LIST_REVIEWS if route == "reviews" else DOC_LIST_FILES
        ref, number = arg
        repo = self._lookup(ref, doc)
        rec = repo.record(number)
        if rec is None or not rec.is_pr or number in repo.deleted_pulls:
            raise _ApiError(404, _error_body("Not Found", doc, 404))
        per_page, page = _paging(query, doc, "PullRequest")
        entities = self.store.entities
        everything = entities.reviews(repo, rec) if route == "reviews" else entities.files(repo, rec)
        window = everything[(page - 1) * per_page : page * per_page]
        base = f"/repositories/{repo.id}/pulls/{number}/{route}"
        return self._listing(base, pairs, page, per_page, len(everything), window)

    def _commits(self, ref: tuple[str, Any], pairs: list[tuple[str, str]], query: dict[str, str]) -> _Response:
        repo = self._lookup(ref, DOC_LIST_COMMITS)
        bounds = []
        for name in ("since", "until"):
            value = query.get(name)
            if value is None:
                bounds.append(None)
                continue
            try:
                bounds.append(parse_ts(value))
            except ValueError:
                raise _validation_failed("Commit", name, DOC_LIST_COMMITS, value=value) from None
        per_page, page = _paging(query, DOC_LIST_COMMITS, "Commit")
        dates = self.store.entities.commit_dates(repo)
        lo = 0 if bounds[0] is None else bisect.bisect_left(dates, math.ceil(bounds[0]))
        hi = len(dates) if bounds[1] is None else bisect.bisect_right(dates, math.floor(bounds[1]))
        hi = max(lo, hi)
        window = _window(range(len(dates)), lo, hi, page, per_page, True)
        items = self.store.entities.commit_raws(repo, window)
        return self._listing(f"/repositories/{repo.id}/commits", pairs, page, per_page, hi - lo, items)

    def _comments(self, ref: tuple[str, Any], pairs: list[tuple[str, str]], query: dict[str, str]) -> _Response:
        repo = self._lookup(ref, DOC_LIST_COMMENTS)
        sort = query.get("sort")
        if sort is not None and sort not in ("created", "updated"):
            raise _validation_failed("IssueComment", "sort", DOC_LIST_COMMENTS, value=sort)
        direction = query.get("direction", "asc")
        if direction not in ("asc", "desc"):
            raise _validation_failed("IssueComment", "direction", DOC_LIST_COMMENTS, value=direction)
        if sort is None:
            direction = "asc"  # GitHub ignores direction without sort
        since: float | None = None
        if "since" in query:
            try:
                since = parse_ts(query["since"])
            except ValueError:
                raise _validation_failed("IssueComment", "since", DOC_LIST_COMMENTS, value=query["since"]) from None
        per_page, page = _paging(query, DOC_LIST_COMMENTS, "IssueComment")
        entities = self.store.entities
        keys, lo, hi = entities.comment_index(repo).view(sort or "created", since)
        window = _window(keys, lo, hi, page, per_page, direction == "desc")
        items = entities.comment_raws(repo, [k & _KEY_MASK for k in window])
        return self._listing(f"/repositories/{repo.id}/issues/comments", pairs, page, per_page, hi - lo, items)

    def _org_repos(self, ref: tuple[str, Any], pairs: list[tuple[str, str]], query: dict[str, str]) -> _Response:
        kind, value = ref
        entities = self.store.entities
        org = entities.org_by_id(value) if kind == "id" else (value if entities.org_exists(value) else None)
        if org is None:
            raise _ApiError(404, _error_body("Not Found", DOC_LIST_ORG_REPOS, 404))
        repo_type = query.get("type", "all")
        if repo_type not in ORG_REPO_TYPES:
            raise _validation_failed("Repository", "type", DOC_LIST_ORG_REPOS, value=repo_type)
        sort = query.get("sort", "created")
        if sort not in ORG_REPO_SORTS:
            raise _validation_failed("Repository", "sort", DOC_LIST_ORG_REPOS, value=sort)
        direction = query.get("direction")
        if direction is not None and direction not in ("asc", "desc"):
            raise _validation_failed("Repository", "direction", DOC_LIST_ORG_REPOS, value=direction)
        per_page, page = _paging(query, DOC_LIST_ORG_REPOS, "Repository")
        everything = entities.org_repos(org, repo_type, sort, direction)
        window = everything[(page - 1) * per_page : page * per_page]
        base = f"/organizations/{entities.org_id(org)}/repos"
        return self._listing(base, pairs, page, per_page, len(everything), window)

    def _search(self, pairs: list[tuple[str, str]], query: dict[str, str]) -> _Response:
        q = query.get("q")
        if q is None or not q.strip():
            raise _validation_failed("Search", "q", DOC_SEARCH, code="missing")
        per_page, page = _paging(query, DOC_SEARCH, "Search")
        if (page - 1) * per_page + 1 > MAX_SEARCH_RESULTS:
            raise _ApiError(
                422, _error_body("Only the first 1000 search results are available", "https://docs.github.com/v3/search/", 422)
            )
        sort = query.get("sort")
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise _validation_failed("Search", "order", DOC_SEARCH, value=order)
        if sort not in ("created", "updated", "comments"):
            sort, order = "created", "desc"  # "best match" and unsupported sorts

        repo_names: list[str] = []
        kind: str | None = None
        kinds: set[str] = set()
        state = "all"
        created = updated = None
        for term in _Q_TOKEN_RE.findall(q):
            qual, sep, value = term.partition(":")
            if not sep:
                continue  # free text is accepted and ignored
            qual = qual.lower()
            value = value.strip('"')
            low = value.lower()
            if qual == "repo":
                repo_names.append(value)
            elif qual in ("is", "type") and low in ("issue", "pr", "pull-request"):
                kinds.add("issue" if low == "issue" else "pr")
            elif qual in ("is", "state") and low in ("open", "closed"):
                state = low
            elif qual in ("updated", "created"):
                try:
                    rng = _parse_range(value)
                except ValueError:
                    raise _validation_failed("Search", "q", DOC_SEARCH, value=term) from None
                if qual == "updated":
                    updated = rng if updated is None else (max(updated[0], rng[0]), min(updated[1], rng[1]))
                else:
                    created = rng if created is None else (max(created[0], rng[0]), min(created[1], rng[1]))
        if len(kinds) == 1:
            kind = kinds.pop()
        empty = len(kinds) > 1
        repos: list[RepoData] = []
        if repo_names:
            for name in dict.fromkeys(repo_names):
                repo = self.store.repo(name)
                if repo is None:
                    raise _ApiError(
                        422,
                        _error_body(
                            "Validation Failed",
                            DOC_SEARCH,
                            422,
                            errors=[
                                {
                                    "message": "The listed users and repositories cannot be searched either because "
                                    "the resources do not exist or you do not have permission to view them.",
                                    "resource": "Search",
                                    "field": "q",
                                    "code": "invalid",
                                }
                            ],
                        ),
                    )
                repos.append(repo)
        else:
            repos = [self.store.repo_by_index(i) for i in range(len(self.store.repo_names))]
        results = [] if empty else self.store.search(repos, kind, state, created, updated, sort)
        total = len(results)
        offset = (page - 1) * per_page
        if offset >= total:
            window: list[tuple[int, int]] = []
        elif order == "asc":
            window = results[offset : offset + per_page]
        else:
            top = total - offset
            window = results[max(0, top - per_page) : top]
            window.reverse()
        items = []
        mask = (1 << 32) - 1
        for _, tagged in window:
            repo = self.store.repo_by_index(tagged >> 32)
            rec = repo.records[(tagged & mask) - 1]
            items.append(self.store.raw(repo, rec)[:-1] + b',"score":1.0}')
        body = b'{"total_count":%d,"incomplete_results":false,"items":[' % total + b",".join(items) + b"]}"
        last = max(1, min(math.ceil(total / per_page), math.ceil(MAX_SEARCH_RESULTS / per_page)))
        headers = []
        link = _link_header(f"{self.url}/search/issues", pairs, page, last)
        if link:
            headers.append(("Link", link))
        return _Response(200, body, headers)

    # -- admin -----------------------------------------------------------------

    def _admin(self, method: str, path: str, query: dict[str, str], payload: bytes) -> _Response:
        def ok(obj: Any) -> _Response:
            return _Response(200, orjson.dumps(obj))

        def fail(status: int, message: str) -> _Response:
            return _Response(status, orjson.dumps({"message": message}))

        try:
            data = orjson.loads(payload) if payload else {}
        except orjson.JSONDecodeError:
            return fail(400, "Body is not valid JSON")
        if not isinstance(data, dict):
            return fail(400, "Body must be a JSON object")
        path = path.rstrip("/")
        if path == "/_emulator/mutate" and method == "POST":
            repo = data.get("repo")
            if not isinstance(repo, str) or self.store.canonical_name(repo) is None:
                return fail(404, "Not Found")
            return ok({"numbers": self.mutate(repo, update=int(data.get("update", 0)), add=int(data.get("add", 0)))})
        if path == "/_emulator/log" and method == "GET":
            return ok([r.to_json() for r in self.request_log])
        if path == "/_emulator/clear-log" and method == "POST":
            self.clear_log()
            return ok({"cleared": True})
        if path == "/_emulator/rate-limit" and method == "POST":
            resource = data.get("resource", "core")
            if resource not in ("core", "search", "graphql"):
                return fail(422, "resource must be 'core', 'search' or 'graphql'")
            self.set_rate_limit(
                remaining=data.get("remaining"), reset_in=data.get("reset_in"), token=data.get("token"), resource=resource
            )
            state = self.rate_limit_state(token=data.get("token"), resource=resource)
            return ok(state)
        if path in ("/_emulator/big-pull", "/_emulator/delete-pull") and method == "POST":
            repo, number = data.get("repo"), data.get("number")
            if not isinstance(repo, str) or self.store.canonical_name(repo) is None:
                return fail(404, "Not Found")
            try:
                if path.endswith("delete-pull"):
                    self.delete_pull(repo, int(number))
                    return ok({"repo": repo, "number": int(number), "deleted": True})
                sizes = {k: int(data[k]) for k in ("files", "reviews") if k in data}
                made = self.make_big_pull(repo, None if number is None else int(number), **sizes)
                return ok({"repo": repo, "number": made})
            except (KeyError, TypeError, ValueError) as exc:
                return fail(422, str(exc))
        if path == "/_emulator/repos" and method == "GET":
            with self.lock:
                out = []
                for name in self.store.repo_names:
                    repo = self.store.repo(name)
                    assert repo is not None
                    out.append({"full_name": name, "id": repo.id, "issues": len(repo.records)})
            return ok(out)
        if path == "/_emulator/issues" and method == "GET":
            repo = query.get("repo", "")
            if self.store.canonical_name(repo) is None:
                return fail(404, "Not Found")
            return ok(self.issues(repo))
        if path in ("/_emulator/pulls", "/_emulator/commits", "/_emulator/issue-comments") and method == "GET":
            repo = query.get("repo", "")
            if self.store.canonical_name(repo) is None:
                return fail(404, "Not Found")
            getter = {"pulls": self.pulls, "commits": self.commits, "issue-comments": self.issue_comments}
            return ok(getter[path.rsplit("/", 1)[1]](repo))
        if path in ("/_emulator/reviews", "/_emulator/pr-files") and method == "GET":
            repo = query.get("repo", "")
            if self.store.canonical_name(repo) is None:
                return fail(404, "Not Found")
            key = "review" if path.endswith("reviews") else "file"
            pairs = self.reviews(repo) if key == "review" else self.pr_files(repo)
            return ok([{"pull_number": n, key: item} for n, item in pairs])
        if path == "/_emulator/org-repos" and method == "GET":
            try:
                return ok(self.org_repos(query.get("org", "")))
            except KeyError:
                return fail(404, "Not Found")
        return fail(404, "Not Found")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _etag_matches(header: str, etag: str) -> bool:
    bare = etag[2:] if etag.startswith("W/") else etag
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == bare:
            return True
    return False


def _window(keys: Sequence[int], lo: int, hi: int, page: int, per_page: int, desc: bool) -> list[int]:
    """The ``page`` of ``keys[lo:hi]`` (ascending) read in ascending or descending order."""
    total = hi - lo
    offset = (page - 1) * per_page
    if offset >= total:
        return []
    if not desc:
        return list(keys[lo + offset : lo + min(offset + per_page, total)])
    top = hi - offset
    out = list(keys[max(lo, top - per_page) : top])
    out.reverse()
    return out


def _paging(query: dict[str, str], doc: str, resource: str) -> tuple[int, int]:
    try:
        per_page = int(query.get("per_page", DEFAULT_PER_PAGE))
    except ValueError:
        raise _validation_failed(resource, "per_page", doc, value=query.get("per_page")) from None
    try:
        page = int(query.get("page", 1))
    except ValueError:
        raise _validation_failed(resource, "page", doc, value=query.get("page")) from None
    if per_page < 1:
        per_page = DEFAULT_PER_PAGE
    per_page = min(per_page, MAX_PER_PAGE)
    return per_page, max(1, page)


def _link_header(base: str, pairs: list[tuple[str, str]], page: int, last: int) -> str:
    kept = [(k, v) for k, v in pairs if k != "page"]

    def url(n: int) -> str:
        return f"{base}?{urlencode(kept + [('page', str(n))], quote_via=quote)}"

    parts = []
    if page > 1:
        parts.append(f'<{url(page - 1)}>; rel="prev"')
    if page < last:
        parts.append(f'<{url(page + 1)}>; rel="next"')
        parts.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        parts.append(f'<{url(1)}>; rel="first"')
    return ", ".join(parts)


def _parse_bound(value: str, upper: bool) -> float:
    """A date or timestamp as an inclusive bound (a date as an upper bound means its last second)."""
    if value == "*":
        return _TS_MAX if upper else _TS_MIN
    ts = parse_ts(value)
    if upper and _DATE_RE.match(value):
        ts += 86399
    return ts


def _parse_range(value: str) -> tuple[float, float]:
    """``A..B``, ``A..*``, ``*..B``, ``>=A``, ``>A``, ``<=A``, ``<A`` or ``A`` -> inclusive (lo, hi)."""
    if ".." in value:
        a, b = value.split("..", 1)
        lo, hi = _parse_bound(a, False), _parse_bound(b, True)
    elif value.startswith(">="):
        lo, hi = _parse_bound(value[2:], False), _TS_MAX
    elif value.startswith(">"):
        lo, hi = _parse_bound(value[1:], True) + 0.5, _TS_MAX
    elif value.startswith("<="):
        lo, hi = _TS_MIN, _parse_bound(value[2:], True)
    elif value.startswith("<"):
        lo, hi = _TS_MIN, _parse_bound(value[1:], False) - 0.5
    else:
        lo, hi = _parse_bound(value, False), _parse_bound(value, True)
    return max(lo, _TS_MIN), min(hi, _TS_MAX)
