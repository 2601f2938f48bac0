"""Pull requests, reviews, changed files, issue comments, commits and organisation repositories.

Everything is derived from the issue data of :mod:`gh_assets.emulator.data` without touching its
RNG draws: each entity has its own seed (the repository's ``entity_seed`` mixed with a per-kind
salt), so issue documents stay byte-identical whether or not these endpoints are used.

A pull request copies its issue fields from the issue document as served (mutations included);
reviews and comments are timed within the issue's ``created_at`` and its ``updated_at`` before any
mutation, so they stay consistent when a mutation moves ``updated_at`` later.

Memory stays proportional to what is asked for. Pull requests are cached as serialized pieces
without their ``head``/``base`` repository objects (spliced in when served); pull requests,
reviews, files, comments and commits sit behind bounded LRU caches of serialized bytes and are
regenerated deterministically on a miss. Only two per-repository indexes are kept once used: the
timestamps of every issue comment (``/issues/comments`` ordering and ``since``) and the commit
dates (``since``/``until``).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import math
import random
from array import array
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Hashable
from urllib.parse import quote

import orjson

from gh_assets.emulator.data import (
    _ASSOCIATION_CDF,
    _BODY_SENTENCES,
    _BOTS,
    _NUMBER_BITS,
    _NUMBER_MASK,
    _REACTION_NAMES,
    _Draws,
    _dump,
    _pick,
    _stable_int,
    format_ts,
)

if TYPE_CHECKING:
    from gh_assets.emulator.data import DataStore, IssueRecord, RepoData

__all__ = ["ORG_REPO_SORTS", "ORG_REPO_TYPES", "PULL_SORTS", "REVIEW_STATES", "FILE_STATUSES", "CommentIndex", "Entities"]

PULL_SORTS: tuple[str, ...] = ("created", "updated", "popularity", "long-running")
REVIEW_STATES: tuple[str, ...] = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED")
FILE_STATUSES: tuple[str, ...] = ("added", "removed", "modified", "renamed", "copied", "changed", "unchanged")
ORG_REPO_TYPES: tuple[str, ...] = ("all", "public", "private", "forks", "sources", "member")
ORG_REPO_SORTS: tuple[str, ...] = ("created", "updated", "pushed", "full_name")
MAX_FILES = 3000  # GitHub lists at most 3000 files of a pull request

# salts of the per-entity draws (mixed into the repository's entity seed)
_PR_SALT = 0x5052
_REVIEW_SALT = 0x5256
_FILE_SALT = 0x4649
_COMMENT_SALT = 0x434D
_COMMIT_SALT = 0x4354

# id ranges: issues use 2.4e9 + index * 1e9 + number * 16; these stay clear of them and of each other
_PR_ID_BASE = 5_000_000_000_000
_REVIEW_ID_BASE = 6_000_000_000_000
_COMMENT_ID_BASE = 7_000_000_000_000

_HEAD_MARK = b'"@@gh-emulator:head-repo@@"'
_BASE_MARK = b'"@@gh-emulator:base-repo@@"'

_BRANCH_PREFIXES = ("feature", "fix", "docs", "chore", "refactor", "perf", "test", "ci")
_BRANCH_TOPICS = (
    "pagination", "rate-limit", "dark-mode", "csv-import", "login-crash", "release-notes", "unicode-paths",
    "settings-dialog", "memory-leak", "windows-build", "timeouts", "etag-cache", "retry-backoff", "docs-since",
)
_BOT_BRANCHES = (
    "dependabot/pip/requests-2.32.3", "dependabot/npm_and_yarn/vite-5.4.2", "dependabot/github_actions/actions/checkout-4",
    "renovate/pydantic-2.x", "renovate/lock-file-maintenance", "pre-commit-ci-update-config",
)
_REVIEW_BODIES = (
    "LGTM 👍",
    "Looks good to me, thanks!",
    "A couple of nits inline; otherwise fine.",
    "Please add a test for the empty-page case.",
    "Could you rebase on main? There are conflicts in `pagination.py`.",
    "Das sieht gut aus — danke!",
    "修正ありがとうございます。",
    "This breaks the `since` semantics: updated_at ties must be inclusive.",
    "Nit: the error message should include the URL (sanitised).",
    "```suggestion\nreturn None\n```",
)
_COMMIT_SUBJECTS = (
    "Fix pagination when updated_at ties",
    "Add retry with jitter for 502/503",
    "docs: explain the since parameter",
    "chore(deps): bump requests from 2.32.2 to 2.32.3",
    "feat: support ETag caching",
    "refactor: split the client into pages and retries",
    "test: cover the empty page",
    "Unicode: normalise NFC in titles ✨",
    "Merge branch 'main' into feature/dark-mode",
    "Revert \"Add experimental cache\"",
    "ci: run the tests on Python 3.12",
    "Übersetzung aktualisiert",
    "修复 Windows 路径问题",
    "perf: cache serialized pages",
)
_UNLINKED_AUTHORS = (
    ("Jane Doe", "jane.doe@example.com"),
    ("build bot", "build@ci.example.org"),
    ("José Müller", "jose.mueller@example.de"),
    ("李雷", "li.lei@example.cn"),
    ("Zoë O'Brien", "zoe@example.ie"),
    ("root", "root@localhost"),
    ("Анна Иванова", "anna@example.ru"),
)
_PGP_SIGNATURE = (
    "-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJnEmuLCRC1aQ7uu5UhlAAAdHIIAK2gEmUlAtor+Gq0ZwnmX0fE\n"
    "=emul\n-----END PGP SIGNATURE-----\n"
)

# (weight, top directory template, extensions); "{pkg}", "{name}", "{Name}" are filled in
_FILE_LAYOUTS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (28, "src/{pkg}/{name}", (".py", ".py", ".py", ".pyi")),
    (8, "web/src/components/{Name}", (".ts", ".tsx", ".ts", ".css")),
    (14, "tests/{pkg}/test_{name}", (".py",)),
    (8, "docs/{pkg}/{name}", (".md", ".md", ".rst")),
    (7, "internal/{pkg}/{name}", (".go", ".go", "_test.go")),
    (4, ".github/workflows/{name}", (".yml", ".yaml")),
    (4, "config/{name}", (".yaml", ".toml", ".json")),
    (3, "scripts/{name}", (".sh", ".py")),
    (2, "assets/img/{name}", (".png", ".svg")),
    (2, "docs/i18n/{name}", (".md",)),
)
_TOP_LEVEL_FILES = ("README.md", "pyproject.toml", "package.json", "go.mod", "Makefile", "CHANGELOG.md", "uv.lock")
_PKGS = ("core", "client", "pagination", "storage", "api", "cli", "models", "auth", "sync", "ui", "util_io", "marts")
_NAMES = (
    "client", "pages", "retry", "rate_limit", "schema", "models", "views", "config", "cache", "errors", "handlers",
    "parser", "writer", "reader", "sensors", "checks", "settings", "routes", "tokens", "session", "metrics",
)
_I18N_NAMES = ("はじめに", "übersetzung", "guía rápida", "常见问题", "façade")
_BINARY_EXTENSIONS = (".png",)
_FILE_STATUS_CDF = (
    ("modified", 0.70), ("added", 0.85), ("removed", 0.92), ("renamed", 0.97), ("copied", 0.98), ("changed", 0.99),
    ("unchanged", 1.0),
)
_REVIEW_STATE_CDF = (("APPROVED", 0.42), ("COMMENTED", 0.80), ("CHANGES_REQUESTED", 0.95), ("DISMISSED", 1.0))
_REVIEW_COUNT_CDF = ((0, 0.30), (1, 0.58), (2, 0.78), (3, 0.88), (4, 0.94), (5, 0.97), (6, 0.99), (8, 1.0))
_LAYOUT_TOTAL = sum(w for w, _, _ in _FILE_LAYOUTS)


def _sha(*parts: object) -> str:
    """A deterministic 40-hex git-like object name."""
    return hashlib.sha1(":".join(str(p) for p in parts).encode()).hexdigest()


def _node_id(prefix: str, *values: int) -> str:
    raw = b"".join(v.to_bytes(8, "big") for v in values)
    return prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _from_cdf(x: float, cdf: tuple[tuple[Any, float], ...]) -> Any:
    for value, threshold in cdf:
        if x < threshold:
            return value
    return cdf[-1][0]


def _association(x: float) -> str:
    return _from_cdf(x, _ASSOCIATION_CDF)


class _LRU:
    """Bounded cache of serialized values; ``weight`` counts items so long lists evict more."""

    def __init__(self, max_weight: int) -> None:
        self.max_weight = max_weight
        self.weight = 0
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        hit = self._data.get(key)
        if hit is None:
            return None
        self._data.move_to_end(key)
        return hit[0]

    def put(self, key: Hashable, value: Any, weight: int = 1) -> None:
        old = self._data.pop(key, None)
        if old is not None:
            self.weight -= old[1]
        self._data[key] = (value, weight)
        self.weight += weight
        while self.weight > self.max_weight and len(self._data) > 1:
            _, (_, w) = self._data.popitem(last=False)
            self.weight -= w

    def drop(self, key: Hashable) -> None:
        old = self._data.pop(key, None)
        if old is not None:
            self.weight -= old[1]


class CommentIndex:
    """Timestamps of every issue comment of one repository, in flat arrays, plus the two orderings.

    Position ``p`` identifies a comment; keys are ``timestamp << 32 | p`` so ties fall back to the
    comment's position (issue number, then order within the issue: the id order).
    """

    __slots__ = ("numbers", "seqs", "created", "updated", "by_created", "by_updated", "next_seq", "version", "since_cache")

    def __init__(self) -> None:
        self.numbers = array("q")
        self.seqs = array("q")
        self.created = array("q")
        self.updated = array("q")
        self.by_created: list[int] = []
        self.by_updated: list[int] = []
        self.next_seq: dict[int, int] = {}
        self.version = 0
        self.since_cache: OrderedDict[int, list[int]] = OrderedDict()

    def append(self, number: int, created: int, updated: int) -> int:
        p = len(self.numbers)
        seq = self.next_seq.get(number, 0)
        self.next_seq[number] = seq + 1
        self.numbers.append(number)
        self.seqs.append(seq)
        self.created.append(created)
        self.updated.append(updated)
        return p

    def finish(self) -> None:
        self.by_created = sorted((c << _NUMBER_BITS) | p for p, c in enumerate(self.created))
        self.by_updated = sorted((u << _NUMBER_BITS) | p for p, u in enumerate(self.updated))

    def add(self, number: int, ts: int, count: int) -> None:
        """Comments made by a mutation at ``ts`` (newer than everything else, so they append)."""
        for _ in range(count):
            p = self.append(number, ts, ts)
            for keys in (self.by_created, self.by_updated):
                k = (ts << _NUMBER_BITS) | p
                if not keys or keys[-1] < k:
                    keys.append(k)
                else:
                    bisect.insort(keys, k)
        self.version += 1
        self.since_cache.clear()

    def view(self, sort: str, since: float | None) -> tuple[list[int], int, int]:
        keys = self.by_updated if sort == "updated" else self.by_created
        if since is None:
            return keys, 0, len(keys)
        since_int = math.ceil(since)
        if sort == "updated":
            return keys, bisect.bisect_left(keys, since_int << _NUMBER_BITS), len(keys)
        cached = self.since_cache.get(since_int)
        if cached is None:
            upd = self.updated
            cached = [k for k in keys if upd[k & _NUMBER_MASK] >= since_int]
            self.since_cache[since_int] = cached
            if len(self.since_cache) > 16:
                self.since_cache.popitem(last=False)
        return cached, 0, len(cached)


class Entities:
    """Generation and serving of the non-issue entities for one :class:`DataStore` (its lock held)."""

    def __init__(self, store: DataStore) -> None:
        self.store = store
        self.seed = store.seed
        self.users = store.users
        self.user_frags = store.user_frags
        self.web_flow = orjson.Fragment(orjson.dumps(store._user("web-flow", 19864447, "User")))
        self._repo_bytes: dict[int, tuple[int, bytes]] = {}
        self._fork_bytes: dict[tuple[int, str], bytes] = {}
        # bounded caches (regenerating is deterministic): ~5 KB per pull request, 1-3 KB per other item
        self._prs = _LRU(20_000)  # (repo index, number) -> serialized pull request pieces
        self._lists = _LRU(50_000)  # (kind, repo index, number) -> [review or file bytes]
        self._comments = _LRU(50_000)  # (repo index, number, seq) -> comment bytes
        self._commits = _LRU(20_000)  # (repo index, position) -> commit bytes
        self._login_index = {u["login"]: i for i, u in enumerate(self.users)}

    # -- repositories ----------------------------------------------------------

    def _minimal_repo(
        self,
        *,
        rid: int,
        owner: dict[str, Any],
        full_name: str,
        fork: bool,
        archived: bool,
        created: int,
        updated: int,
        pushed: int,
        open_issues: int,
        seed_int: int,
    ) -> dict[str, Any]:
        name = full_name.split("/", 1)[1]
        api = f"{self.store.api_base}/repos/{full_name}"
        html = f"https://github.com/{full_name}"
        return {
            "id": rid,
            "node_id": "R_kgDO" + base64.urlsafe_b64encode(rid.to_bytes(6, "big")).decode().rstrip("="),
            "name": name,
            "full_name": full_name,
            "private": False,
            "owner": owner,
            "html_url": html,
            "description": f"Emulated repository {full_name} ✨" if not fork else f"Fork of {name} 🍴",
            "fork": fork,
            "url": api,
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{api}/assignees{{/user}}",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "comments_url": f"{api}/comments{{/number}}",
            "commits_url": f"{api}/commits{{/sha}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "contributors_url": f"{api}/contributors",
            "deployments_url": f"{api}/deployments",
            "downloads_url": f"{api}/downloads",
            "events_url": f"{api}/events",
            "forks_url": f"{api}/forks",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_url": f"git://github.com/{full_name}.git",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "issues_url": f"{api}/issues{{/number}}",
            "keys_url": f"{api}/keys{{/key_id}}",
            "labels_url": f"{api}/labels{{/name}}",
            "languages_url": f"{api}/languages",
            "merges_url": f"{api}/merges",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "releases_url": f"{api}/releases{{/id}}",
            "ssh_url": f"git@github.com:{full_name}.git",
            "stargazers_url": f"{api}/stargazers",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "tags_url": f"{api}/tags",
            "teams_url": f"{api}/teams",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "clone_url": f"{html}.git",
            "mirror_url": None,
            "hooks_url": f"{api}/hooks",
            "svn_url": html,
            "homepage": None,
            "language": "Python",
            "forks_count": seed_int % 500,
            "stargazers_count": seed_int % 5000,
            "watchers_count": seed_int % 5000,
            "size": seed_int % 100_000,
            "default_branch": "main",
            "open_issues_count": open_issues,
            "is_template": False,
            "topics": ["emulated", "github"],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": archived,
            "disabled": False,
            "visibility": "public",
            "pushed_at": format_ts(pushed),
            "created_at": format_ts(created),
            "updated_at": format_ts(updated),
            "permissions": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
            "license": None,
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "forks": seed_int % 500,
            "open_issues": open_issues,
            "watchers": seed_int % 5000,
        }

    def repo_bytes(self, repo: RepoData) -> bytes:
        """The minimal-repository object of ``repo`` as served now (rebuilt when the repository changes)."""
        hit = self._repo_bytes.get(repo.index)
        if hit is not None and hit[0] == repo.version:
            return hit[1]
        cfg = self.store.config
        doc = self._minimal_repo(
            rid=repo.id,
            owner=self.store.owner_object(repo.owner),
            full_name=repo.full_name,
            fork=repo.full_name in cfg.fork_repos,
            archived=repo.full_name in cfg.archived_repos,
            created=repo.created_at,
            updated=repo.max_updated,
            pushed=repo.max_updated,
            open_issues=len(repo.ordered["created"]["open"]),
            seed_int=repo.seed_int,
        )
        raw = _dump(doc)
        self._repo_bytes[repo.index] = (repo.version, raw)
        return raw

    def _fork_repo_bytes(self, repo: RepoData, user: dict[str, Any]) -> bytes:
        key = (repo.index, user["login"])
        raw = self._fork_bytes.get(key)
        if raw is None:
            full_name = f"{user['login']}/{repo.name}"
            seed_int = _stable_int("fork", self.seed, full_name)
            created = repo.created_at + 86400 * (1 + seed_int % 700)
            doc = self._minimal_repo(
                rid=800_000_000 + seed_int % 100_000_000,
                owner=user,
                full_name=full_name,
                fork=True,
                archived=False,
                created=created,
                updated=max(created, self.store.start_ts),
                pushed=max(created, self.store.start_ts),
                open_issues=0,
                seed_int=seed_int // 7,
            )
            raw = self._fork_bytes[key] = _dump(doc)
        return raw

    def org_exists(self, org: str) -> bool:
        low = org.lower()
        return any(name.split("/", 1)[0].lower() == low for name in self.store.repo_names)

    def org_id(self, org: str) -> int:
        owner = next(n.split("/", 1)[0] for n in self.store.repo_names if n.split("/", 1)[0].lower() == org.lower())
        return int(self.store.owner_object(owner)["id"])

    def org_by_id(self, org_id: int) -> str | None:
        for name in self.store.repo_names:
            owner = name.split("/", 1)[0]
            if self.store.owner_object(owner)["id"] == org_id:
                return owner
        return None

    def org_repos(self, org: str, kind: str = "all", sort: str = "created", direction: str | None = None) -> list[bytes]:
        """Serialized minimal repositories of ``org`` filtered by ``kind`` and ordered as GitHub does."""
        cfg = self.store.config
        low = org.lower()
        repos = []
        for name in self.store.repo_names:
            if name.split("/", 1)[0].lower() != low:
                continue
            is_fork = name in cfg.fork_repos
            if kind == "private" or (kind == "forks" and not is_fork) or (kind == "sources" and is_fork):
                continue
            repo = self.store.repo(name)
            assert repo is not None
            repos.append(repo)
        if direction is None:
            direction = "asc" if sort == "full_name" else "desc"
        if sort == "full_name":
            repos.sort(key=lambda r: (r.full_name.lower(), r.index))
        elif sort in ("updated", "pushed"):
            repos.sort(key=lambda r: (r.max_updated, r.id))
        else:
            repos.sort(key=lambda r: (r.created_at, r.id))
        if direction == "desc":
            repos.reverse()
        return [self.repo_bytes(r) for r in repos]

    # -- pull requests -----------------------------------------------------------

    def pr_id(self, repo: RepoData, number: int) -> int:
        return _PR_ID_BASE + repo.index * 1_000_000_000 + number * 16 + (repo.entity_seed ^ number) % 16

    def head_sha(self, repo: RepoData, number: int) -> str:
        return _sha("head", self.seed, repo.full_name, number)

    def pr_view(self, repo: RepoData, state: str, sort: str) -> list[int]:
        """Ascending issue keys (``value << 32 | number``) of the pull requests only (cached until a mutation)."""
        order = {"updated": "updated", "popularity": "comments"}.get(sort, "created")
        cached = repo.pr_views.get((state, order))
        if cached is None:
            recs = repo.records
            deleted = repo.deleted_pulls
            cached = [
                k
                for k in repo.ordered[order][state]
                if recs[(k & _NUMBER_MASK) - 1].is_pr and (k & _NUMBER_MASK) not in deleted
            ]
            repo.pr_views[(state, order)] = cached
        return cached

    def _pr_parts(self, repo: RepoData, rec: IssueRecord) -> tuple[bytes, bytes, bytes, bytes | None]:
        key = (repo.index, rec.number)
        parts = self._prs.get(key)
        if parts is None:
            parts = self._build_pr(repo, rec)
            self._prs.put(key, parts)
        return parts

    def make_big(self, repo: RepoData, number: int, files: int, reviews: int) -> None:
        """Serve pull request ``number`` with ``files`` changed files and ``reviews`` reviews from now on."""
        repo.big_pulls[number] = (files, reviews)
        self._lists.drop(("reviews", repo.index, number))
        self._lists.drop(("files", repo.index, number))

    def forget_pr(self, repo: RepoData, number: int) -> None:
        """Drop the cached pull request ``number`` (its issue was mutated)."""
        self._prs.drop((repo.index, number))

    def pr_raw(self, repo: RepoData, rec: IssueRecord) -> bytes:
        p0, p1, p2, head = self._pr_parts(repo, rec)
        base = self.repo_bytes(repo)
        return b"".join((p0, base if head is None else head, p1, base, p2))

    def pr_raws(self, repo: RepoData, keys: list[int]) -> list[bytes]:
        recs = repo.records
        return [self.pr_raw(repo, recs[(k & _NUMBER_MASK) - 1]) for k in keys]

    def _build_pr(self, repo: RepoData, rec: IssueRecord) -> tuple[bytes, bytes, bytes, bytes | None]:
        """Serialize one pull request as pieces around its ``head.repo`` and ``base.repo``.

        The issue fields are copied from the issue document as currently served; the rest comes
        from the pull request's own draws. ``head`` of the pieces is None for a same-repository
        branch (the base repository is spliced in), the fork's bytes, or ``b"null"`` (deleted fork).
        """
        number = rec.number
        issue = orjson.loads(self.store.raw(repo, rec))
        rng = _Draws(repo.entity_seed ^ _PR_SALT, number)
        rand = rng.random
        api = repo.api_url
        html = repo.html_url
        pr_api = f"{api}/pulls/{number}"
        head_sha = self.head_sha(repo, number)
        user = issue["user"]
        login = user["login"] if user else None
        owner = self.store.owner_object(repo.owner)

        if login in _BOTS and login != "codecov[bot]":
            ref = _pick(rng, _BOT_BRANCHES)
        else:
            ref = f"{_pick(rng, _BRANCH_PREFIXES)}/{_pick(rng, _BRANCH_TOPICS)}-{number}"
        x = rand()
        head_repo: bytes | None = None
        head_user: dict[str, Any] = owner
        if user is not None and x < 0.15:
            head_user = user
            head_repo = b"null" if x < 0.03 else self._fork_repo_bytes(repo, user)
        merged = issue["pull_request"]["merged_at"] is not None
        if merged:
            merge_sha: str | None = _sha("merge", self.seed, repo.full_name, number)
        elif issue["state"] == "open" and rand() < 0.8:
            merge_sha = _sha("test-merge", self.seed, repo.full_name, number)
        else:
            merge_sha = None
        reviewers: list[Any] = []
        if issue["state"] == "open":  # requests are cleared once a pull request is closed
            author = self._login_index.get(login) if login is not None else None
            candidates = [u for i, u in enumerate(self.user_frags[: -len(_BOTS)]) if i != author]
            reviewers = rng.sample(candidates, (0, 0, 1, 1, 2)[int(rand() * 5)])

        doc: dict[str, Any] = {
            "url": pr_api,
            "id": self.pr_id(repo, number),
            "node_id": _node_id("PR_kwDO", repo.id, number),
            "html_url": f"{html}/pull/{number}",
            "diff_url": f"{html}/pull/{number}.diff",
            "patch_url": f"{html}/pull/{number}.patch",
            "issue_url": f"{api}/issues/{number}",
            "commits_url": f"{pr_api}/commits",
            "review_comments_url": f"{pr_api}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{number}/comments",
            "statuses_url": f"{api}/statuses/{head_sha}",
            "number": number,
            "state": issue["state"],
            "locked": issue["locked"],
            "title": issue["title"],
            "user": user,
            "body": issue["body"],
            "labels": issue["labels"],
            "milestone": issue["milestone"],
            "active_lock_reason": issue["active_lock_reason"],
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": issue["closed_at"],
            "merged_at": issue["pull_request"]["merged_at"],
            "merge_commit_sha": merge_sha,
            "assignee": issue["assignee"],
            "assignees": issue["assignees"],
            "requested_reviewers": reviewers,
            "requested_teams": [],
            "head": {
                "label": f"{head_user['login']}:{ref}",
                "ref": ref,
                "sha": head_sha,
                "user": head_user,
                "repo": _HEAD_MARK.decode()[1:-1],
            },
            "base": {
                "label": f"{owner['login']}:main",
                "ref": "main",
                "sha": _sha("base", self.seed, repo.full_name, number),
                "user": owner,
                "repo": _BASE_MARK.decode()[1:-1],
            },
            "_links": {
                "self": {"href": pr_api},
                "html": {"href": f"{html}/pull/{number}"},
                "issue": {"href": f"{api}/issues/{number}"},
                "comments": {"href": f"{api}/issues/{number}/comments"},
                "review_comments": {"href": f"{pr_api}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{pr_api}/commits"},
                "statuses": {"href": f"{api}/statuses/{head_sha}"},
            },
            "author_association": issue["author_association"],
            "auto_merge": None,
            "draft": bool(issue.get("draft", False)),
        }
        raw = _dump(doc)
        p0, _, rest = raw.partition(_HEAD_MARK)
        p1, _, p2 = rest.partition(_BASE_MARK)
        return (p0, p1, p2, head_repo)

    def _pr_bounds(self, repo: RepoData, rec: IssueRecord) -> tuple[int, int]:
        """``created``, ``updated`` of a pull request as first generated (mutations only move updated later)."""
        return rec.created, repo.orig_updated.get(rec.number, rec.updated)

    # -- reviews -------------------------------------------------------------------

    def reviews(self, repo: RepoData, rec: IssueRecord) -> list[bytes]:
        """Serialized reviews of one pull request, in chronological order."""
        key = ("reviews", repo.index, rec.number)
        hit = self._lists.get(key)
        if hit is None:
            hit = self._build_reviews(repo, rec)
            self._lists.put(key, hit, max(1, len(hit)))
        return hit

    def _build_reviews(self, repo: RepoData, rec: IssueRecord) -> list[bytes]:
        number = rec.number
        rng = _Draws(repo.entity_seed ^ _REVIEW_SALT, number)
        rand = rng.random
        many = rand() < self.store.config.many_reviews_fraction
        count = 101 + int(rand() * 150) if many else _from_cdf(rand(), _REVIEW_COUNT_CDF)
        forced = repo.big_pulls.get(number)
        if forced is not None:
            count = forced[1]  # the draws above are still consumed, so the rest stays as seeded
        c0, u0 = self._pr_bounds(repo, rec)
        times = sorted(c0 + int(rand() * (u0 - c0 + 1)) for _ in range(count))
        users = self.user_frags
        n_people = len(users) - len(_BOTS)
        head_sha = self.head_sha(repo, number)
        pr_api = f"{repo.api_url}/pulls/{number}"
        out = []
        for j, ts in enumerate(times):
            rid = _REVIEW_ID_BASE + repo.index * 10_000_000_000 + number * 4096 + j
            state = _from_cdf(rand(), _REVIEW_STATE_CDF)
            user = None if rand() < 0.02 else users[int(rand() * n_people)]
            if state == "APPROVED":
                body = "" if rand() < 0.7 else _pick(rng, _REVIEW_BODIES)
            elif state == "COMMENTED":
                body = "" if rand() < 0.4 else _pick(rng, _REVIEW_BODIES)
            else:
                body = _pick(rng, _REVIEW_BODIES)
            html = f"{repo.html_url}/pull/{number}#pullrequestreview-{rid}"
            doc = {
                "id": rid,
                "node_id": _node_id("PRR_kwDO", repo.id, rid),
                "user": user,
                "body": body,
                "state": state,
                "html_url": html,
                "pull_request_url": pr_api,
                "_links": {"html": {"href": html}, "pull_request": {"href": pr_api}},
                "submitted_at": format_ts(ts),
                "commit_id": head_sha if j >= count // 2 else _sha("review-commit", self.seed, repo.full_name, number, j),
                "author_association": _association(rand()),
            }
            out.append(_dump(doc))
        return out

    # -- files ---------------------------------------------------------------------------

    def files(self, repo: RepoData, rec: IssueRecord) -> list[bytes]:
        """Serialized changed files of one pull request, ordered by filename (at most 3000)."""
        key = ("files", repo.index, rec.number)
        hit = self._lists.get(key)
        if hit is None:
            hit = self._build_files(repo, rec)
            self._lists.put(key, hit, max(1, len(hit)))
        return hit

    def _path(self, rng: _Draws) -> str:
        rand = rng.random
        if rand() < 0.05:
            return _pick(rng, _TOP_LEVEL_FILES)
        x = rand() * _LAYOUT_TOTAL
        for weight, template, exts in _FILE_LAYOUTS:
            if x < weight:
                break
            x -= weight
        name = _pick(rng, _I18N_NAMES) if template.startswith("docs/i18n") else _pick(rng, _NAMES)
        path = template.format(pkg=_pick(rng, _PKGS), name=name, Name=name.title().replace("_", ""))
        return path + _pick(rng, exts)

    def _build_files(self, repo: RepoData, rec: IssueRecord) -> list[bytes]:
        number = rec.number
        rng = _Draws(repo.entity_seed ^ _FILE_SALT, number)
        rand = rng.random
        many = rand() < self.store.config.many_files_fraction
        if many:
            count = min(MAX_FILES, 101 + int(rand() * 400) if rand() < 0.9 else 500 + int(rand() * 3000))
        else:
            count = min(20, 1 + int(-4.0 * math.log(1.0 - rand() * 0.999)))
        forced = repo.big_pulls.get(number)
        if forced is not None:
            count = min(MAX_FILES, forced[0])
        paths: set[str] = set()
        entries: list[tuple[str, str, str | None]] = []
        for i in range(count):
            path = self._path(rng)
            if path in paths:
                stem, dot, ext = path.rpartition(".")
                path = f"{stem}_{i}.{ext}" if dot and "/" not in ext else f"{path}_{i}"
            paths.add(path)
            status = _from_cdf(rand(), _FILE_STATUS_CDF)
            previous = None
            if status == "renamed":
                previous = path.replace("/", "/old_", 1) if "/" in path else "old_" + path
            entries.append((path, status, previous))
        entries.sort()
        head_sha = self.head_sha(repo, number)
        html = repo.html_url
        api = repo.api_url
        out = []
        for i, (path, status, previous) in enumerate(entries):
            size = int(-30.0 * math.log(1.0 - rand() * 0.9999))
            if status == "added":
                additions, deletions = 1 + size, 0
            elif status == "removed":
                additions, deletions = 0, 1 + size
            elif status in ("renamed", "copied", "unchanged"):
                additions, deletions = (0, 0) if rand() < 0.6 or status == "unchanged" else (size // 2, size // 3)
            else:
                additions = int(size * rand()) + (1 if rand() < 0.8 else 0)
                deletions = int(size * rand())
            quoted = quote(path)
            doc: dict[str, Any] = {
                "sha": _sha("blob", self.seed, repo.full_name, number, i),
                "filename": path,
                "status": status,
                "additions": additions,
                "deletions": deletions,
                "changes": additions + deletions,
                "blob_url": f"{html}/blob/{head_sha}/{quoted}",
                "raw_url": f"{html}/raw/{head_sha}/{quoted}",
                "contents_url": f"{api}/contents/{quoted}?ref={head_sha}",
            }
            binary = path.endswith(_BINARY_EXTENSIONS)
            if not binary and 0 < additions + deletions <= 2000:
                lines = [f"@@ -{1 + size},{deletions + 3} +{1 + size},{additions + 3} @@ def {path.rsplit('/', 1)[-1]}():"]
                lines += [" context line"] + [f"-removed line {k} ✂" for k in range(min(deletions, 3))]
                lines += [f"+added line {k} — ünïcödé" for k in range(min(additions, 3))]
                doc["patch"] = "\n".join(lines)
            if previous is not None:
                doc["previous_filename"] = previous
            out.append(_dump(doc))
        return out

    # -- issue comments ------------------------------------------------------------

    def comment_index(self, repo: RepoData) -> CommentIndex:
        """Build (once) the timestamps of every comment: each issue serves exactly ``comments`` of them.

        The generated comments of an issue fall within its ``created_at`` and its ``updated_at``
        before any mutation; comments added by a mutation carry that mutation's timestamp.
        """
        index = repo.comment_index
        if index is not None:
            return index
        index = CommentIndex()
        rng = random.Random(f"emulator-comments:{self.seed}:{repo.full_name}")
        rand = rng.random
        log = repo.comment_log
        for rec in repo.records:
            number = rec.number
            added = log.get(number, ())
            generated = rec.comments - sum(k for _, k in added)
            if generated > 0:
                c0 = rec.created
                u0 = repo.orig_updated.get(number, rec.updated)
                span = u0 - c0 + 1
                for c in sorted(c0 + int(rand() * span) for _ in range(generated)):
                    u = c if rand() < 0.8 else c + int(rand() * (u0 - c + 1))
                    index.append(number, c, u)
            for ts, k in added:
                for _ in range(k):
                    index.append(number, ts, ts)
        index.finish()
        repo.comment_index = index
        return index

    def comment_raws(self, repo: RepoData, positions: list[int]) -> list[bytes]:
        index = self.comment_index(repo)
        out = []
        for p in positions:
            number, seq = index.numbers[p], index.seqs[p]
            key = (repo.index, number, seq)
            raw = self._comments.get(key)
            if raw is None:
                raw = self._build_comment(repo, number, seq, index.created[p], index.updated[p])
                self._comments.put(key, raw)
            out.append(raw)
        return out

    def _build_comment(self, repo: RepoData, number: int, seq: int, created: int, updated: int) -> bytes:
        rng = _Draws(repo.entity_seed ^ _COMMENT_SALT, (number << 20) | seq)
        rand = rng.random
        cid = _COMMENT_ID_BASE + repo.index * 100_000_000_000 + number * 65536 + seq
        rec = repo.records[number - 1]
        api = repo.api_url
        users = self.user_frags
        user = None if rand() < 0.03 else users[int(rand() * len(users))]
        if rand() < 0.25:
            counts = [(1 + int(rand() * 12)) if rand() < 0.3 else 0 for _ in range(8)]
        else:
            counts = [0] * 8
        url = f"{api}/issues/comments/{cid}"
        reactions: dict[str, Any] = {"url": f"{url}/reactions", "total_count": sum(counts)}
        reactions.update(zip(_REACTION_NAMES, counts))
        r = rand()
        if r < 0.6:
            body = _pick(rng, _BODY_SENTENCES)
        elif r < 0.9:
            body = " ".join(_pick(rng, _BODY_SENTENCES) for _ in range(2 + int(rand() * 4)))
        else:
            body = "> " + _pick(rng, _BODY_SENTENCES) + "\r\n\r\n" + _pick(rng, _REVIEW_BODIES)
        doc = {
            "id": cid,
            "node_id": _node_id("IC_kwDO", repo.id, cid),
            "url": url,
            "html_url": f"{repo.html_url}/{'pull' if rec.is_pr else 'issues'}/{number}#issuecomment-{cid}",
            "body": body,
            "user": user,
            "created_at": format_ts(created),
            "updated_at": format_ts(updated),
            "issue_url": f"{api}/issues/{number}",
            "author_association": _association(rand()),
            "reactions": reactions,
            "performed_via_github_app": None,
        }
        return _dump(doc)

    # -- commits -------------------------------------------------------------------

    def commit_dates(self, repo: RepoData) -> list[int]:
        """Ascending committer dates of the repository's commits (position 0 is the oldest)."""
        dates = repo.commit_dates
        if dates is None:
            rng = random.Random(f"emulator-commits:{self.seed}:{repo.full_name}")
            start, end = self.store.start_ts, self.store.end_ts
            span = end - start
            dates = repo.commit_dates = sorted(start + int(rng.random() * span) for _ in range(self.store.config.commits_count))
        return dates

    def commit_sha(self, repo: RepoData, position: int) -> str:
        return _sha("commit", self.seed, repo.full_name, position)

    def commit_raws(self, repo: RepoData, positions: list[int]) -> list[bytes]:
        out = []
        for p in positions:
            key = (repo.index, p)
            raw = self._commits.get(key)
            if raw is None:
                raw = self._build_commit(repo, p)
                self._commits.put(key, raw)
            out.append(raw)
        return out

    def _build_commit(self, repo: RepoData, position: int) -> bytes:
        rng = _Draws(repo.entity_seed ^ _COMMIT_SALT, position)
        rand = rng.random
        date = self.commit_dates(repo)[position]
        sha = self.commit_sha(repo, position)
        api = repo.api_url
        html = repo.html_url
        n_people = len(self.users) - len(_BOTS)
        linked = rand() >= 0.10
        idx = int(rand() * n_people)
        person = self.users[idx]
        if linked:
            name = person["login"] if rand() < 0.5 else person["login"].replace("-", " ").title()
            email = f"{person['id']}+{person['login']}@users.noreply.github.com"
        else:
            name, email = _pick(rng, _UNLINKED_AUTHORS)
        author_date = date - int(rand() * 3 * 86400) if rand() < 0.3 else date
        web = rand() < 0.4
        merge = rand() < 0.1
        subject = _pick(rng, _COMMIT_SUBJECTS)
        message = subject if rand() < 0.6 else subject + "\n\n" + _pick(rng, _BODY_SENTENCES)
        parent_shas = [self.commit_sha(repo, position - 1) if position > 0 else _sha("root", self.seed, repo.full_name)]
        if merge:
            parent_shas.append(_sha("branch", self.seed, repo.full_name, position))
            message = f"Merge branch 'main' into {_pick(rng, _BRANCH_PREFIXES)}/{_pick(rng, _BRANCH_TOPICS)}"
        tree = _sha("tree", self.seed, repo.full_name, position)
        author_obj = {"name": name, "email": email, "date": format_ts(author_date)}
        if web:
            committer_obj = {"name": "GitHub", "email": "noreply@github.com", "date": format_ts(date)}
            verification = {
                "verified": True,
                "reason": "valid",
                "signature": _PGP_SIGNATURE,
                "payload": f"tree {tree}\nparent {parent_shas[0]}\nauthor {name} <{email}>\n\n{message}\n",
                "verified_at": format_ts(date),
            }
        else:
            committer_obj = {"name": name, "email": email, "date": format_ts(date)}
            verification = {"verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None}
        user = self.user_frags[idx] if linked else None
        doc = {
            "url": f"{api}/commits/{sha}",
            "sha": sha,
            "node_id": "C_kwDO" + base64.urlsafe_b64encode(repo.id.to_bytes(6, "big") + bytes.fromhex(sha)).decode().rstrip("="),
            "html_url": f"{html}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": author_obj,
                "committer": committer_obj,
                "message": message,
                "tree": {"url": f"{api}/git/trees/{tree}", "sha": tree},
                "comment_count": 0 if rand() < 0.95 else 1 + int(rand() * 3),
                "verification": verification,
            },
            "author": user,
            "committer": self.web_flow if web else user,
            "parents": [{"url": f"{api}/commits/{p}", "sha": p, "html_url": f"{html}/commit/{p}"} for p in parent_shas],
        }
        return _dump(doc)
