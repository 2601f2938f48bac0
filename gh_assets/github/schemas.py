"""Pandera models of the staged GitHub tables: the contract each staged partition must meet."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

UTC_TS = pl.Datetime(time_unit="us", time_zone="UTC")

# GitHub's documented values; a value outside them is kept and reported (WARN), not quarantined.
ISSUE_STATES = ["open", "closed"]
STATE_REASONS = ["completed", "not_planned", "reopened", "duplicate"]
AUTHOR_ASSOCIATIONS = [
    "COLLABORATOR",
    "CONTRIBUTOR",
    "FIRST_TIMER",
    "FIRST_TIME_CONTRIBUTOR",
    "MANNEQUIN",
    "MEMBER",
    "NONE",
    "OWNER",
]


CATEGORICAL = {"state": ISSUE_STATES, "state_reason": STATE_REASONS, "author_association": AUTHOR_ASSOCIATIONS}


class IssueSchema(pa.DataFrameModel):
    """One row per issue (or pull request, as /issues lists both) at its latest version within a partition day."""

    repository: pl.String = pa.Field(nullable=False)
    id: pl.Int64 = pa.Field(gt=0)
    node_id: pl.String = pa.Field(nullable=True)
    number: pl.Int64 = pa.Field(gt=0)
    title: pl.String = pa.Field(nullable=False)
    body: pl.String = pa.Field(nullable=True)
    state: pl.String = pa.Field(nullable=False)  # documented values: a WARN check (issues_categorical)
    state_reason: pl.String = pa.Field(nullable=True)
    locked: pl.Boolean = pa.Field(nullable=True)
    is_pull_request: pl.Boolean = pa.Field(nullable=False)
    user_login: pl.String = pa.Field(nullable=True)  # null for deleted ("ghost") accounts
    user_id: pl.Int64 = pa.Field(nullable=True)
    author_association: pl.String = pa.Field(nullable=True)
    labels: pl.List(pl.String) = pa.Field(nullable=True)
    assignees: pl.List(pl.String) = pa.Field(nullable=True)
    milestone_number: pl.Int64 = pa.Field(nullable=True)
    milestone_title: pl.String = pa.Field(nullable=True)
    comments: pl.Int64 = pa.Field(ge=0)
    reactions_total: pl.Int64 = pa.Field(nullable=True, ge=0)
    html_url: pl.String = pa.Field(nullable=True)
    created_at: UTC_TS = pa.Field(nullable=False)
    updated_at: UTC_TS = pa.Field(nullable=False)
    closed_at: UTC_TS = pa.Field(nullable=True)
    fetched_at: UTC_TS = pa.Field(nullable=False)
    partition_date: pl.Date = pa.Field(nullable=False)

    @pa.dataframe_check(element_wise=False)
    @classmethod
    def updated_not_before_created(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("updated_at") >= pl.col("created_at"))

    @pa.dataframe_check
    @classmethod
    def closed_not_before_created(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("closed_at").is_null() | (pl.col("closed_at") >= pl.col("created_at")))

    @pa.dataframe_check
    @classmethod
    def closed_has_closed_at(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("state") != "closed") | pl.col("closed_at").is_not_null())

    class Config:
        strict = True
        coerce = False
        unique = ["partition_date", "id"]  # one version per issue per partition day
