"""Deterministic, seeded data for the GitHub REST API emulator.

Everything here is pure Python plus orjson: the configuration dataclass, the
generated users/labels/milestones/issues and the in-memory store with the
pre-sorted orderings used to serve pages quickly.

Issue *metadata* (timestamps, state, comment counts, pull-request flag) is
generated eagerly per repository with one seeded RNG the first time the
repository is touched. The full GitHub-shaped issue object is generated lazily
from a per-issue RNG and its serialized JSON bytes are cached, so pages are
built by joining cached byte strings.

Optional data-quality faults (``bad_data``, ``drift_day``) are decided per
repository with their own seeded RNGs: timestamps and states are adjusted
before the orderings are built, and the defects are overlaid on each issue
document when it is generated or mutated.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import math
import random
import re
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Protocol
from urllib.parse import quote

import orjson

__all__ = [
    "AUTHOR_ASSOCIATIONS",
    "BAD_DATA_KINDS",
    "FAULT_KINDS",
    "SORTS",
    "STATES",
    "DataStore",
    "EmulatorConfig",
    "RepoData",
    "format_ts",
    "parse_bad_data",
    "parse_ts",
]

FAULT_KINDS: tuple[str, ...] = ("500", "502", "503", "504", "reset", "truncated", "slow", "secondary")
AUTHOR_ASSOCIATIONS: tuple[str, ...] = (
    "COLLABORATOR",
    "CONTRIBUTOR",
    "FIRST_TIMER",
    "FIRST_TIME_CONTRIBUTOR",
    "MANNEQUIN",
    "MEMBER",
    "NONE",
    "OWNER",
)
BAD_DATA_KINDS: tuple[str, ...] = (
    "wrong_type",
    "null_title",
    "duplicate_id",
    "closed_before_created",
    "unknown_enum",
    "negative_count",
)
SORTS: tuple[str, ...] = ("created", "updated", "comments")
STATES: tuple[str, ...] = ("all", "open", "closed")

_NUMBER_BITS = 32
_NUMBER_MASK = (1 << _NUMBER_BITS) - 1
_REPO_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WRONG_TYPE_COMMENTS = "many"
_NEGATIVE_COMMENTS = -3
_UNKNOWN_ASSOCIATION = "ALIEN"


# ---------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EmulatorConfig:
    """Configuration of one emulator instance.

    ``repos`` is either a tuple of ``"owner/name"`` strings or an int ``n``
    meaning ``("emulated-org/repo-000", ..., f"emulated-org/repo-{n-1:03d}")``.
    ``tokens=None`` accepts any token (and no token); a tuple restricts the
    valid tokens (others get 401). ``clock`` is used for rate-limit windows
    only, so tests can move time forward without sleeping.

    Data-quality faults (all deterministic per seed; the defaults change nothing):

    * ``bad_data``: ``(kind, count)`` pairs, kinds from :data:`BAD_DATA_KINDS`
      (a mapping or a ``"kind=count,kind=count"`` string is accepted too).
      In every repository ``count`` issues, disjoint across kinds, are served
      with that defect by the list and search endpoints and by
      ``Emulator.issues()``: ``wrong_type`` (``"comments": "many"``),
      ``null_title`` (``"title": null``), ``duplicate_id`` (the ``id`` of
      another, non-defective issue of the same repository),
      ``closed_before_created`` (``state`` "closed", ``closed_at`` one day
      before ``created_at``), ``unknown_enum`` (``"author_association":
      "ALIEN"``), ``negative_count`` (``"comments": -3``). Defects survive
      ``mutate()``.
    * ``bad_data_day`` (``YYYY-MM-DD`` inside the generated window): the
      defective issues are those updated on that UTC day; when fewer exist,
      further issues created by the end of that day get an ``updated_at`` on
      it (``created_at <= updated_at``, ``closed_at <= updated_at`` kept).
    * ``drift_day`` (``YYYY-MM-DD`` inside the window) with ``drift_factor``:
      issues are moved onto (or, for a factor below 1, off) that day until it
      holds ``drift_factor`` times the mean daily count of the other days of
      the window, and every issue updated on it is served open with no
      labels. Moved issues keep ``created_at <= updated_at`` and
      ``closed_at <= updated_at``. Only issues created by the end of the day
      can be moved onto it, so an early day may fall short of the target.

    Further entities (see :mod:`gh_assets.emulator.entities`), generated lazily per repository
    with their own seeded RNGs so the issue documents above never change:

    * ``commits_per_repo``: commits spread over the window (``None``: ``issues_per_repo // 2``).
    * ``many_reviews_fraction`` / ``many_files_fraction``: share of pull requests with more than
      100 reviews / changed files (so their pagination matters).
    * ``archived_repos`` / ``fork_repos``: repositories (each one of ``repos``) served as archived /
      as forks by ``GET /orgs/{org}/repos`` and ``GET /repos/{owner}/{repo}``.

    GraphQL (``POST /graphql``, see :mod:`gh_assets.emulator.graphql`):

    * ``graphql_rate_limit`` / ``graphql_reset_seconds``: the per-token ``graphql`` budget in points.
    * ``graphql_max_nodes``: a query whose estimated node count is above it gets a 502 (how GitHub
      times out on big batches; the points are still charged). ``None``: never.
    * ``graphql_fault_rate``: share of GraphQL requests given one of ``fault_kinds``
      (``None``: ``fault_rate``, the same as the REST list endpoints).
    """

    seed: int = 1
    repos: tuple[str, ...] | int = 1
    issues_per_repo: int = 2000
    start: str = "2025-01-01"
    days: int = 90
    tokens: tuple[str, ...] | None = None
    rate_limit: int = 5000
    rate_reset_seconds: float = 3600
    search_rate_limit: int = 30
    search_reset_seconds: float = 60
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    slow_seconds: float = 0.5
    secondary_retry_after: int = 1
    large_page_fail_above: int | None = None
    mutate_per_page: int = 0
    identical_updated_cluster: int = 0
    api_url: str | None = None
    bad_data: tuple[tuple[str, int], ...] = ()
    bad_data_day: str | None = None
    drift_day: str | None = None
    drift_factor: float = 1.0
    commits_per_repo: int | None = None
    many_reviews_fraction: float = 0.005
    many_files_fraction: float = 0.005
    archived_repos: tuple[str, ...] = ()
    fork_repos: tuple[str, ...] = ()
    graphql_rate_limit: int = 5000
    graphql_reset_seconds: float = 3600
    graphql_max_nodes: int | None = None
    graphql_fault_rate: float | None = None
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)

    def __post_init__(self) -> None:
        repos = self.repos
        if isinstance(repos, bool):
            raise TypeError("repos must be an int or a tuple of 'owner/name' strings")
        if isinstance(repos, int):
            if repos < 0:
                raise ValueError("repos must be >= 0")
            names: tuple[str, ...] = tuple(f"emulated-org/repo-{i:03d}" for i in range(repos))
        elif isinstance(repos, str):
            names = tuple(r.strip() for r in repos.split(",") if r.strip())
        else:
            names = tuple(str(r) for r in repos)
        for name in names:
            if not _REPO_NAME_RE.match(name):
                raise ValueError(f"invalid repository name {name!r}; expected 'owner/name'")
        if len({n.lower() for n in names}) != len(names):
            raise ValueError("repository names must be unique (case-insensitive)")
        object.__setattr__(self, "repos", names)

        if self.tokens is not None:
            toks = (self.tokens,) if isinstance(self.tokens, str) else tuple(self.tokens)
            object.__setattr__(self, "tokens", toks)
        kinds = (self.fault_kinds,) if isinstance(self.fault_kinds, str) else tuple(self.fault_kinds)
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if self.fault_rate > 0 and not kinds:
            raise ValueError("fault_rate > 0 needs at least one fault kind")
        object.__setattr__(self, "fault_kinds", kinds)
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be within [0, 1]")
        if self.issues_per_repo < 0:
            raise ValueError("issues_per_repo must be >= 0")
        if self.days <= 0:
            raise ValueError("days must be > 0")
        if self.graphql_max_nodes is not None and self.graphql_max_nodes < 0:
            raise ValueError("graphql_max_nodes must be >= 0 (or None: no limit)")
        if self.graphql_fault_rate is not None and not 0.0 <= self.graphql_fault_rate <= 1.0:
            raise ValueError("graphql_fault_rate must be within [0, 1] (or None: fault_rate)")
        if self.graphql_fault_rate and not kinds:
            raise ValueError("graphql_fault_rate > 0 needs at least one fault kind")
        if self.rate_limit < 0 or self.search_rate_limit < 0 or self.graphql_rate_limit < 0:
            raise ValueError("rate limits must be >= 0")
        start = self.start
        if isinstance(start, datetime):
            start = start.date().isoformat()
        elif isinstance(start, date):
            start = start.isoformat()
        object.__setattr__(self, "start", str(start))
        parse_ts(self.start)  # validates

        bad = _normalize_bad_data(self.bad_data)
        object.__setattr__(self, "bad_data", bad)
        needed = sum(c for _, c in bad) + sum(c for k, c in bad if k == "duplicate_id")
        if needed > self.issues_per_repo:
            raise ValueError(
                f"bad_data needs {needed} distinct issues per repository (duplicate_id counts twice) "
                f"but issues_per_repo is {self.issues_per_repo}"
            )
        object.__setattr__(self, "bad_data_day", self._window_day("bad_data_day", self.bad_data_day))
        object.__setattr__(self, "drift_day", self._window_day("drift_day", self.drift_day))
        factor = self.drift_factor
        if isinstance(factor, bool) or not isinstance(factor, (int, float)):
            raise TypeError("drift_factor must be a number")
        if not math.isfinite(factor) or factor < 0:
            raise ValueError("drift_factor must be a finite number >= 0")
        if self.drift_day is None and factor != 1.0:
            raise ValueError("drift_factor needs drift_day")
        object.__setattr__(self, "drift_factor", float(factor))

        if self.commits_per_repo is not None and (isinstance(self.commits_per_repo, bool) or self.commits_per_repo < 0):
            raise ValueError("commits_per_repo must be an int >= 0 (or None for issues_per_repo // 2)")
        for name in ("many_reviews_fraction", "many_files_fraction"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number within [0, 1], got {value!r}")
            object.__setattr__(self, name, float(value))
        canonical = {n.lower(): n for n in names}
        for name in ("archived_repos", "fork_repos"):
            value = getattr(self, name)
            listed = (value,) if isinstance(value, str) else tuple(value or ())
            picked: list[str] = []
            for item in listed:
                for part in str(item).split(","):
                    part = part.strip()
                    if not part:
                        continue
                    if part.lower() not in canonical:
                        raise ValueError(f"{name} entry {part!r} is not one of the emulated repositories")
                    picked.append(canonical[part.lower()])
            object.__setattr__(self, name, tuple(dict.fromkeys(picked)))

    def _window_day(self, name: str, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            value = value.isoformat()
        if not isinstance(value, str) or not _DAY_RE.match(value.strip()):
            raise ValueError(f"{name} must be a YYYY-MM-DD date, got {value!r}")
        day = value.strip()
        first = date.fromisoformat(self.start[:10])
        parsed = date.fromisoformat(day)
        offset = (parsed - first).days
        if not 0 <= offset < self.days:
            raise ValueError(f"{name} {day} is outside the generated window starting {first} ({self.days} days)")
        return day

    @property
    def repo_names(self) -> tuple[str, ...]:
        return self.repos  # type: ignore[return-value]

    @property
    def commits_count(self) -> int:
        """Commits per repository: ``commits_per_repo``, or ``issues_per_repo // 2`` when unset."""
        return self.issues_per_repo // 2 if self.commits_per_repo is None else int(self.commits_per_repo)


def parse_bad_data(text: str) -> tuple[tuple[str, int], ...]:
    """``"null_title=3,wrong_type=2"`` -> ``(("null_title", 3), ("wrong_type", 2))`` (kinds not checked here)."""
    pairs: list[tuple[str, int]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        kind, sep, count = part.partition("=")
        if not sep:
            raise ValueError(f"bad data entry {part!r} must look like kind=count")
        try:
            pairs.append((kind.strip(), int(count.strip())))
        except ValueError:
            raise ValueError(f"bad data count in {part!r} is not an integer") from None
    return tuple(pairs)


def _normalize_bad_data(value: Any) -> tuple[tuple[str, int], ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: Iterable[Any] = parse_bad_data(value)
    elif isinstance(value, Mapping):
        items = value.items()
    else:
        items = value
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    for item in items:
        try:
            kind, count = item
        except (TypeError, ValueError):
            raise ValueError(f"bad_data entries must be (kind, count) pairs, got {item!r}") from None
        if kind not in BAD_DATA_KINDS:
            raise ValueError(f"unknown bad data kind {kind!r}; expected one of {BAD_DATA_KINDS}")
        if kind in seen:
            raise ValueError(f"bad data kind {kind!r} given more than once")
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"bad data count for {kind!r} must be an int, got {count!r}")
        if count < 0:
            raise ValueError(f"bad data count for {kind!r} must be >= 0")
        seen.add(kind)
        out.append((str(kind), int(count)))
    return tuple(out)


# ---------------------------------------------------------------------------
# time helpers
# ---------------------------------------------------------------------------


_DAY_CACHE: dict[int, str] = {}


def format_ts(epoch: int) -> str:
    """Epoch seconds -> ``YYYY-MM-DDTHH:MM:SSZ``."""
    day, secs = divmod(int(epoch), 86400)
    prefix = _DAY_CACHE.get(day)
    if prefix is None:
        prefix = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
        if len(_DAY_CACHE) < 100_000:
            _DAY_CACHE[day] = prefix
    hours, rem = divmod(secs, 3600)
    minutes, seconds = divmod(rem, 60)
    return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}Z"


def parse_ts(value: str) -> float:
    """Parse an ISO 8601 date or timestamp into epoch seconds (UTC if naive).

    Raises ``ValueError`` for anything that is not a date/timestamp.
    """
    text = value.strip()
    if not text or not text[0].isdigit():
        raise ValueError(f"not a timestamp: {value!r}")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _stable_int(*parts: object) -> int:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _dump(doc: Any) -> bytes:
    """``orjson.dumps`` copied into an exact-size ``bytes`` (orjson's result keeps spare capacity,
    which would roughly double the memory of the per-issue cache)."""
    return bytes(memoryview(orjson.dumps(doc)))


def _repo_id(seed: int, index: int, full_name: str) -> int:
    """Distinct per index (steps of 1_000_003 > the 0..999 jitter), deterministic per seed and name."""
    return 600_000_000 + index * 1_000_003 + _stable_int("repo", seed, full_name) % 1000


# ---------------------------------------------------------------------------
# text pools (unicode on purpose: emoji, CJK, RTL, accents, quotes, backslashes)
# ---------------------------------------------------------------------------

_TITLE_PREFIXES = (
    "", "", "", "", "[Bug] ", "[Feature] ", "feat: ", "fix(core): ", "docs: ", "WIP: ", "🐛 ", "✨ ",
    "chore(deps): ", "RFC: ",
)
_TITLE_SUBJECTS = (
    "Crash when opening the settings dialog",
    "Pagination skips items when updated_at ties",
    "Löschen von Einträgen schlägt fehl",
    "Erreur lors de l'import « CSV » avec des accents",
    "添加对暗黑模式的支持",
    "ログイン画面でエラーが発生する",
    "버튼 클릭 시 앱이 멈춤",
    "Support 🚀 emoji in release notes",
    'Parser mishandles "double quotes" and \'single quotes\'',
    "Backslash \\ in path C:\\Users\\dev\\build breaks the build",
    "Naïve café résumé: normalisation NFC vs NFD",
    "Emoji ZWJ sequence 👩‍💻 renders as two glyphs",
    "Right-to-left text مرحبا بالعالم is mirrored",
    "Tab\tcharacter inside a title",
    "Memory leak in the 📦 packaging step",
    "Упала сборка на Windows",
    "Improve docs for `--since` flag",
    "Timeout after 30s on large pages",
    "Add <script> escaping & HTML entities test",
    "Bump dependency from 1.2.3 to 1.2.4",
    "Flaky test: test_roundtrip[ü-ß]",
    "JSON with trailing \\u0000 escapes",
    "Ελληνικά: σφάλμα κατά την αποθήκευση",
    "Dark mode 🌙 toggle resets after reload",
    "Über-long path names exceed 260 chars",
)
_TITLE_SUFFIXES = ("", "", "", "", " (regression)", " on macOS", " 🙏", " — follow-up", " in v2.0", " #help")

_BODY_SENTENCES = (
    "Steps to reproduce are below.",
    "This started happening after the last upgrade.",
    "I'm not sure whether this is expected behaviour.",
    "Happy to open a PR if someone points me in the right direction 🙂",
    "Das passiert nur unter Windows — unter Linux läuft alles.",
    "重现步骤如下，请帮忙看看。",
    "再現手順は以下の通りです。",
    "Voilà ce que j'obtiens : « erreur inattendue ».",
    "Path used: `C:\\Program Files\\tool\\bin`.",
    'The config contains "quotes" and a trailing backslash \\',
    "See also #12 and https://example.com/issue?a=1&b=2.",
    "cc @maintainers",
    "Emoji test: 🎉🔥💯 and flags 🇩🇪🇯🇵.",
    "Tab\tseparated\tvalues are affected too.",
)
_CODE_BLOCKS = (
    "```python\nimport json\nprint(json.dumps({\"ключ\": \"значение\"}, ensure_ascii=False))\n```",
    "```\nTraceback (most recent call last):\n  File \"main.py\", line 3, in <module>\n    raise ValueError(\"boom \\\\ 💥\")\nValueError: boom \\ 💥\n```",
    "```json\n{\"since\": \"2025-01-01T00:00:00Z\", \"per_page\": 100}\n```",
    "```sh\n$ tool --path 'C:\\\\temp' --name \"ünïcödé\"\nerror: exit status 1\n```",
)
_LOCK_REASONS = ("too heated", "off-topic", "resolved", "spam")
_LABEL_DEFS = (
    ("bug", "d73a4a", "Something isn't working", True),
    ("documentation", "0075ca", "Improvements or additions to documentation", True),
    ("duplicate", "cfd3d7", "This issue or pull request already exists", True),
    ("enhancement", "a2eeef", "New feature or request", True),
    ("good first issue", "7057ff", "Good for newcomers", True),
    ("help wanted", "008672", "Extra attention is needed", True),
    ("question", "d876e3", "Further information is requested", True),
    ("wontfix", "ffffff", "This will not be worked on", True),
    ("area: 💾 storage", "c5def5", None, False),
    ("priority/high", "b60205", None, False),
    ("ステータス: 確認中", "fbca04", "日本語のラベル", False),
    ("dependencies", "0366d6", "Pull requests that update a dependency file", False),
)
_SYLLABLES = (
    "ka", "zu", "mi", "ro", "an", "el", "th", "or", "qu", "ix", "ne", "so", "la", "ve", "do", "ri", "ta", "po",
    "yu", "be", "ch", "ar", "il", "on",
)
_BOTS = ("dependabot[bot]", "github-actions[bot]", "renovate[bot]", "codecov[bot]", "pre-commit-ci[bot]")


# ---------------------------------------------------------------------------
# cheap deterministic draws
# ---------------------------------------------------------------------------


class _Uniform(Protocol):
    """Anything with ``random() -> float`` in [0, 1): ``random.Random`` or :class:`_Draws`."""

    def random(self) -> float: ...


def _pick(rng: _Uniform, seq: Any) -> Any:
    return seq[int(rng.random() * len(seq))]


class _Draws:
    """Deterministic uniform draws for one issue, derived from BLAKE2b of (repo seed, number).

    Much cheaper than seeding a ``random.Random`` per issue; 32 draws per
    digest, extended with further digests when a document needs more.
    """

    __slots__ = ("_key", "_vals", "_i", "_block")

    def __init__(self, repo_seed: int, number: int) -> None:
        self._key = repo_seed.to_bytes(8, "little") + number.to_bytes(8, "little")
        self._block = 0
        self._vals = _UNPACK(hashlib.blake2b(self._key, digest_size=64).digest())
        self._i = 0

    def random(self) -> float:
        i = self._i
        if i >= 32:
            self._block += 1
            self._vals = _UNPACK(hashlib.blake2b(self._key + self._block.to_bytes(4, "little"), digest_size=64).digest())
            i = 0
        self._i = i + 1
        return self._vals[i] / 65536.0

    def sample(self, seq: list[Any], k: int) -> list[Any]:
        k = min(k, len(seq))
        chosen: list[int] = []
        while len(chosen) < k:
            j = int(self.random() * len(seq))
            if j not in chosen:
                chosen.append(j)
        return [seq[j] for j in chosen]


_UNPACK = struct.Struct("<32H").unpack
_LABEL_COUNTS = (0, 0, 0, 1, 1, 1, 2, 2, 3, 4)
_ASSIGNEE_COUNTS = (0, 0, 0, 1, 1, 2)
_REACTION_NAMES = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
_ZERO_REACTIONS = [0] * 8


def _cdf(weights: tuple[tuple[str, int], ...]) -> tuple[tuple[str, float], ...]:
    total = sum(w for _, w in weights)
    acc = 0
    out = []
    for name, w in weights:
        acc += w
        out.append((name, acc / total))
    return tuple(out)


_ASSOCIATION_CDF = _cdf(
    (
        ("COLLABORATOR", 8), ("CONTRIBUTOR", 20), ("FIRST_TIMER", 2), ("FIRST_TIME_CONTRIBUTOR", 5),
        ("MANNEQUIN", 1), ("MEMBER", 15), ("NONE", 40), ("OWNER", 9),
    )
)


# ---------------------------------------------------------------------------
# store
# ---------------------------------------------------------------------------


class IssueRecord:
    """Sort/filter metadata of one issue plus its cached serialized JSON."""

    __slots__ = ("number", "created", "updated", "closed_at", "comments", "open", "is_pr", "raw")

    def __init__(
        self, number: int, created: int, updated: int, closed_at: int | None, comments: int, is_open: bool,
        is_pr: bool,
    ) -> None:
        self.number = number
        self.created = created
        self.updated = updated
        self.closed_at = closed_at
        self.comments = comments
        self.open = is_open
        self.is_pr = is_pr
        self.raw: bytes | None = None

    def sort_value(self, sort: str) -> int:
        if sort == "updated":
            return self.updated
        if sort == "created":
            return self.created
        return self.comments

    def key(self, sort: str) -> int:
        return (self.sort_value(sort) << _NUMBER_BITS) | self.number


class RepoData:
    """One repository: metadata, issue records and pre-sorted orderings."""

    def __init__(self, store: DataStore, index: int, full_name: str) -> None:
        self.index = index
        self.full_name = full_name
        self.owner, self.name = full_name.split("/", 1)
        self.seed_int = _stable_int("repo", store.seed, full_name)
        self.id = _repo_id(store.seed, index, full_name)
        self.node_id = "R_kgDO" + base64.urlsafe_b64encode(self.id.to_bytes(6, "big")).decode().rstrip("=")
        self.api_url = f"{store.api_base}/repos/{full_name}"
        self.html_url = f"https://github.com/{full_name}"
        self.records: list[IssueRecord] = []
        # ordered[sort][state] -> ascending list of int keys (value << 32 | number)
        self.ordered: dict[str, dict[str, list[int]]] = {s: {st: [] for st in STATES} for s in SORTS}
        self.version = 0
        self.max_updated = 0
        self.max_created = 0
        self.labels: list[dict[str, Any]] = []
        self.milestones: list[dict[str, Any]] = []
        self.label_frags: list[orjson.Fragment] = []
        self.milestone_frags: list[orjson.Fragment] = []
        self.created_at = 0
        self.mutation_rng = random.Random(f"emulator-mutate:{store.seed}:{full_name}")
        self.since_cache: OrderedDict[tuple[str, str, int], list[int]] = OrderedDict()
        # data-quality faults: number -> defect kind, number -> number whose id is copied,
        # numbers served without labels (drift day)
        self.defects: dict[int, str] = {}
        self.duplicate_of: dict[int, int] = {}
        self.cleared_labels: set[int] = set()
        # further entities (gh_assets.emulator.entities), all generated lazily with their own seeds
        self.entity_seed = _stable_int("entities", store.seed, full_name)
        self.pr_views: dict[tuple[str, str], list[int]] = {}  # (state, sort) -> pull request keys
        self.orig_updated: dict[int, int] = {}  # number -> updated before its first mutation
        self.comment_log: dict[int, list[tuple[int, int]]] = {}  # number -> [(ts, comments added)]
        self.comment_index: Any = None  # entities.CommentIndex once /issues/comments is used
        self.commit_dates: list[int] | None = None
        self.big_pulls: dict[int, tuple[int, int]] = {}  # number -> (files, reviews) forced by Emulator.make_big_pull
        self.deleted_pulls: set[int] = set()  # pull requests removed by Emulator.delete_pull

    @property
    def patched(self) -> bool:
        return bool(self.defects or self.cleared_labels)

    def record(self, number: int) -> IssueRecord | None:
        if 1 <= number <= len(self.records):
            return self.records[number - 1]
        return None

    # -- ordering maintenance ------------------------------------------------

    def _insert(self, rec: IssueRecord) -> None:
        state = "open" if rec.open else "closed"
        for sort in SORTS:
            k = rec.key(sort)
            lists = self.ordered[sort]
            for st in ("all", state):
                lst = lists[st]
                if not lst or lst[-1] < k:
                    lst.append(k)
                else:
                    bisect.insort(lst, k)

    def _remove(self, rec: IssueRecord) -> None:
        state = "open" if rec.open else "closed"
        for sort in SORTS:
            k = rec.key(sort)
            lists = self.ordered[sort]
            for st in ("all", state):
                lst = lists[st]
                i = bisect.bisect_left(lst, k)
                if i < len(lst) and lst[i] == k:
                    del lst[i]

    def build_orderings(self) -> None:
        for sort in SORTS:
            lists = self.ordered[sort]
            all_keys = sorted(r.key(sort) for r in self.records)
            lists["all"] = all_keys
            open_numbers = {r.number for r in self.records if r.open}
            lists["open"] = [k for k in all_keys if (k & _NUMBER_MASK) in open_numbers]
            lists["closed"] = [k for k in all_keys if (k & _NUMBER_MASK) not in open_numbers]

    def view(self, state: str, sort: str, since: float | None) -> tuple[list[int], int, int]:
        """Ascending key list plus [lo, hi) bounds of the matching issues."""
        keys = self.ordered[sort][state]
        if since is None:
            return keys, 0, len(keys)
        since_int = math.ceil(since)
        if sort == "updated":
            lo = bisect.bisect_left(keys, since_int << _NUMBER_BITS)
            return keys, lo, len(keys)
        cache_key = (state, sort, since_int)
        cached = self.since_cache.get(cache_key)
        if cached is None:
            recs = self.records
            cached = [k for k in keys if recs[(k & _NUMBER_MASK) - 1].updated >= since_int]
            self.since_cache[cache_key] = cached
            if len(self.since_cache) > 32:
                self.since_cache.popitem(last=False)
        else:
            self.since_cache.move_to_end(cache_key)
        return cached, 0, len(cached)

    def touch(self) -> None:
        self.version += 1
        self.since_cache.clear()
        self.pr_views.clear()

    def note_comments(self, number: int, ts: int, added: int) -> None:
        """Record ``added`` comments made on issue ``number`` at ``ts`` by a mutation."""
        self.comment_log.setdefault(number, []).append((ts, added))
        if self.comment_index is not None:
            self.comment_index.add(number, ts, added)


class DataStore:
    """In-memory, lazily generated GitHub data for all configured repositories.

    Not thread-safe by itself: callers hold ``self.lock`` (the emulator does).
    """

    def __init__(self, config: EmulatorConfig, api_base: str) -> None:
        self.config = config
        self.seed = config.seed
        self.api_base = api_base.rstrip("/")
        self.lock = threading.RLock()
        self.version = 0  # bumped on any mutation (search cache)
        self.start_ts = int(parse_ts(config.start))
        self.end_ts = self.start_ts + int(config.days) * 86400
        self.users = self._make_users()
        self.user_frags = [orjson.Fragment(orjson.dumps(u)) for u in self.users]
        self._repos: dict[str, RepoData | None] = {}
        self._names: dict[str, str] = {}
        self._by_id: dict[int, str] = {}
        for i, name in enumerate(config.repo_names):
            self._names[name.lower()] = name
            self._repos[name] = None
            self._by_id[_repo_id(self.seed, i, name)] = name
        self._index = {name: i for i, name in enumerate(config.repo_names)}
        self._owner_spelling: dict[str, str] = {}
        for name in config.repo_names:
            self._owner_spelling.setdefault(name.split("/", 1)[0].lower(), name.split("/", 1)[0])
        self.search_cache: OrderedDict[tuple[Any, ...], tuple[int, list[tuple[int, int]]]] = OrderedDict()
        from gh_assets.emulator.entities import Entities  # entities builds on this module's helpers

        self.entities = Entities(self)

    # -- lookup --------------------------------------------------------------

    @property
    def repo_names(self) -> tuple[str, ...]:
        return self.config.repo_names

    def canonical_name(self, full_name: str) -> str | None:
        return self._names.get(full_name.lower())

    def repo_id_of(self, full_name: str) -> int | None:
        name = self.canonical_name(full_name)
        if name is None:
            return None
        for rid, n in self._by_id.items():
            if n == name:
                return rid
        return None

    def repo(self, full_name: str) -> RepoData | None:
        name = self.canonical_name(full_name)
        if name is None:
            return None
        data = self._repos[name]
        if data is None:
            data = self._generate_repo(self._index[name], name)
            self._repos[name] = data
        return data

    def repo_by_id(self, repo_id: int) -> RepoData | None:
        name = self._by_id.get(repo_id)
        return None if name is None else self.repo(name)

    # -- users ---------------------------------------------------------------

    def _user(self, login: str, uid: int, kind: str) -> dict[str, Any]:
        api = f"{self.api_base}/users/{quote(login)}"
        prefix = "04:User" if kind == "User" else ("03:Bot" if kind == "Bot" else "012:Organization")
        return {
            "login": login,
            "id": uid,
            "node_id": _b64(f"{prefix}{uid}"),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"https://github.com/{quote(login)}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _make_users(self) -> list[dict[str, Any]]:
        rng = random.Random(f"emulator-users:{self.seed}")
        users: list[dict[str, Any]] = []
        seen: set[str] = set()
        uid = 1_000 + rng.randrange(1_000)
        while len(users) < 195:
            parts = [rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))]
            login = "".join(parts)
            style = rng.random()
            if style < 0.3:
                login += str(rng.randint(1, 999))
            elif style < 0.45:
                login = login[: len(login) // 2] + "-" + login[len(login) // 2 :]
            elif style < 0.55:
                login = login.capitalize()
            if login.lower() in seen or login.startswith("-") or login.endswith("-"):
                continue
            seen.add(login.lower())
            uid += rng.randint(1, 5_000_000)
            users.append(self._user(login, uid, "User"))
        for bot in _BOTS:
            uid += rng.randint(1, 5_000_000)
            users.append(self._user(bot, uid, "Bot"))
        return users

    def owner_object(self, owner: str) -> dict[str, Any]:
        # logins are case-insensitive: one organisation object per owner, spelled as first configured
        owner = self._owner_spelling.get(owner.lower(), owner)
        uid = 10_000_000 + _stable_int("owner", self.seed, owner) % 90_000_000
        return self._user(owner, uid, "Organization")

    # -- generation ------------------------------------------------------------

    def _generate_repo(self, index: int, full_name: str) -> RepoData:
        cfg = self.config
        repo = RepoData(self, index, full_name)
        rng = random.Random(f"emulator-repo:{self.seed}:{full_name}")
        meta_rng = random.Random(f"emulator-repo-meta:{self.seed}:{full_name}")
        n = cfg.issues_per_repo
        start, end = self.start_ts, self.end_ts
        span = end - start
        rand = rng.random

        created = sorted(start + int(rand() * span) for _ in range(n))
        updated = [0] * n
        closed: list[int | None] = [None] * n
        comments = [0] * n
        is_pr = [False] * n
        for i in range(n):
            c = created[i]
            r = rand()
            u = c if r < 0.2 else c + int((end - c) * ((r - 0.2) / 0.8) ** 3)
            updated[i] = u
            is_pr[i] = rand() < 0.3
            if rand() < 0.55:
                closed[i] = u if rand() < 0.6 else c + int((u - c) * rand())
            cr = rand()
            comments[i] = 0 if cr < 0.35 else min(250, int(-3.0 * math.log(1.0 - cr * 0.999)))
        # ~5% of issues share their updated_at with a neighbour
        for i in range(1, n):
            if rand() < 0.025:
                m = max(updated[i - 1], updated[i])
                updated[i - 1] = updated[i] = m
        k = min(cfg.identical_updated_cluster, n)
        if k > 0:
            s = rng.randrange(0, n - k + 1)
            t = max(updated[s : s + k])
            for i in range(s, s + k):
                updated[i] = t
        if cfg.drift_day is not None or cfg.bad_data:
            self._inject(repo, created, updated, closed, comments)

        repo.records = [
            IssueRecord(i + 1, created[i], updated[i], closed[i], comments[i], closed[i] is None, is_pr[i])
            for i in range(n)
        ]
        repo.build_orderings()
        repo.max_updated = max(updated, default=start)
        repo.max_created = max(created, default=start)
        repo.created_at = start - 86400 * (30 + meta_rng.randrange(2000))

        for j, (name, color, desc, default) in enumerate(_LABEL_DEFS):
            lid = 5_000_000_000 + repo.index * 100_000 + j * 17 + meta_rng.randrange(17)
            repo.labels.append(
                {
                    "id": lid,
                    "node_id": "LA_kwDO" + base64.urlsafe_b64encode(lid.to_bytes(6, "big")).decode().rstrip("="),
                    "url": f"{repo.api_url}/labels/{quote(name, safe='')}",
                    "name": name,
                    "description": desc,
                    "color": color,
                    "default": default,
                }
            )
        for m in range(meta_rng.randrange(1, 5)):
            number = m + 1
            mid = 9_000_000 + repo.index * 1_000 + number
            m_created = start - 86400 * meta_rng.randrange(1, 60)
            m_closed = meta_rng.random() < 0.3
            m_due = None if meta_rng.random() < 0.3 else format_ts(end + 86400 * meta_rng.randrange(1, 90))
            title = f"v{index % 3 + 1}.{number}" if meta_rng.random() < 0.7 else f"Sprint {number} 🏃"
            repo.milestones.append(
                {
                    "url": f"{repo.api_url}/milestones/{number}",
                    "html_url": f"{repo.html_url}/milestone/{number}",
                    "labels_url": f"{repo.api_url}/milestones/{number}/labels",
                    "id": mid,
                    "node_id": "MI_kwDO" + base64.urlsafe_b64encode(mid.to_bytes(6, "big")).decode().rstrip("="),
                    "number": number,
                    "title": title,
                    "description": None if meta_rng.random() < 0.4 else f"Tracking milestone {title}",
                    "creator": meta_rng.choice(self.users),
                    "open_issues": meta_rng.randrange(0, 200),
                    "closed_issues": meta_rng.randrange(0, 400),
                    "state": "closed" if m_closed else "open",
                    "created_at": format_ts(m_created),
                    "updated_at": format_ts(end - 86400 * meta_rng.randrange(1, 30)),
                    "due_on": m_due,
                    "closed_at": format_ts(end - 86400 * meta_rng.randrange(1, 30)) if m_closed else None,
                }
            )
        repo.label_frags = [orjson.Fragment(orjson.dumps(x)) for x in repo.labels]
        repo.milestone_frags = [orjson.Fragment(orjson.dumps(x)) for x in repo.milestones]
        return repo

    # -- data-quality faults ----------------------------------------------------

    def _inject(
        self, repo: RepoData, created: list[int], updated: list[int], closed: list[int | None], comments: list[int]
    ) -> None:
        """Apply drift and bad data to the metadata lists (0-based) before the records/orderings exist."""
        cfg = self.config
        drift: tuple[int, int] | None = None
        if cfg.drift_day is not None:
            lo = int(parse_ts(cfg.drift_day))
            drift = (lo, lo + 86400)
            self._drift(repo, created, updated, *drift)
        if cfg.bad_data:
            self._bad_data(repo, created, updated, closed, comments, drift)
        if drift is not None:
            lo, hi = drift
            for i, u in enumerate(updated):
                if lo <= u < hi:
                    repo.cleared_labels.add(i + 1)
                    if repo.defects.get(i + 1) != "closed_before_created":  # that defect keeps its state
                        closed[i] = None

    def _drift(self, repo: RepoData, created: list[int], updated: list[int], lo: int, hi: int) -> None:
        cfg = self.config
        rng = random.Random(f"emulator-drift:{self.seed}:{repo.full_name}")
        n = len(updated)
        on_day = [i for i in range(n) if lo <= updated[i] < hi]
        in_window = sum(1 for u in updated if self.start_ts <= u < self.end_ts)
        other_days = cfg.days - 1
        factor = cfg.drift_factor
        # the day ends up with `factor` times the mean of the other days (those lose the moved issues)
        target = round(factor * in_window / (other_days + factor)) if other_days > 0 else round(factor * len(on_day))
        if target > len(on_day):
            movable = [i for i in range(n) if not lo <= updated[i] < hi and created[i] < hi]
            for i in rng.sample(movable, min(target - len(on_day), len(movable))):
                updated[i] = rng.randrange(max(lo, created[i]), hi)
        elif target < len(on_day):
            rng.shuffle(on_day)
            new_hi = max(self.end_ts, hi + 86400)
            for i in on_day[target:]:
                updated[i] = rng.randrange(hi, new_hi)

    def _bad_data(
        self,
        repo: RepoData,
        created: list[int],
        updated: list[int],
        closed: list[int | None],
        comments: list[int],
        drift: tuple[int, int] | None,
    ) -> None:
        cfg = self.config
        total = sum(c for _, c in cfg.bad_data)
        if total == 0:
            return
        rng = random.Random(f"emulator-bad-data:{self.seed}:{repo.full_name}")
        n = len(updated)
        if cfg.bad_data_day is not None:
            lo = int(parse_ts(cfg.bad_data_day))
            hi = lo + 86400
            chosen = [i for i in range(n) if lo <= updated[i] < hi]
            rng.shuffle(chosen)
            chosen = chosen[:total]
            if len(chosen) < total:
                # issues already on a different drift day stay there, so the drift count holds
                d_lo, d_hi = drift if drift is not None and drift[0] != lo else (0, 0)
                movable = [
                    i
                    for i in range(n)
                    if not lo <= updated[i] < hi and created[i] < hi and not d_lo <= updated[i] < d_hi
                ]
                for i in rng.sample(movable, min(total - len(chosen), len(movable))):
                    u = rng.randrange(max(lo, created[i]), hi)
                    updated[i] = u
                    c = closed[i]
                    if c is not None and c > u:
                        closed[i] = u
                    chosen.append(i)
        else:
            chosen = rng.sample(range(n), min(total, n))
        taken = set(chosen)
        pos = 0
        for kind, count in cfg.bad_data:
            picked = chosen[pos : pos + count]
            pos += count
            if kind == "duplicate_id":
                pool = [i for i in range(n) if i not in taken]
                targets = rng.sample(pool, min(len(picked), len(pool)))
                taken.update(targets)
                picked = picked[: len(targets)]
                for i, t in zip(picked, targets):
                    repo.duplicate_of[i + 1] = t + 1
            for i in picked:
                repo.defects[i + 1] = kind
                if kind == "closed_before_created":
                    closed[i] = created[i] - 86400
                elif kind == "negative_count":
                    comments[i] = _NEGATIVE_COMMENTS

    def _patch_doc(self, repo: RepoData, rec: IssueRecord, doc: dict[str, Any]) -> None:
        """Overlay the configured defect / drift on a freshly built or mutated issue document."""
        number = rec.number
        if number in repo.cleared_labels:
            doc["labels"] = []
        kind = repo.defects.get(number)
        if kind is None:
            return
        if kind == "wrong_type":
            doc["comments"] = _WRONG_TYPE_COMMENTS
        elif kind == "null_title":
            doc["title"] = None
        elif kind == "duplicate_id":
            doc["id"] = self.issue_id(repo, repo.duplicate_of[number])
        elif kind == "unknown_enum":
            doc["author_association"] = _UNKNOWN_ASSOCIATION
        elif kind == "negative_count":
            rec.comments = _NEGATIVE_COMMENTS
            doc["comments"] = _NEGATIVE_COMMENTS
        elif kind == "closed_before_created":
            doc["state"] = "closed"
            doc["closed_at"] = None if rec.closed_at is None else format_ts(rec.closed_at)

    def issue_id(self, repo: RepoData, number: int) -> int:
        return 2_400_000_000 + repo.index * 1_000_000_000 + number * 16 + (repo.seed_int ^ number) % 16

    def _title(self, rng: _Uniform) -> str:
        return _pick(rng, _TITLE_PREFIXES) + _pick(rng, _TITLE_SUBJECTS) + _pick(rng, _TITLE_SUFFIXES)

    def _body(self, rng: _Uniform) -> str | None:
        r = rng.random()
        if r < 0.10:
            return None
        if r < 0.15:
            return ""
        if r < 0.50:
            return _pick(rng, _BODY_SENTENCES)
        nl = "\r\n" if rng.random() < 0.4 else "\n"
        parts = ["### Description", " ".join(_pick(rng, _BODY_SENTENCES) for _ in range(1 + int(rng.random() * 4)))]
        if rng.random() < 0.6:
            parts += ["### Steps to reproduce", nl.join(f"{i}. {_pick(rng, _BODY_SENTENCES)}" for i in range(1, 4))]
        if rng.random() < 0.5:
            parts.append(_pick(rng, _CODE_BLOCKS).replace("\n", nl))
        if rng.random() < 0.3:
            parts.append("| key | value |" + nl + "| --- | --- |" + nl + "| ключ | 値 🔑 |")
        if rng.random() < 0.2:
            parts += ["- [x] done", "- [ ] todo — ünïcödé"]
        if r > 0.95:  # long body
            paragraph = " ".join(_pick(rng, _BODY_SENTENCES) for _ in range(12))
            parts += [paragraph] * (4 + int(rng.random() * 9))
        return (nl + nl).join(parts)

    def build_doc(self, repo: RepoData, rec: IssueRecord) -> dict[str, Any]:
        """Generate the GitHub-shaped issue object for one record (deterministic).

        Shared sub-objects (users, labels, milestones) are pre-serialized
        ``orjson.Fragment`` values; ``orjson.loads(orjson.dumps(doc))`` gives
        plain dicts.
        """
        rng = _Draws(repo.seed_int, rec.number)
        rand = rng.random
        number = rec.number
        users = self.user_frags
        n_users = len(users)
        api = f"{repo.api_url}/issues/{number}"
        is_pr = rec.is_pr

        user = None if rand() < 0.03 else users[int(rand() * n_users)]
        n_labels = _LABEL_COUNTS[int(rand() * len(_LABEL_COUNTS))]
        labels = rng.sample(repo.label_frags, n_labels) if n_labels else []
        if rand() < 0.5:
            assignees = rng.sample(users, _ASSIGNEE_COUNTS[int(rand() * len(_ASSIGNEE_COUNTS))])
        else:
            assignees = []
        milestones = repo.milestone_frags
        milestone = milestones[int(rand() * len(milestones))] if milestones and rand() < 0.2 else None
        locked = rand() < 0.02
        if rec.open:
            state_reason = "reopened" if (not is_pr and rand() < 0.05) else None
            closed_by = None
        else:
            x = rand()
            state_reason = None if is_pr else ("completed" if x < 0.8 else "not_planned" if x < 0.95 else "duplicate")
            closed_by = None if rand() < 0.05 else users[int(rand() * n_users)]
        if rand() < 0.3:
            counts = [(1 + int(rand() * 40)) if rand() < 0.3 else 0 for _ in range(8)]
        else:
            counts = _ZERO_REACTIONS
        reactions = {"url": f"{api}/reactions", "total_count": sum(counts)}
        reactions.update(zip(_REACTION_NAMES, counts))
        x = rand()
        association = "NONE"
        for name, threshold in _ASSOCIATION_CDF:
            if x < threshold:
                association = name
                break

        doc: dict[str, Any] = {
            "url": api,
            "repository_url": repo.api_url,
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{repo.html_url}/{'pull' if is_pr else 'issues'}/{number}",
            "id": self.issue_id(repo, number),
            "node_id": ("PR_kwDO" if is_pr else "I_kwDO")
            + base64.urlsafe_b64encode(((repo.id << 24) | number).to_bytes(8, "big")).decode().rstrip("="),
            "number": number,
            "title": self._title(rng),
            "user": user,
            "labels": labels,
            "state": "open" if rec.open else "closed",
            "locked": locked,
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": milestone,
            "comments": rec.comments,
            "created_at": format_ts(rec.created),
            "updated_at": format_ts(rec.updated),
            "closed_at": None if rec.closed_at is None else format_ts(rec.closed_at),
            "author_association": association,
            "active_lock_reason": _pick(rng, _LOCK_REASONS) if locked and rand() < 0.7 else None,
        }
        if is_pr:
            merged = rec.closed_at is not None and rand() < 0.7
            doc["draft"] = rec.open and rand() < 0.15
            doc["pull_request"] = {
                "url": f"{repo.api_url}/pulls/{number}",
                "html_url": f"{repo.html_url}/pull/{number}",
                "diff_url": f"{repo.html_url}/pull/{number}.diff",
                "patch_url": f"{repo.html_url}/pull/{number}.patch",
                "merged_at": format_ts(rec.closed_at) if merged and rec.closed_at is not None else None,
            }
        doc["body"] = self._body(rng)
        doc["closed_by"] = closed_by
        doc["reactions"] = reactions
        doc["timeline_url"] = f"{api}/timeline"
        doc["performed_via_github_app"] = None
        doc["state_reason"] = state_reason
        if repo.patched:
            self._patch_doc(repo, rec, doc)
        return doc

    def raw(self, repo: RepoData, rec: IssueRecord) -> bytes:
        raw = rec.raw
        if raw is None:
            raw = rec.raw = _dump(self.build_doc(repo, rec))
        return raw

    def raws(self, repo: RepoData, keys: Iterable[int]) -> list[bytes]:
        recs = repo.records
        out = []
        for k in keys:
            rec = recs[(k & _NUMBER_MASK) - 1]
            raw = rec.raw
            if raw is None:
                raw = rec.raw = _dump(self.build_doc(repo, rec))
            out.append(raw)
        return out

    def warm(self, serialize: bool = True) -> None:
        """Generate all repositories (and serialize every issue if asked)."""
        for name in self.repo_names:
            repo = self.repo(name)
            if serialize and repo is not None:
                for rec in repo.records:
                    self.raw(repo, rec)

    # -- mutation ------------------------------------------------------------

    def _bump(self, repo: RepoData) -> int:
        repo.max_updated = max(repo.max_updated, repo.max_created) + 1
        return repo.max_updated

    def mutate(self, full_name: str, update: int = 0, add: int = 0) -> list[int]:
        """Update ``update`` existing issues and add ``add`` new ones.

        Every touched issue gets its own ``updated_at`` strictly greater than
        the repository's previous maximum (max + 1 second each), so results
        are deterministic. Returns the affected issue numbers.
        """
        repo = self.repo(full_name)
        if repo is None:
            raise KeyError(full_name)
        rng = repo.mutation_rng
        touched: list[int] = []
        existing = len(repo.records)
        if update > 0 and existing:
            for number in rng.sample(range(1, existing + 1), min(update, existing)):
                rec = repo.records[number - 1]
                doc = orjson.loads(self.raw(repo, rec))
                repo._remove(rec)
                repo.orig_updated.setdefault(number, rec.updated)
                self.entities.forget_pr(repo, number)
                ts = self._bump(repo)
                rec.updated = ts
                doc["updated_at"] = format_ts(ts)
                doc["title"] = self._title(rng)
                added_comments = rng.randint(0, 3)
                rec.comments += added_comments
                if added_comments:
                    repo.note_comments(number, ts, added_comments)
                doc["comments"] = rec.comments
                # issues closed before their creation stay closed (the toggle draw is still consumed)
                if rng.random() < 0.3 and repo.defects.get(number) != "closed_before_created":
                    pr = doc.get("pull_request")
                    if rec.open:
                        rec.open = False
                        rec.closed_at = ts
                        doc["state"] = "closed"
                        doc["closed_at"] = format_ts(ts)
                        doc["closed_by"] = rng.choice(self.users)
                        doc["state_reason"] = None if pr else rng.choice(("completed", "not_planned"))
                        if pr is not None:
                            doc["draft"] = False
                            pr["merged_at"] = format_ts(ts) if rng.random() < 0.7 else None
                    elif pr is None or pr.get("merged_at") is None:
                        rec.open = True
                        rec.closed_at = None
                        doc["state"] = "open"
                        doc["closed_at"] = None
                        doc["closed_by"] = None
                        doc["state_reason"] = None if pr else "reopened"
                if repo.patched:
                    self._patch_doc(repo, rec, doc)
                rec.raw = _dump(doc)
                repo._insert(rec)
                touched.append(number)
        for _ in range(max(0, add)):
            number = len(repo.records) + 1
            ts = self._bump(repo)
            rec = IssueRecord(number, ts, ts, None, 0, True, rng.random() < 0.3)
            doc = self.build_doc(repo, rec)
            doc["state_reason"] = None
            doc["closed_by"] = None
            doc["comments"] = 0
            if rec.is_pr:
                doc["pull_request"]["merged_at"] = None
            rec.raw = _dump(doc)
            repo.records.append(rec)
            repo.max_created = ts
            repo._insert(rec)
            touched.append(number)
        if touched:
            repo.touch()
            self.version += 1
        return touched

    def issues(self, full_name: str) -> list[dict[str, Any]]:
        repo = self.repo(full_name)
        if repo is None:
            raise KeyError(full_name)
        return [orjson.loads(self.raw(repo, rec)) for rec in repo.records]

    def _known(self, full_name: str) -> RepoData:
        repo = self.repo(full_name)
        if repo is None:
            raise KeyError(full_name)
        return repo

    def pulls(self, full_name: str) -> list[dict[str, Any]]:
        """Every pull request as ``GET /pulls`` serves it, ordered by number."""
        repo = self._known(full_name)
        return [orjson.loads(self.entities.pr_raw(repo, rec)) for rec in self._live_pulls(repo)]

    def _live_pulls(self, repo: RepoData) -> list[IssueRecord]:
        deleted = repo.deleted_pulls
        return [rec for rec in repo.records if rec.is_pr and rec.number not in deleted]

    def reviews(self, full_name: str) -> list[tuple[int, dict[str, Any]]]:
        """``(pull number, review)`` for every review, by pull number then chronologically."""
        repo = self._known(full_name)
        return [
            (rec.number, orjson.loads(raw))
            for rec in self._live_pulls(repo)
            for raw in self.entities.reviews(repo, rec)
        ]

    def pr_files(self, full_name: str) -> list[tuple[int, dict[str, Any]]]:
        """``(pull number, diff entry)`` for every changed file, by pull number then filename."""
        repo = self._known(full_name)
        return [
            (rec.number, orjson.loads(raw)) for rec in self._live_pulls(repo) for raw in self.entities.files(repo, rec)
        ]

    def commits(self, full_name: str) -> list[dict[str, Any]]:
        """Every commit, newest first (the order of ``GET /commits``)."""
        repo = self._known(full_name)
        positions = list(range(len(self.entities.commit_dates(repo)) - 1, -1, -1))
        return [orjson.loads(raw) for raw in self.entities.commit_raws(repo, positions)]

    def issue_comments(self, full_name: str) -> list[dict[str, Any]]:
        """Every issue comment in the default order of ``GET /issues/comments`` (created, then id, ascending)."""
        repo = self._known(full_name)
        index = self.entities.comment_index(repo)
        positions = [k & _NUMBER_MASK for k in index.by_created]
        return [orjson.loads(raw) for raw in self.entities.comment_raws(repo, positions)]

    def org_repos(self, org: str) -> list[dict[str, Any]]:
        """Repositories of ``org`` in the default order of ``GET /orgs/{org}/repos`` (created, newest first)."""
        if not self.entities.org_exists(org):
            raise KeyError(org)
        return [orjson.loads(raw) for raw in self.entities.org_repos(org)]

    # -- repository object ---------------------------------------------------

    def repo_doc(self, repo: RepoData) -> dict[str, Any]:
        api = repo.api_url
        open_count = len(repo.ordered["created"]["open"])
        return {
            "id": repo.id,
            "node_id": repo.node_id,
            "name": repo.name,
            "full_name": repo.full_name,
            "private": False,
            "owner": self.owner_object(repo.owner),
            "html_url": repo.html_url,
            "description": f"Emulated repository {repo.full_name} ✨",
            "fork": repo.full_name in self.config.fork_repos,
            "url": api,
            "forks_url": f"{api}/forks",
            "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "labels_url": f"{api}/labels{{/name}}",
            "milestones_url": f"{api}/milestones{{/number}}",
            "commits_url": f"{api}/commits{{/sha}}",
            "git_url": f"git://github.com/{repo.full_name}.git",
            "ssh_url": f"git@github.com:{repo.full_name}.git",
            "clone_url": f"{repo.html_url}.git",
            "homepage": None,
            "language": "Python",
            "forks_count": repo.seed_int % 500,
            "stargazers_count": repo.seed_int % 5000,
            "watchers_count": repo.seed_int % 5000,
            "size": repo.seed_int % 100_000,
            "default_branch": "main",
            "open_issues_count": open_count,
            "is_template": False,
            "topics": ["emulated", "github"],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "archived": repo.full_name in self.config.archived_repos,
            "disabled": False,
            "visibility": "public",
            "pushed_at": format_ts(repo.max_updated),
            "created_at": format_ts(repo.created_at),
            "updated_at": format_ts(repo.max_updated),
            "permissions": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
            "forks": repo.seed_int % 500,
            "open_issues": open_count,
            "watchers": repo.seed_int % 5000,
        }

    # -- search --------------------------------------------------------------

    def search(
        self,
        repos: list[RepoData],
        kind: str | None,
        state: str,
        created: tuple[float, float] | None,
        updated: tuple[float, float] | None,
        sort: str,
    ) -> list[tuple[int, int]]:
        """All matches as ascending ``(sort_key, repo_index << 32 | number)`` pairs (cached)."""
        cache_key = (tuple(r.index for r in repos), kind, state, created, updated, sort)
        hit = self.search_cache.get(cache_key)
        if hit is not None and hit[0] == self.version:
            self.search_cache.move_to_end(cache_key)
            return hit[1]
        out: list[tuple[int, int]] = []
        for repo in repos:
            keys = repo.ordered[sort][state]
            lo, hi = 0, len(keys)
            if sort == "updated" and updated is not None:
                lo = bisect.bisect_left(keys, math.ceil(updated[0]) << _NUMBER_BITS)
                hi = bisect.bisect_right(keys, (int(updated[1]) << _NUMBER_BITS) | _NUMBER_MASK)
            recs = repo.records
            tag = repo.index << _NUMBER_BITS
            for k in keys[lo:hi]:
                rec = recs[(k & _NUMBER_MASK) - 1]
                if kind is not None and rec.is_pr != (kind == "pr"):
                    continue
                if created is not None and not (created[0] <= rec.created <= created[1]):
                    continue
                if updated is not None and not (updated[0] <= rec.updated <= updated[1]):
                    continue
                out.append((k >> _NUMBER_BITS, tag | rec.number))
        if len(repos) > 1:
            out.sort()
        self.search_cache[cache_key] = (self.version, out)
        if len(self.search_cache) > 64:
            self.search_cache.popitem(last=False)
        return out

    def repo_by_index(self, index: int) -> RepoData:
        repo = self.repo(self.repo_names[index])
        assert repo is not None
        return repo
