"""A small synchronous GitHub client (REST GETs and GraphQL POSTs): one connection pool, bounded retries, shared
rate-limit budgets (REST ``core``/``search`` and GraphQL points apart, as GitHub keeps them).

No Dagster in here: the assets wrap it, tests drive it against the bundled emulator over real HTTP.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import tenacity

from gh_assets.github import errors
from gh_assets.github.rate_limit import TokenPool
from gh_assets.github.responses import Outcome, RateLimit, classify, parse_link_header, sanitize_url

log = logging.getLogger("gh_assets.github")

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "gh-assets/0.1 (+https://github.com)"
RATE_LIMIT_WAIT_SLICE = 1.0  # a rate-limit wait sleeps in slices this long, so an interrupt ends it within a second
GRAPHQL_RATE_LIMITED = frozenset({"RATE_LIMITED", "RATE_LIMIT"})  # GitHub has been seen sending both


@dataclass(frozen=True)
class Response:
    """One decoded API response. ``url`` is sanitised; ``body`` holds the exact bytes GitHub sent."""

    url: str
    status: int
    body: bytes
    data: Any  # the parsed JSON body; None for 304
    etag: str | None
    links: dict[str, str]
    rate_limit: RateLimit
    fetched_at: datetime
    token_index: int = 0  # which configured token answered (never the token itself)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class RequestStats:
    """Counters of what a client did; shared by every thread using the client."""

    requests: int = 0
    not_modified: int = 0
    retries: int = 0
    bytes: int = 0
    rate_limit_waits: int = 0
    rate_limit_remaining: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, status: int, nbytes: int, rate: RateLimit) -> None:
        with self._lock:
            self.requests += 1
            self.bytes += nbytes
            if status == 304:
                self.not_modified += 1
            if rate.remaining is not None:
                self.rate_limit_remaining = rate.remaining

    def as_metadata(self) -> dict[str, int]:
        with self._lock:
            out = {
                "requests": self.requests,
                "not_modified": self.not_modified,
                "retries": self.retries,
                "bytes": self.bytes,
                "rate_limit_waits": self.rate_limit_waits,
            }
            if self.rate_limit_remaining is not None:
                out["rate_limit_remaining"] = self.rate_limit_remaining
            return out


class _Retry(Exception):
    """Internal: the attempt failed in a way worth another try; ``wait`` overrides the backoff."""

    def __init__(self, reason: str, wait: float | None = None, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.status = status


def _resource_of(url: str) -> str:
    """The rate-limit resource a request draws on (GitHub budgets search and GraphQL apart from core)."""
    path = httpx.URL(url).path
    if path.endswith("/graphql"):
        return "graphql"
    return "search" if path.startswith("/search/") else "core"


def graphql_url(base_url: str) -> str:
    """GitHub's GraphQL endpoint for a REST root: ``https://api.github.com/graphql``; ``/api/graphql`` on GHES."""
    base = base_url.rstrip("/")
    return f"{base[: -len('/v3')]}/graphql" if base.endswith("/api/v3") else f"{base}/graphql"


def graphql_rate_limited(data: Any) -> bool:
    """A GraphQL document saying the points budget is spent (HTTP 200 with a ``RATE_LIMITED`` error)."""
    errs = data.get("errors") if isinstance(data, dict) else None
    return isinstance(errs, list) and any(isinstance(e, dict) and e.get("type") in GRAPHQL_RATE_LIMITED for e in errs)


