"""One pure function that classifies every GitHub response: no I/O, so every rule is testable alone."""

from __future__ import annotations

import enum
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from gh_assets.github import errors

_SECRET_PARAMS = frozenset({"access_token", "client_secret", "client_id", "token", "sig", "signature"})
_LINK_RE = re.compile(r'<([^>]+)>;\s*rel="([^"]+)"')


class Outcome(enum.Enum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    RATE_LIMITED = "rate_limited"  # primary limit: wait until the reset
    SECONDARY_LIMITED = "secondary_limited"  # secondary limit: honour retry-after
    RETRYABLE = "retryable"  # 5xx: back off and retry
    FATAL = "fatal"


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit headers of one response."""

    limit: int | None
    remaining: int | None
    reset: float | None  # epoch seconds
    used: int | None
    resource: str | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        def _int(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(value) if value is not None else None
            except ValueError:
                return None

        reset = _int("x-ratelimit-reset")
        return cls(
            limit=_int("x-ratelimit-limit"),
            remaining=_int("x-ratelimit-remaining"),
            reset=float(reset) if reset is not None else None,
            used=_int("x-ratelimit-used"),
            resource=headers.get("x-ratelimit-resource"),
        )


@dataclass(frozen=True)
class Classification:
    outcome: Outcome
    wait_seconds: float = 0.0  # how long to wait before retrying (rate limits)
    error: errors.GitHubError | None = None


def sanitize_url(url: str) -> str:
    """Return the URL without credentials in its userinfo or secret query parameters."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = urlencode(
        [(k, "REDACTED" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe=":,/",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def parse_link_header(value: str | None) -> dict[str, str]:
    """Parse GitHub's ``Link`` header into ``{rel: url}``."""
    if not value:
        return {}
    return {rel: url for url, rel in _LINK_RE.findall(value)}


def _message(body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return parsed["message"]
    text = body[:200].decode("utf-8", "replace").strip()
    return text or "(empty body)"


def classify(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    url: str,
    *,
    now: float | None = None,
    token_env: str = "GITHUB_TOKEN",
    method: str = "GET",
) -> Classification:
    """Decide what a response means. ``headers`` must be case-insensitive (httpx.Headers) or lower-cased."""
    safe_url = sanitize_url(url)
    if 200 <= status < 300:
        return Classification(Outcome.OK)
    if status == 304:
        return Classification(Outcome.NOT_MODIFIED)
    now = time.time() if now is None else now
    message = _message(body)
    where = f"{method} {safe_url} -> {status}"
    if status in (403, 429):
        retry_after = headers.get("retry-after")
        remaining = headers.get("x-ratelimit-remaining")
        if retry_after is not None:
            try:
                wait = max(float(retry_after), 0.0)
            except ValueError:
                wait = 60.0
            return Classification(Outcome.SECONDARY_LIMITED, wait_seconds=wait)
        if remaining == "0":
            reset = RateLimit.from_headers(headers).reset
            wait = max((reset or now + 60.0) - now, 0.0) + 1.0  # one second past the reset: clocks drift
            return Classification(Outcome.RATE_LIMITED, wait_seconds=wait)
        if "secondary rate limit" in message.lower():
            return Classification(Outcome.SECONDARY_LIMITED, wait_seconds=60.0)
        if status == 429:
            return Classification(Outcome.SECONDARY_LIMITED, wait_seconds=60.0)
        return Classification(
            Outcome.FATAL,
            error=errors.Forbidden(
                f"{where}: {message}. The token in {token_env} lacks a permission for this resource "
                "(public repositories need no scope; private ones need 'repo' or fine-grained 'Issues: read').",
                url=safe_url,
                status=status,
            ),
        )
    if status >= 500:
        return Classification(Outcome.RETRYABLE)
    if status == 401:
        return Classification(
            Outcome.FATAL,
            error=errors.BadCredentials(
                f"{where}: {message}. The token in {token_env} was refused; set a valid token "
                f"or unset {token_env} for anonymous access.",
                url=safe_url,
                status=status,
            ),
        )
    if status == 404:
        return Classification(
            Outcome.FATAL,
            error=errors.NotFound(
                f"{where}: {message}. The repository does not exist, was renamed, or is private to the token in {token_env}.",
                url=safe_url,
                status=status,
            ),
        )
    if status in (410, 451):
        return Classification(
            Outcome.FATAL,
            error=errors.Gone(f"{where}: {message}. The resource is gone or blocked.", url=safe_url, status=status),
        )
    if status == 422:
        return Classification(
            Outcome.FATAL,
            error=errors.ValidationFailed(f"{where}: {message}.", url=safe_url, status=status),
        )
    return Classification(
        Outcome.FATAL,
        error=errors.UnexpectedResponse(f"{where}: {message}.", url=safe_url, status=status),
    )
