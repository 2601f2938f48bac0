"""The sources config: valid files load, bad files and bad repository names fail naming the file and field."""

from pathlib import Path

import pytest

from gh_assets.config import ConfigError, load_sources, repo_from_slug, repo_slug, validate_repo_name


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_names_and_per_repo_start(tmp_path: Path) -> None:
    cfg = load_sources(write(tmp_path, "github:\n  start: 2024-03-01\n  repos:\n    - a/b\n    - name: c-d/e.f_g\n      start: 2024-05-02\n"))
    assert cfg.repo_names == ["a/b", "c-d/e.f_g"]
    assert str(cfg.repo_start("a/b")) == "2024-03-01"
    assert str(cfg.repo_start("c-d/e.f_g")) == "2024-05-02"


def test_default_path_comes_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "github:\n  start: 2024-01-01\n  repos: [x/y]\n")
    monkeypatch.setenv("GH_ASSETS_CONFIG", str(path))
    assert load_sources().repo_names == ["x/y"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("github:\n  start: 2024-01-01\n  repos: ['../x']\n", "github.repos[0].name: '../x'"),
        ("github:\n  start: 2024-01-01\n  repos: ['a/b/c']\n", "exactly one '/'"),
        ("github:\n  start: 2024-01-01\n  repos: ['-bad/x']\n", "owner '-bad'"),
        ("github:\n  start: 2024-01-01\n  repos: ['a/..']\n", "name '..'"),
        ("github:\n  start: 2024-01-01\n  repos: [a/b, A/B]\n", "listed twice"),
        ("github:\n  start: 2024-13-01\n  repos: [a/b]\n", "github.start"),
        ("github:\n  repos: [a/b]\n", "github.start: Field required"),
        ("github:\n  start: 2024-01-01\n  repo: [a/b]\n", "github.repo: Extra inputs are not permitted"),
        ("github:\n  start: 2024-01-01\n  repos:\n    - name: a/b\n      start: soon\n", "github.repos[0].start"),
        ("- just\n- a list\n", "expected a mapping"),
        ("github: [unclosed\n", "line 2"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_missing_file_says_which_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GH_ASSETS_CONFIG"):
        load_sources(tmp_path / "nope.yaml")


@pytest.mark.parametrize("bad", ["", "a", "a/b/c", "../etc", "a/..", "a/.", "own er/x", "a/b c", "a/" + "x" * 101, "a--b/x", "a/b\n"])
def test_bad_repo_names_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        validate_repo_name(bad)


def test_slug_round_trip_is_unambiguous() -> None:
    for repo in ["dagster-io/dagster", "a/b__c", "x/.github", "o-1/n.js"]:
        assert repo_from_slug(repo_slug(repo)) == repo
    assert "/" not in repo_slug("dagster-io/dagster")
