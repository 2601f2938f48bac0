"""The GitHub client over real HTTP against the emulator: pagination, keyset sweeps, ETags, tokens, retries."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from gh_assets.emulator import Emulator, EmulatorConfig
from gh_assets.github import errors
from gh_assets.github.client import GitHubClient
from gh_assets.github.pagination import CachedPage, iter_pages, sweep_issues

REPO = "demo-org/alpha"
START = datetime(2025, 1, 1, tzinfo=UTC)
FAR = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(seed=3, repos=(REPO,), issues_per_repo=1234, start="2025-01-01", days=30)) as e:
        yield e


def test_link_pagination_walks_every_page(emu: Emulator) -> None:
    with GitHubClient(emu.url) as client:
        pages = list(iter_pages(client, f"/repos/{REPO}/issues", {"state": "all", "per_page": 100}))
    numbers = [item["number"] for page in pages for item in page.data]
    assert len(pages) == 13
    assert sorted(numbers) == sorted(i["number"] for i in emu.issues(REPO))
    assert len(set(numbers)) == len(numbers) == 1234
    # GitHub (and the emulator) write page 2+ links as /repositories/{id}/...
    assert "/repositories/" in pages[0].links["next"]


def test_keyset_sweep_returns_each_issue_in_window_once(emu: Emulator) -> None:
    mid = datetime(2025, 1, 15, tzinfo=UTC)
    with GitHubClient(emu.url) as client:
        pages = list(sweep_issues(client, REPO, START, mid))
    seen = {item["id"]: item for page in pages for item in page.items}
    expected = {i["id"] for i in emu.issues(REPO) if "2025-01-01T00:00:00Z" <= i["updated_at"] < "2025-01-15T00:00:00Z"}
    in_window = {k for k, v in seen.items() if v["updated_at"] < "2025-01-15T00:00:00Z"}
    assert in_window == expected and expected
    # the sweep stops at the window's end instead of reading the rest of the repository
    assert len(seen) < 1234


def test_unchanged_page_is_a_304_and_not_charged(emu: Emulator) -> None:
    with GitHubClient(emu.url) as client:
        first = client.get(f"/repos/{REPO}/issues", {"per_page": 50})
        before = first.rate_limit.remaining
        again = client.get(f"/repos/{REPO}/issues", {"per_page": 50}, etag=first.etag)
    assert first.status == 200 and first.etag
    assert again.status == 304 and again.not_modified and again.body == b""
    assert again.rate_limit.remaining == before
    assert client.stats.not_modified == 1


def test_sweep_reuses_stored_pages_on_304(emu: Emulator) -> None:
    with GitHubClient(emu.url) as client:
        first = list(sweep_issues(client, REPO, START, FAR))
    store = {p.key: CachedPage(etag=p.response.etag, body=p.response.body) for p in first}
    with GitHubClient(emu.url) as client:
        second = list(sweep_issues(client, REPO, START, FAR, cache=store.get))
        stats = client.stats
    assert [p.key for p in second] == [p.key for p in first]
    assert all(p.reused for p in second)
    assert [p.items for p in second] == [p.items for p in first]
    assert stats.requests == stats.not_modified == len(first)


def test_bad_token_gives_clear_error_without_the_token() -> None:
    secret = "ghp_thisIsNotAValidToken0000000000000000"
    with Emulator(EmulatorConfig(seed=1, repos=(REPO,), issues_per_repo=10, tokens=("ghp_good",))) as emu:
        with GitHubClient(emu.url, token=secret) as client, pytest.raises(errors.BadCredentials) as err:
            client.get(f"/repos/{REPO}/issues")
        with GitHubClient(emu.url, token="ghp_good") as client:
            assert client.get(f"/repos/{REPO}/issues").status == 200
    message = str(err.value)
    assert "Bad credentials" in message and "GITHUB_TOKEN" in message
    assert secret not in message and secret not in repr(err.value)
    assert err.value.status == 401


def test_unknown_repository_is_not_found(emu: Emulator) -> None:
    with GitHubClient(emu.url) as client, pytest.raises(errors.NotFound, match="demo-org/missing"):
        client.get("/repos/demo-org/missing/issues")


def test_server_errors_are_retried_then_succeed() -> None:
    cfg = EmulatorConfig(seed=5, repos=(REPO,), issues_per_repo=300, fault_rate=0.5, fault_kinds=("502", "reset", "truncated"))
    with Emulator(cfg) as emu:
        with GitHubClient(emu.url, backoff_initial=0.01, backoff_max=0.05, max_attempts=20) as client:
            pages = list(sweep_issues(client, REPO, START, FAR))
        faults = [r for r in emu.request_log if r.fault]
    assert {item["id"] for page in pages for item in page.items} == {i["id"] for i in emu.issues(REPO)}
    # resets and truncated bodies are retried; a 502 on a big page is asked again with a smaller per_page
    assert faults and client.stats.retries >= len([f for f in faults if f.fault != "502"])
    shrunk = {r.query["per_page"] for r in emu.request_log if r.path.endswith("/issues")}
    assert "100" in shrunk and len(shrunk) > 1


def test_dead_server_fails_with_clear_error() -> None:
    with Emulator(EmulatorConfig(seed=1, repos=(REPO,), issues_per_repo=1)) as emu:
        url = emu.url
    with GitHubClient(url, max_attempts=2, backoff_initial=0.01, backoff_max=0.02) as client:
        with pytest.raises(errors.ServerError, match="still failing after 2 attempts"):
            client.get(f"/repos/{REPO}/issues")


def test_spent_rate_limit_beyond_max_wait_fails_with_reset_time(emu: Emulator) -> None:
    emu.set_rate_limit(remaining=0, reset_in=600.0)
    try:
        with GitHubClient(emu.url, max_rate_limit_wait=5) as client, pytest.raises(errors.RateLimitExceeded) as err:
            client.get(f"/repos/{REPO}/issues")
    finally:
        emu.set_rate_limit(remaining=5000, reset_in=3600.0)
    assert "resets at" in str(err.value) and "maximum wait" in str(err.value)