class GitHubClient:
    """GitHub client: REST GETs and GraphQL queries.

    Retries (tenacity): 5xx, connection errors, timeouts and truncated or invalid JSON bodies, with
    exponential backoff and jitter, bounded by ``max_attempts`` and ``max_retry_seconds``. Rate limits wait
    for their reset (or ``retry-after``) when that is within ``max_rate_limit_wait``; otherwise
    :class:`~gh_assets.github.errors.RateLimitExceeded` says when to come back.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        token: str | None = None,
        *,
        tokens: Sequence[str] = (),
        timeout: float = 30.0,
        max_attempts: int = 8,
        max_retry_seconds: float = 300.0,
        max_rate_limit_wait: float = 3600.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        token_env: str = "GITHUB_TOKEN",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.max_rate_limit_wait = max_rate_limit_wait
        self.token_env = token_env
        self.stats = RequestStats()
        # Several tokens (GITHUB_TOKENS) or one; their budgets are shared by every client of this process.
        all_tokens = [t for t in (*tokens, token) if t]
        self._tokens = list(dict.fromkeys(all_tokens)) or [None]
        self._pool = TokenPool.shared(self.base_url, self._tokens)
        self._sleep = sleep
        self._clock = clock  # wall clock for rate-limit resets (epoch seconds, as GitHub sends them)
        self._backoff = tenacity.wait_exponential_jitter(initial=backoff_initial, max=backoff_max)
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
            follow_redirects=True,
        )

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def url_for(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        etag: str | None = None,
        shrinkable: bool = False,
    ) -> Response:
        """GET ``path`` (relative to the API root, or an absolute URL from a Link header).

        ``shrinkable``: the caller can ask again with a smaller ``per_page``, so a 502/504 (GitHub timing out
        on a large page) raises :class:`~gh_assets.github.errors.PageTooLarge` at once instead of retrying the
        same size.
        """
        # None, not {}: httpx replaces a URL's own query (a Link header's page=N) with an empty params dict.
        request_params = {k: str(v) for k, v in params.items()} if params else None
        return self._request("GET", self.url_for(path), request_params, None, etag, shrinkable)

    def graphql(self, query: str, variables: Mapping[str, Any], *, shrinkable: bool = False) -> Response:
        """POST one GraphQL query. ``data`` is the whole document (``data`` and ``errors``): the caller decides
        what its errors mean; a spent points budget (``RATE_LIMITED``) is waited for here like a REST one.

        ``shrinkable``: the caller can ask for a smaller batch, so a 502/504 (GitHub cutting off a query that ran
        past its time limit) raises :class:`~gh_assets.github.errors.PageTooLarge` at once.
        """
        body = orjson.dumps({"query": query, "variables": dict(variables)})
        return self._request("POST", graphql_url(self.base_url), None, body, None, shrinkable)

    def _request(
        self, method: str, url: str, request_params: dict[str, str] | None, content: bytes | None, etag: str | None, shrinkable: bool
    ) -> Response:
        resource = _resource_of(url)
        started = time.monotonic()
        paused = [0.0]  # time spent waiting for rate-limit resets does not count against max_retry_seconds

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= self.max_attempts:
                return True
            return time.monotonic() - started - paused[0] > self.max_retry_seconds

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retry) and exc.wait is not None:
                return exc.wait
            return self._backoff(state)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            with self.stats._lock:
                self.stats.retries += 1
            reason = exc.reason if isinstance(exc, _Retry) else repr(exc)
            delay = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s %s failed (%s), attempt %d of %d; retrying in %.1fs",
                method,
                sanitize_url(url),
                reason,
                state.attempt_number,
                self.max_attempts,
                delay,
            )

        retrying = tenacity.Retrying(
            stop=stop,
            wait=wait,
            retry=tenacity.retry_if_exception_type(_Retry),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, url, request_params, content, etag, resource, shrinkable, paused)
        except _Retry as exc:
            raise errors.ServerError(
                f"{method} {sanitize_url(url)} still failing after {self.max_attempts} attempts or "
                f"{self.max_retry_seconds:.0f}s: {exc.reason}. GitHub may be degraded; rerun the partition later.",
                url=sanitize_url(url),
                status=exc.status,
            ) from None

    def _rate_limit_pause(self, url: str, wait: float, paused: list[float]) -> None:
        resume = datetime.fromtimestamp(self._clock() + wait, tz=UTC)
        if wait > self.max_rate_limit_wait:
            raise errors.RateLimitExceeded(
                f"GET {sanitize_url(url)}: the GitHub rate limit of every configured token is spent; the first "
                f"resets at {resume:%Y-%m-%d %H:%M:%S} UTC (in {wait:.0f}s), longer than the maximum wait of "
                f"{self.max_rate_limit_wait:.0f}s. Retry after the reset, add tokens (GITHUB_TOKENS), or raise the maximum wait.",
                url=sanitize_url(url),
                reset_at=resume.timestamp(),
            )
        with self.stats._lock:
            self.stats.rate_limit_waits += 1
        log.warning("GitHub rate limit spent; waiting %.0fs, resuming at %s UTC", wait, f"{resume:%H:%M:%S}")
        began = time.monotonic()
        # In slices: one long sleep would hold the run past an interrupt; each slice returns to Python,
        # which delivers SIGINT/SIGTERM between them.
        left = wait
        while left > 0:
            self._sleep(min(left, RATE_LIMIT_WAIT_SLICE))
            left -= RATE_LIMIT_WAIT_SLICE
        paused[0] += time.monotonic() - began

    def _attempt(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        content: bytes | None,
        etag: str | None,
        resource: str,
        shrinkable: bool,
        paused: list[float],
    ) -> Response:
        index, wait = self._pool.acquire(resource, self._clock())
        if wait > 0:
            self._rate_limit_pause(url, wait, paused)
            index, _ = self._pool.acquire(resource, self._clock())
        token = self._tokens[index]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if etag:
            headers["If-None-Match"] = etag
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            resp = self._http.request(method, url, params=params, headers=headers, content=content)
            body = resp.content
        except httpx.TransportError as exc:
            # Resets, timeouts and bodies shorter than their Content-Length all land here.
            raise _Retry(type(exc).__name__) from None
        rate = RateLimit.from_headers(resp.headers)
        self.stats.record(resp.status_code, len(body), rate)
        self._pool.update(index, rate, resource)
        full_url = str(resp.url)
        verdict = classify(resp.status_code, resp.headers, body, full_url, now=self._clock(), token_env=self.token_env, method=method)
        if verdict.outcome is Outcome.FATAL:
            assert verdict.error is not None
            raise verdict.error
        if verdict.outcome is Outcome.RETRYABLE:
            if shrinkable and resp.status_code in (502, 504):
                raise errors.PageTooLarge(
                    f"{method} {sanitize_url(full_url)} -> {resp.status_code}: GitHub timed out building the page",
                    url=sanitize_url(full_url),
                    status=resp.status_code,
                )
            raise _Retry(f"HTTP {resp.status_code}", status=resp.status_code)
        if verdict.outcome is Outcome.SECONDARY_LIMITED:
            raise _Retry("secondary rate limit", wait=verdict.wait_seconds + random.uniform(0, 1))
        if verdict.outcome is Outcome.RATE_LIMITED:
            # This token is spent: the next attempt takes another one, or waits for the first reset.
            self._pool.mark_spent(index, rate.resource or resource, rate.reset)
            raise _Retry("primary rate limit", wait=0.0)
        data = None
        if verdict.outcome is Outcome.OK:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise _Retry(f"invalid JSON body ({exc.msg} at byte {exc.pos})") from None
            if resource == "graphql" and graphql_rate_limited(data):
                # HTTP 200, but the points are spent: this token waits for its reset, another may go on.
                self._pool.mark_spent(index, "graphql", rate.reset)
                raise _Retry("GraphQL rate limit", wait=0.0)
        return Response(
            url=sanitize_url(full_url),
            status=resp.status_code,
            body=body,
            data=data,
            etag=resp.headers.get("etag"),
            links=parse_link_header(resp.headers.get("link")),
            rate_limit=rate,
            fetched_at=datetime.now(tz=UTC),
            token_index=index,
        )
