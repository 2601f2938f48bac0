"""Pandera models of the feature tables: keys unique per event time, features in [0, 1], nulls only where kept."""

from datetime import UTC, datetime

import pandera.polars as pa
import polars as pl
import pytest

from gh_assets.features.build import columns
from gh_assets.features.config import FeaturesConfig
from gh_assets.features.schemas import feature_schema

T = datetime(2025, 1, 1, 23, 59, 59, 999999, tzinfo=UTC)


def _repo_frame(**overrides: object) -> pl.DataFrame:
    config = FeaturesConfig()
    row = {"repository": "o/r", "event_timestamp": T, **{c.name: 0.5 for c in columns("repo", config)}, **overrides}
    return pl.DataFrame([row, {**row, "repository": "o/s"}]).with_columns(pl.col("event_timestamp").cast(pl.Datetime("us", "UTC")))


def test_valid_frame_passes() -> None:
    feature_schema("repo", columns("repo", FeaturesConfig())).validate(_repo_frame(), lazy=True)


@pytest.mark.parametrize(
    ("frame", "check"),
    [
        (_repo_frame(open_issues=1.5), "in_range"),
        (_repo_frame(review_coverage_7d=None), "not_nullable"),
        (pl.concat([_repo_frame(), _repo_frame()]), "unique"),
        (_repo_frame(extra=0.1), "column_in_schema"),
    ],
)
def test_bad_frames_fail(frame: pl.DataFrame, check: str) -> None:
    with pytest.raises(pa.errors.SchemaErrors) as err:
        feature_schema("repo", columns("repo", FeaturesConfig())).validate(frame, lazy=True)
    assert err.value.failure_cases["check"].str.contains(check).any(), err.value.failure_cases
