"""The features config (``features.yaml``): windows, snapshot dates, label mappings and per-feature policies.

Read like the sources config (``gh_assets.config.load_sources``): YAML through the BaseLoader, so every
scalar reaches pydantic as a string and errors name the file and the field.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gh_assets.config import load_yaml_model
from gh_assets.features.catalogue import FEATURES, Feature, Missing, Normalisation

FEATURES_CONFIG_ENV = "GH_ASSETS_FEATURES_CONFIG"
DEFAULT_FEATURES_CONFIG = "features.yaml"
_BY_NAME = {f.qualified: f for f in FEATURES}


class FeaturesConfigError(ValueError):
    """The features config is missing, unreadable or invalid; the message names the file and the field."""


class Snapshots(BaseModel):
    """When feature rows are taken: every UTC day of each repository's loaded range, or the listed days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["daily", "dates"] = "daily"
    dates: Annotated[list[date], Field(default_factory=list)]

    @model_validator(mode="after")
    def _dates_when_listed(self) -> Snapshots:
        if self.mode == "dates" and not self.dates:
            raise ValueError("mode 'dates' needs at least one entry in 'dates' (YYYY-MM-DD)")
        if self.mode == "daily" and self.dates:
            raise ValueError("'dates' is only read with mode: dates")
        return self


class FeaturesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    windows_days: Annotated[list[Annotated[int, Field(ge=1, le=3650)]], Field(min_length=1)] = Field(default_factory=lambda: [7, 28, 90])
    snapshots: Snapshots = Field(default_factory=Snapshots)
    # label name (matched case-insensitively, whole name) -> priority weight in [0, 1]; an issue takes its highest
    priority_labels: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: {"priority/critical": 1.0, "priority/high": 0.75, "priority/medium": 0.5, "priority/low": 0.25}
    )
    bug_labels: Annotated[list[str], Field(min_length=1)] = Field(default_factory=lambda: ["bug"])
    # labels (whole name, case-insensitive) that mark an item in progress / blocked (contributor workload)
    in_progress_labels: list[str] = Field(default_factory=lambda: ["in progress", "in-progress", "status: in progress", "wip"])
    blocked_labels: list[str] = Field(default_factory=lambda: ["blocked", "status: blocked"])
    # per feature, '<entity>.<feature>' (windowed features: the name without the window suffix)
    normalisation: dict[str, Normalisation] = Field(default_factory=dict)
    missing: dict[str, Missing] = Field(default_factory=dict)

    @field_validator("windows_days")
    @classmethod
    def _unique_windows(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError(f"windows must be distinct, got {value}")
        return sorted(value)

    @field_validator("normalisation", "missing")
    @classmethod
    def _known_features(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - _BY_NAME.keys())
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; expected '<entity>.<feature>' from the catalogue, e.g. 'contributor.prs_merged'")
        return value

    @model_validator(mode="after")
    def _lists_not_normalised(self) -> FeaturesConfig:
        for name, method in self.normalisation.items():
            if _BY_NAME[name].kind == "list" and method != "none":
                raise ValueError(f"normalisation.{name}: a list feature cannot be normalised (use 'none')")
            if _BY_NAME[name].kind == "number" and method == "none":
                raise ValueError(f"normalisation.{name}: numeric features are normalised to 0-1 (minmax, percent_rank or identity)")
        for name, policy in self.missing.items():
            if _BY_NAME[name].kind == "list" and policy == "median":
                raise ValueError(f"missing.{name}: a list feature has no median")
        return self

    @property
    def windows(self) -> tuple[int, ...]:
        return tuple(self.windows_days)

    def normalisation_of(self, feature: Feature) -> Normalisation:
        return self.normalisation.get(feature.qualified, feature.normalisation)

    def missing_of(self, feature: Feature) -> Missing:
        return self.missing.get(feature.qualified, feature.missing)


def features_config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """``path`` if given, else ``$GH_ASSETS_FEATURES_CONFIG``, else ``./features.yaml``."""
    return Path(path or os.environ.get(FEATURES_CONFIG_ENV) or DEFAULT_FEATURES_CONFIG)


def load_features_config(path: str | os.PathLike[str] | None = None) -> FeaturesConfig:
    """Read and validate the features config; raise :class:`FeaturesConfigError` naming the file and the field.

    With no path given, no ``$GH_ASSETS_FEATURES_CONFIG`` and no ``./features.yaml``, the defaults apply.
    """
    if path is None and not os.environ.get(FEATURES_CONFIG_ENV) and not Path(DEFAULT_FEATURES_CONFIG).exists():
        return FeaturesConfig.model_validate({})
    return load_yaml_model(
        features_config_path(path), FeaturesConfig, "features config", FEATURES_CONFIG_ENV, FeaturesConfigError, empty_ok=True
    )
