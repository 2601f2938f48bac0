"""Tests of the emulator's seeded bad-data injection and day drift, served over real HTTP."""

from __future__ import annotations

import collections
import hashlib
import subprocess
import sys
import time
from datetime import datetime
from typing import Any, Callable

import httpx
import orjson
import pytest

from gh_assets.emulator import BAD_DATA_KINDS, Emulator, EmulatorConfig
from gh_assets.emulator.__main__ import build_parser, config_from_args
from gh_assets_tests.emulator.process import ROOT, emulator_cli

REPOS = ("qa-org/alpha", "qa-org/beta")
BAD_DAY = "2025-01-09"
DRIFT_DAY = "2025-01-25"
DAYS = 40
# pinned sha256 over orjson.dumps(issues) of both repositories for cfg(); the default data must never change
DEFAULT_DIGEST = "28ec13c4475dbd693b732f706a8f424fe752ff565b2b361ac41f705d0e078b65"
Issue = dict[str, Any]


def cfg(**overrides: Any) -> EmulatorConfig:
    base: dict[str, Any] = {
        "seed": 11,
        "repos": REPOS,
        "issues_per_repo": 300,
        "start": "2025-01-01",
        "days": DAYS,
        "api_url": "https://api.github.com",
    }
    base.update(overrides)
    return EmulatorConfig(**base)


def ts(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def _dupes(issues: list[Issue]) -> list[list[int]]:
    groups: dict[int, list[int]] = collections.defaultdict(list)
    for i in issues:
        groups[i["id"]].append(i["number"])
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


DETECTORS: dict[str, Callable[[Issue], bool]] = {
    "wrong_type": lambda i: isinstance(i["comments"], str),
    "null_title": lambda i: i["title"] is None,
    "closed_before_created": lambda i: i["state"] == "closed"
    and i["closed_at"] is not None
    and ts(i["closed_at"]) == ts(i["created_at"]) - 86400,
    "unknown_enum": lambda i: i["author_association"] == "ALIEN",
    "negative_count": lambda i: isinstance(i["comments"], int) and i["comments"] < 0,
}


def defective(kind: str, issues: list[Issue]) -> set[int]:
    """Numbers of the issues showing ``kind``; for duplicate_id, every member of a shared-id group."""
    if kind == "duplicate_id":
        return {n for group in _dupes(issues) for n in group}
    return {i["number"] for i in issues if DETECTORS[kind](i)}


def defect_count(kind: str, issues: list[Issue]) -> int:
    if kind == "duplicate_id":
        return sum(len(g) - 1 for g in _dupes(issues))
    return len(defective(kind, issues))


def walk(client: httpx.Client, url: str, params: dict[str, Any]) -> list[Issue]:
    items: list[Issue] = []
    r = client.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["items"] if isinstance(body, dict) else body)
        nxt = r.links.get("next")
        if not nxt:
            return items
        r = client.get(nxt["url"])


def served(client: httpx.Client, emu: Emulator, repo: str, **params: Any) -> list[Issue]:
    return walk(client, f"{emu.url}/repos/{repo}/issues", {"state": "all", "per_page": 100, **params})


def searched(client: httpx.Client, emu: Emulator, q: str, **params: Any) -> list[Issue]:
    items = walk(client, f"{emu.url}/search/issues", {"q": q, "per_page": 100, **params})
    for i in items:
        assert i.pop("score") == 1.0
    return items


