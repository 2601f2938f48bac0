"""Pandera models of the feature tables: entity keys and event time fixed, feature columns added per config."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from gh_assets.features.build import Column

UTC_TS = pl.Datetime(time_unit="us", time_zone="UTC")


class _FeatureRow(pa.DataFrameModel):
    event_timestamp: UTC_TS = pa.Field(nullable=False)  # type: ignore[valid-type]


class ContributorFeatures(_FeatureRow):
    repository: pl.String = pa.Field(nullable=False)
    login: pl.String = pa.Field(nullable=False)

    class Config:
        unique = ["repository", "login", "event_timestamp"]


class IssueFeatures(_FeatureRow):
    repository: pl.String = pa.Field(nullable=False)
    number: pl.Int64 = pa.Field(nullable=False, gt=0)

    class Config:
        unique = ["repository", "number", "event_timestamp"]


class MilestoneFeatures(_FeatureRow):
    repository: pl.String = pa.Field(nullable=False)
    milestone_number: pl.Int64 = pa.Field(nullable=False, gt=0)

    class Config:
        unique = ["repository", "milestone_number", "event_timestamp"]


class RepoFeatures(_FeatureRow):
    repository: pl.String = pa.Field(nullable=False)

    class Config:
        unique = ["repository", "event_timestamp"]


MODELS: dict[str, type[_FeatureRow]] = {
    "contributor": ContributorFeatures,
    "issue": IssueFeatures,
    "milestone": MilestoneFeatures,
    "repo": RepoFeatures,
}


def feature_schema(entity: str, columns: tuple[Column, ...]) -> pa.DataFrameSchema:
    """The entity's model plus one column per feature: 0-1 floats, null only where the policy keeps nulls."""
    extra: dict[str, pa.Column] = {}
    for c in columns:
        if c.feature.kind == "list":
            extra[c.name] = pa.Column(pl.List(pl.String), nullable=c.missing != "zero")
        else:
            extra[c.name] = pa.Column(pl.Float64, pa.Check.in_range(0.0, 1.0), nullable=c.missing == "keep")
    schema = MODELS[entity].to_schema().add_columns(extra)
    schema.strict = True  # a column the config does not call for is a bug, not a bonus
    return schema
