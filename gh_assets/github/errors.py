"""Typed errors raised by the GitHub client. Messages carry a sanitised URL, never a token."""

from __future__ import annotations


class GitHubError(Exception):
    """Base class of every error the GitHub client raises."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class BadCredentials(GitHubError):
    """401: the token was refused (wrong, expired or revoked)."""


class Forbidden(GitHubError):
    """403 that is not a rate limit: the token lacks a scope or the resource is blocked."""


class NotFound(GitHubError):
    """404: the repository or resource does not exist, or is private to this token."""


class Gone(GitHubError):
    """410 or 451: the resource was removed or is unavailable for legal reasons."""


class ValidationFailed(GitHubError):
    """422: GitHub refused the request parameters (for search: past the 1000-result cap)."""


class RateLimitExceeded(GitHubError):
    """The rate limit is spent and its reset is further away than the configured maximum wait."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None, reset_at: float | None = None) -> None:
        super().__init__(message, url=url, status=status)
        self.reset_at = reset_at


class ServerError(GitHubError):
    """5xx, connection failure or malformed body that persisted through every retry."""


class PageTooLarge(ServerError):
    """502/504 on a page the caller can request again with a smaller ``per_page``."""


class UnexpectedResponse(GitHubError):
    """A status or body the client has no rule for."""


class GraphQLQueryError(GitHubError):
    """HTTP 200 from GraphQL with errors the client has no rule for (partial data beside them is not kept)."""
