"""The features config: defaults, the shipped features.yaml, and errors that name the file and the field."""

from pathlib import Path

import pytest

from gh_assets.features.build import catalogue_frame, columns
from gh_assets.features.config import FeaturesConfig, FeaturesConfigError, load_features_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_shipped_config_loads() -> None:
    config = load_features_config(REPO_ROOT / "features.yaml")
    assert config.windows == (7, 28, 90)
    assert config.snapshots.mode == "daily"
    assert config.priority_labels["priority/high"] == 0.75
    assert config.normalisation_of(next(c.feature for c in columns("issue", config) if c.name == "body_length")) == "percent_rank"


def test_env_path_and_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "f.yaml"
    file.write_text("windows_days: [30, 7]\nsnapshots:\n  mode: dates\n  dates: [2025-01-15]\n")
    monkeypatch.setenv("GH_ASSETS_FEATURES_CONFIG", str(file))
    config = load_features_config()
    assert config.windows == (7, 30)
    names = {c.name for c in columns("contributor", config)}
    assert {"prs_merged_7d", "prs_merged_30d", "experience_days"} <= names and "prs_merged_28d" not in names
    assert catalogue_frame(config).filter(entity="contributor", feature="prs_merged").height == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("windows_days: [7, seven]\n", "windows_days[1]: Input should be a valid integer"),
        ("windows_days: [0]\n", "windows_days[0]: Input should be greater than or equal to 1"),
        ("windows_days: [7, 7]\n", "windows_days: windows must be distinct"),
        ("priority_labels:\n  urgent: 2\n", "priority_labels.urgent: Input should be less than or equal to 1"),
        ("missing:\n  contributor.nope: zero\n", "missing: unknown feature(s) ['contributor.nope']"),
        ("missing:\n  issue.priority: guess\n", "missing.issue.priority: Input should be 'zero', 'median', 'keep' or 'drop'"),
        ("normalisation:\n  contributor.top_extensions: minmax\n", "a list feature cannot be normalised"),
        ("snapshots:\n  mode: dates\n", "snapshots: mode 'dates' needs at least one entry"),
        ("snapshots:\n  mode: dates\n  dates: [2025-13-01]\n", "snapshots.dates[0]: Input should be a valid date"),
        ("windwos_days: [7]\n", "windwos_days: Extra inputs are not permitted"),
        ("windows_days: [7\n", "is not valid YAML"),
        ("- 7\n", "expected a mapping, got list"),
    ],
)
def test_errors_name_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    file = tmp_path / "features.yaml"
    file.write_text(text)
    with pytest.raises(FeaturesConfigError) as err:
        load_features_config(file)
    assert str(err.value).startswith(str(file)), err.value
    assert expected in str(err.value), err.value


def test_missing_file_says_which_variable(tmp_path: Path) -> None:
    with pytest.raises(FeaturesConfigError, match="GH_ASSETS_FEATURES_CONFIG"):
        load_features_config(tmp_path / "absent.yaml")


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    (tmp_path / "features.yaml").write_text("")
    assert load_features_config(tmp_path / "features.yaml") == FeaturesConfig()
