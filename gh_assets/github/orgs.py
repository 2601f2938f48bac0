"""Expanding the ``orgs:`` entries of the sources config into repositories (``GET /orgs/{org}/repos``)."""

from __future__ import annotations

from gh_assets.config import OrgSource, SourcesConfig
from gh_assets.github.client import GitHubClient
from gh_assets.github.pagination import sweep_numbered


def org_repos(client: GitHubClient, org: OrgSource, *, per_page: int = 100) -> list[str]:
    """``owner/name`` of every repository of ``org`` its include/exclude patterns and flags keep, sorted."""
    kept = []
    for page in sweep_numbered(client, f"/orgs/{org.org}/repos", {"type": "all", "sort": "full_name", "direction": "asc"}, per_page=per_page, what="repositories"):
        for repo in page.fresh:
            if org.selects(repo["name"], archived=bool(repo.get("archived")), fork=bool(repo.get("fork"))):
                kept.append(repo["full_name"])
    return sorted(kept)


def expand(client: GitHubClient, config: SourcesConfig) -> SourcesConfig:
    """The config with every org's repositories listed as repos (one paginated listing per org)."""
    if not config.github.orgs:
        return config
    found = [name for org in config.github.orgs for name in org_repos(client, org)]
    return config.with_org_repos(found)
