"""Dagster resources of the GitHub source: the API client settings and the sources config."""


from collections.abc import Mapping
from typing import Any, Optional

import dagster as dg
from pydantic import Field

from gh_assets.config import SourcesConfig, load_sources
from gh_assets.github.client import DEFAULT_API_URL, GitHubClient, Response


class GitHubResource(dg.ConfigurableResource):
    """Settings of the GitHub REST client. Bind ``token`` with ``dg.EnvVar("GITHUB_TOKEN")``: never a literal."""

    api_url: str = Field(default=DEFAULT_API_URL, description="API root; point it at the bundled emulator offline.")
    token: Optional[str] = Field(default=None, description="Personal access or app token; anonymous when unset.")
    tokens: Optional[str] = Field(
        default=None, description="Several tokens, comma-separated (GITHUB_TOKENS): each request takes the one with most budget left."
    )
    timeout_seconds: float = 30.0
    max_attempts: int = Field(default=8, description="Attempts per request for 5xx, resets, timeouts, bad bodies.")
    max_retry_seconds: float = Field(default=300.0, description="Give up retrying one request after this long.")
    max_rate_limit_wait_seconds: float = Field(
        default=3600.0, description="Wait at most this long for a spent rate limit to reset, else fail clearly."
    )
    per_page: int = Field(default=100, ge=1, le=100)
    detail_concurrency: int = Field(
        default=4, ge=1, le=32, description="Pull requests whose reviews and files are fetched at the same time."
    )

    conditional_requests: bool = Field(
        default=True,
        description="Send the ETags of stored pages as If-None-Match (a 304 costs no rate limit). False re-fetches every "
        "page whole: what `gh-assets ingest --repair` uses (GH_ASSETS_CONDITIONAL_REQUESTS=false).",
    )

    def client(self) -> GitHubClient:
        kind = GitHubClient if self.conditional_requests else UnconditionalClient
        return kind(
            self.api_url,
            self.token,
            tokens=[t.strip() for t in (self.tokens or "").split(",") if t.strip()],
            timeout=self.timeout_seconds,
            max_attempts=self.max_attempts,
            max_retry_seconds=self.max_retry_seconds,
            max_rate_limit_wait=self.max_rate_limit_wait_seconds,
        )


class UnconditionalClient(GitHubClient):
    """A client that never sends a stored ETag: every page comes back whole (200), none is reused from the lake."""

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, etag: str | None = None, shrinkable: bool = False) -> Response:
        return super().get(path, params, shrinkable=shrinkable)


class SourcesResource(dg.ConfigurableResource):
    """Where the sources config lives (``$GH_ASSETS_CONFIG``, default ``sources.yaml``)."""

    path: str = "sources.yaml"

    def load(self) -> SourcesConfig:
        return load_sources(self.path)
