"""Dagster resources of the GitHub source: the API client settings and the sources config."""


from typing import Optional

import dagster as dg
from pydantic import Field

from gh_assets.config import SourcesConfig, load_sources
from gh_assets.github.client import DEFAULT_API_URL, GitHubClient


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

    def client(self) -> GitHubClient:
        return GitHubClient(
            self.api_url,
            self.token,
            tokens=[t.strip() for t in (self.tokens or "").split(",") if t.strip()],
            timeout=self.timeout_seconds,
            max_attempts=self.max_attempts,
            max_retry_seconds=self.max_retry_seconds,
            max_rate_limit_wait=self.max_rate_limit_wait_seconds,
        )


class SourcesResource(dg.ConfigurableResource):
    """Where the sources config lives (``$GH_ASSETS_CONFIG``, default ``sources.yaml``)."""

    path: str = "sources.yaml"

    def load(self) -> SourcesConfig:
        return load_sources(self.path)