def by_number(issues: list[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: i["number"])


@pytest.fixture(scope="module")
def http() -> Any:
    """One client for every emulator of the module (URLs are absolute)."""
    with httpx.Client(timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def baseline() -> dict[str, list[Issue]]:
    with Emulator(cfg()) as e:
        return {r: e.issues(r) for r in REPOS}


# ---------------------------------------------------------------------------
# one kind at a time
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", BAD_DATA_KINDS)
def test_each_kind_is_served_exactly_count_times(kind: str, baseline: dict[str, list[Issue]], http: httpx.Client) -> None:
    count = 4
    c = http
    with Emulator(cfg(bad_data=((kind, count),))) as e:
        for repo in REPOS:
            truth = e.issues(repo)
            listed = served(c, e, repo)
            assert by_number(listed) == truth
            assert defect_count(kind, listed) == defect_count(kind, truth) == count
            if kind == "duplicate_id":
                assert all(len(g) == 2 for g in _dupes(listed))  # each copies a different issue
            for other in BAD_DATA_KINDS:
                if other != kind:
                    assert defect_count(other, truth) == 0, other
            found = searched(c, e, f"repo:{repo}", sort="created", order="asc")
            assert found == truth
            # injection is surgical: exactly `count` issues differ from what the default configuration serves
            reference = {i["number"]: i for i in baseline[repo]}
            changed = {i["number"]: {k for k in i if i[k] != reference[i["number"]][k]} for i in truth}
            changed = {n: keys for n, keys in changed.items() if keys}
            assert len(changed) == count
            assert set(changed) <= defective(kind, truth)
            if kind == "duplicate_id":
                assert all(keys == {"id"} for keys in changed.values())
            if kind in ("wrong_type", "negative_count"):
                assert all(keys == {"comments"} for keys in changed.values())
            if kind == "null_title":
                assert all(keys == {"title"} for keys in changed.values())
            if kind == "unknown_enum":
                assert all(keys == {"author_association"} for keys in changed.values())
            if kind == "closed_before_created":
                assert all("closed_at" in keys for keys in changed.values())  # state may already have been closed
            assert all(i["updated_at"] >= i["created_at"] for i in truth)


@pytest.mark.parametrize("kind", BAD_DATA_KINDS)
def test_each_kind_is_deterministic(kind: str) -> None:
    runs = []
    for seed in (5, 5, 6):
        with Emulator(cfg(seed=seed, bad_data=((kind, 3),))) as e:
            truth = e.issues(REPOS[0])
            runs.append((orjson.dumps(truth), defective(kind, truth)))
    assert runs[0] == runs[1]
    assert runs[0][1] != runs[2][1]


@pytest.mark.parametrize("kind", BAD_DATA_KINDS)
def test_bad_data_day_places_defects_on_that_day(kind: str, http: httpx.Client) -> None:
    count = 12  # more than the ~7 issues updated on a typical day: some are moved onto it
    day_lo = ts(f"{BAD_DAY}T00:00:00Z")
    c = http
    with Emulator(cfg(bad_data=((kind, count),), bad_data_day=BAD_DAY)) as e:
        for repo in REPOS:
            truth = e.issues(repo)
            assert defect_count(kind, truth) == count
            numbers = defective(kind, truth)
            bad = [i for i in truth if i["number"] in numbers]
            if kind == "duplicate_id":  # the copy is on the day, the issue whose id it copies may be anywhere
                assert all(any(BAD_DAY == i["updated_at"][:10] for i in truth if i["number"] in g) for g in _dupes(truth))
            else:
                assert all(i["updated_at"][:10] == BAD_DAY for i in bad)
                assert all(i["updated_at"] >= i["created_at"] for i in bad)
            for i in truth:
                assert i["updated_at"] >= i["created_at"]
                if i["closed_at"] is not None and kind != "closed_before_created":
                    assert i["created_at"] <= i["closed_at"] <= i["updated_at"]

            # incremental paging by updated_at still sees a consistent, complete ordering
            since = f"{BAD_DAY}T00:00:00Z"
            listed = walk(
                c,
                f"{e.url}/repos/{repo}/issues",
                {"state": "all", "sort": "updated", "direction": "asc", "since": since, "per_page": 30},
            )
            later = (i for i in truth if ts(i["updated_at"]) >= day_lo)
            expected = sorted(later, key=lambda i: (i["updated_at"], i["number"]))
            assert listed == expected
            on_day = searched(c, e, f"repo:{repo} updated:{BAD_DAY}", sort="updated", order="asc")
            assert on_day == [i for i in expected if i["updated_at"][:10] == BAD_DAY]
            if kind != "duplicate_id":
                assert defect_count(kind, on_day) == count
        again = Emulator(cfg(bad_data=((kind, count),), bad_data_day=BAD_DAY))
        try:
            assert again.issues(REPOS[0]) == e.issues(REPOS[0])
        finally:
            again.stop()


# ---------------------------------------------------------------------------
# all kinds together, mutation, configuration
# ---------------------------------------------------------------------------


def test_all_kinds_are_disjoint_and_survive_mutation(http: httpx.Client) -> None:
    counts = dict(zip(BAD_DATA_KINDS, (3, 4, 2, 5, 3, 2)))
    c = http
    with Emulator(cfg(bad_data=counts, bad_data_day=BAD_DAY)) as e:
        repo = REPOS[1]
        truth = e.issues(repo)
        sets = {k: defective(k, truth) for k in BAD_DATA_KINDS}
        assert {k: defect_count(k, truth) for k in BAD_DATA_KINDS} == counts
        singles = [sets[k] for k in BAD_DATA_KINDS if k != "duplicate_id"]
        assert sum(map(len, singles)) == len(set().union(*singles))
        assert not sets["duplicate_id"] & set().union(*singles)
        assert by_number(served(c, e, repo, sort="comments")) == truth

        numbers = e.mutate(repo, update=len(truth), add=2)  # touch every issue
        after = e.issues(repo)
        assert len(after) == len(truth) + 2 and set(numbers[-2:]) == {len(truth) + 1, len(truth) + 2}
        assert {k: defect_count(k, after) for k in BAD_DATA_KINDS} == counts
        assert sets["closed_before_created"] == defective("closed_before_created", after)
        assert by_number(served(c, e, repo)) == after


def test_config_validation_and_cli_parsing() -> None:
    c = cfg(bad_data="null_title=2, wrong_type=1", bad_data_day=BAD_DAY, drift_day=DRIFT_DAY, drift_factor=3)
    assert c.bad_data == (("null_title", 2), ("wrong_type", 1)) and c.drift_factor == 3.0
    assert cfg(bad_data={"unknown_enum": 1}).bad_data == (("unknown_enum", 1),)
    assert cfg(bad_data=[["negative_count", 2]]).bad_data == (("negative_count", 2),)
    bad_configs: list[dict[str, Any]] = [
        {"bad_data": (("alien_kind", 1),)},
        {"bad_data": (("null_title", -1),)},
        {"bad_data": (("null_title", 1), ("null_title", 2))},
        {"bad_data": (("null_title", 1.5),)},
        {"bad_data": "null_title"},
        {"bad_data": (("duplicate_id", 151),)},  # needs 302 distinct issues
        {"bad_data_day": "2024-12-31"},
        {"bad_data_day": "2025-02-10"},  # the 41st day of a 40-day window
        {"drift_day": "25/01/2025"},
        {"drift_day": DRIFT_DAY, "drift_factor": -1.0},
        {"drift_day": DRIFT_DAY, "drift_factor": float("nan")},
        {"drift_factor": 2.0},
    ]
    for kwargs in bad_configs:
        with pytest.raises((ValueError, TypeError)):
            cfg(**kwargs)

    parser = build_parser()
    args = parser.parse_args(
        ["--bad-data", "null_title=3,duplicate_id=1", "--bad-data-day", "2025-01-05"]
        + ["--drift-day", "2025-01-07", "--drift-factor", "10"]
    )
    parsed = config_from_args(args)
    assert parsed.bad_data == (("null_title", 3), ("duplicate_id", 1))
    assert (parsed.bad_data_day, parsed.drift_day, parsed.drift_factor) == ("2025-01-05", "2025-01-07", 10.0)
    defaults = config_from_args(parser.parse_args([]))
    assert (defaults.bad_data, defaults.bad_data_day, defaults.drift_day, defaults.drift_factor) == ((), None, None, 1.0)
    with pytest.raises(SystemExit):
        parser.parse_args(["--bad-data", "null_title"])


def test_cli_serves_bad_data(http: httpx.Client) -> None:
    args = ["--seed", "3", "--repos", "1", "--issues", "150", "--bad-data", "null_title=3,unknown_enum=2", "--bad-data-day", "2025-01-20"]
    with emulator_cli(*args) as url:
        items = walk(http, f"{url}/repos/emulated-org/repo-000/issues", {"state": "all", "per_page": 100})
        assert len(items) == 150
        assert defect_count("null_title", items) == 3 and defect_count("unknown_enum", items) == 2
        assert all(i["updated_at"].startswith("2025-01-20") for i in items if i["title"] is None)
    bad = subprocess.run(
        [sys.executable, "-m", "gh_assets.emulator", "--bad-data", "bogus=1"],
        cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=30,
    )
    assert bad.returncode == 2 and "unknown bad data kind" in bad.stderr


# ---------------------------------------------------------------------------
# drift
# ---------------------------------------------------------------------------


def _daily(issues: list[Issue]) -> collections.Counter[str]:
    return collections.Counter(i["updated_at"][:10] for i in issues)


@pytest.mark.parametrize("factor", [10.0, 4.0, 0.25])
def test_drift_day_scales_activity_and_shifts_values(factor: float, http: httpx.Client) -> None:
    runs = []
    c = http
    with Emulator(cfg(issues_per_repo=800, drift_day=DRIFT_DAY, drift_factor=factor)) as e:
        runs.append([e.issues(r) for r in REPOS])
        for repo in REPOS:
            truth = e.issues(repo)
            daily = _daily(truth)
            window = [time.strftime("%Y-%m-%d", time.gmtime(ts("2025-01-01T00:00:00Z") + d * 86400)) for d in range(DAYS)]
            others = [daily[d] for d in window if d != DRIFT_DAY]
            mean = sum(others) / len(others)
            assert daily[DRIFT_DAY] == pytest.approx(factor * mean, rel=0.05, abs=1.0)
            on_day = [i for i in truth if i["updated_at"][:10] == DRIFT_DAY]
            assert all(i["state"] == "open" and i["closed_at"] is None and i["labels"] == [] for i in on_day)
            for i in truth:
                assert i["created_at"] <= i["updated_at"]
                assert i["closed_at"] is None or i["closed_at"] <= i["updated_at"]
            assert len(truth) == 800
            found = searched(c, e, f"repo:{repo} updated:{DRIFT_DAY}", sort="updated", order="asc")
            assert found == sorted(on_day, key=lambda i: (i["updated_at"], i["number"]))
    with Emulator(cfg(issues_per_repo=800, drift_day=DRIFT_DAY, drift_factor=factor)) as again:
        runs.append([again.issues(r) for r in REPOS])
    assert runs[0] == runs[1]


def test_drift_with_bad_data_on_the_same_day() -> None:
    bad = {"closed_before_created": 3, "wrong_type": 2}
    with Emulator(cfg(drift_day=DRIFT_DAY, drift_factor=5.0, bad_data=bad, bad_data_day=DRIFT_DAY)) as e:
        truth = e.issues(REPOS[0])
        on_day = [i for i in truth if i["updated_at"][:10] == DRIFT_DAY]
        cbc = defective("closed_before_created", truth)
        assert len(cbc) == 3 and defect_count("wrong_type", truth) == 2
        assert all(i["labels"] == [] for i in on_day)
        assert all(i["state"] == ("closed" if i["number"] in cbc else "open") for i in on_day)
        bad_rows = [i for i in truth if i["number"] in cbc or isinstance(i["comments"], str)]
        assert len(bad_rows) == 5 and all(i["updated_at"][:10] == DRIFT_DAY for i in bad_rows)


# ---------------------------------------------------------------------------
# defaults
# ---------------------------------------------------------------------------


def test_defaults_serve_unchanged_data(baseline: dict[str, list[Issue]], http: httpx.Client) -> None:
    assert hashlib.sha256(b"".join(orjson.dumps(baseline[r]) for r in REPOS)).hexdigest() == DEFAULT_DIGEST
    explicit = cfg(bad_data=(), bad_data_day=None, drift_day=None, drift_factor=1.0)
    assert explicit == cfg()
    zero = cfg(bad_data=tuple((k, 0) for k in BAD_DATA_KINDS), bad_data_day=BAD_DAY)
    bodies = []
    for config in (cfg(), explicit, zero):
        with Emulator(config) as e:
            pages = []
            for repo in REPOS:
                assert e.issues(repo) == baseline[repo]
                for params in ({"state": "all", "per_page": 100, "page": 2}, {"sort": "updated", "since": "2025-01-20"}):
                    pages.append(http.get(f"{e.url}/repos/{repo}/issues", params=params).content)
                q = f"repo:{repo} updated:{BAD_DAY}..{DRIFT_DAY}"
                pages.append(http.get(f"{e.url}/search/issues", params={"q": q}).content)
            e.mutate(REPOS[0], update=10, add=2)
            pages.append(orjson.dumps(e.issues(REPOS[0])))
            bodies.append(pages)
    assert bodies[0] == bodies[1] == bodies[2]
