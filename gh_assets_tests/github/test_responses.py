"""The pure response classifier, URL sanitising and Link parsing: every rule without I/O."""

import httpx
import pytest

from gh_assets.github import errors
from gh_assets.github.responses import Outcome, classify, parse_link_header, sanitize_url

URL = "https://api.github.com/repos/o/r/issues?page=2&access_token=SECRET123"


def h(**kw: str) -> httpx.Headers:
    return httpx.Headers({k.replace("_", "-"): v for k, v in kw.items()})


def test_success_and_not_modified() -> None:
    assert classify(200, h(), b"[]", URL).outcome is Outcome.OK
    assert classify(304, h(), b"", URL).outcome is Outcome.NOT_MODIFIED


def test_primary_rate_limit_waits_until_reset() -> None:
    verdict = classify(403, h(x_ratelimit_remaining="0", x_ratelimit_reset="1100"), b'{"message":"API rate limit exceeded"}', URL, now=1000.0)
    assert verdict.outcome is Outcome.RATE_LIMITED
    assert verdict.wait_seconds == pytest.approx(101.0)


def test_secondary_rate_limit_honours_retry_after() -> None:
    verdict = classify(403, h(retry_after="7", x_ratelimit_remaining="12"), b'{"message":"secondary rate limit"}', URL)
    assert verdict.outcome is Outcome.SECONDARY_LIMITED and verdict.wait_seconds == 7.0
    no_header = classify(403, h(x_ratelimit_remaining="12"), b'{"message":"You have exceeded a secondary rate limit."}', URL)
    assert no_header.outcome is Outcome.SECONDARY_LIMITED and no_header.wait_seconds > 0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retryable(status: int) -> None:
    assert classify(status, h(), b"<html>", URL).outcome is Outcome.RETRYABLE


@pytest.mark.parametrize(
    ("status", "error", "hint"),
    [
        (401, errors.BadCredentials, "GITHUB_TOKEN"),
        (403, errors.Forbidden, "permission"),
        (404, errors.NotFound, "private"),
        (410, errors.Gone, "gone"),
        (451, errors.Gone, "gone"),
        (422, errors.ValidationFailed, "Validation"),
        (418, errors.UnexpectedResponse, "418"),
    ],
)
def test_fatal_statuses_get_typed_errors_without_secrets(status: int, error: type, hint: str) -> None:
    verdict = classify(status, h(x_ratelimit_remaining="10"), b'{"message":"Validation Failed"}', URL)
    assert verdict.outcome is Outcome.FATAL
    assert isinstance(verdict.error, error)
    assert hint in str(verdict.error)
    assert "SECRET123" not in str(verdict.error)
    assert verdict.error.status == status


def test_sanitize_url_drops_credentials() -> None:
    assert sanitize_url("https://user:pw@api.github.com/x?client_secret=s&per_page=100") == (
        "https://api.github.com/x?client_secret=REDACTED&per_page=100"
    )


def test_parse_link_header() -> None:
    value = '<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=9>; rel="last"'
    assert parse_link_header(value) == {
        "next": "https://api.github.com/repositories/1/issues?page=2",
        "last": "https://api.github.com/repositories/1/issues?page=9",
    }
    assert parse_link_header(None) == {}
