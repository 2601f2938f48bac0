"""Repository identity: GitHub's canonical spelling of a repository name, and repositories that do not exist.

GitHub treats ``Owner/Repo`` and ``owner/repo`` as one repository. The ``/repos/{owner}/{repo}`` response's
``full_name`` is the canonical spelling: partition keys (and through them lake rows and marts) take it when a
repository is first added; afterwards every lookup compares with :func:`gh_assets.config.repo_key`
(lower-case), so another spelling finds the existing partition instead of making a second one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gh_assets.config import repo_key
from gh_assets.github import errors
from gh_assets.github.client import GitHubClient


class RepositoryNotFound(errors.NotFound):
    """404 (or 410/451) on ``/repos/{owner}/{repo}``: the repository does not exist or this token cannot see it."""


def canonical_name(client: GitHubClient, repo: str) -> str:
    """GitHub's spelling of ``repo`` (the ``full_name`` of ``GET /repos/{owner}/{repo}``; one request).

    Raises :class:`RepositoryNotFound` for a 404, 410 or 451; other client errors propagate.
    """
    try:
        response = client.get(f"/repos/{repo}")
    except (errors.NotFound, errors.Gone) as exc:
        raise RepositoryNotFound(
            f"GitHub answers {exc.status or 404} for /repos/{repo}: the repository does not exist "
            "(or is private to this token); check the spelling and the token's access",
            url=exc.url,
            status=exc.status,
        ) from None
    name = response.data.get("full_name") if isinstance(response.data, dict) else None
    return name if isinstance(name, str) and repo_key(name) == repo_key(repo) else repo


def find_existing(repo: str, existing: Iterable[str]) -> str | None:
    """The key among ``existing`` (partition keys) naming ``repo`` in any spelling, else None."""
    wanted = repo_key(repo)
    return next((key for key in existing if repo_key(key) == wanted), None)


def unique_repos(repos: Iterable[str], spelling: Mapping[str, str] | None = None) -> list[str]:
    """``repos`` with case-insensitive duplicates dropped (first wins), each in ``spelling``'s form if it has one.

    ``spelling`` maps :func:`repo_key` to a preferred (canonical) spelling.
    """
    seen: set[str] = set()
    out = []
    for repo in repos:
        key = repo_key(repo)
        if key not in seen:
            seen.add(key)
            out.append((spelling or {}).get(key, repo))
    return out
