"""The feature catalogue: every feature's entity, definition, window use and default policies (no Dagster)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Normalisation = Literal["minmax", "percent_rank", "identity", "none"]
Missing = Literal["zero", "median", "keep", "drop"]


@dataclass(frozen=True)
class Entity:
    """A feature table: its name and entity key columns."""

    name: str
    keys: tuple[str, ...]
    grain: str


@dataclass(frozen=True)
class Feature:
    """One feature; windowed features become one column per window, ``<name>_<days>d``."""

    entity: str
    name: str
    definition: str
    windowed: bool = False
    normalisation: Normalisation = "minmax"
    missing: Missing = "zero"
    kind: Literal["number", "list"] = "number"

    @property
    def qualified(self) -> str:
        return f"{self.entity}.{self.name}"


ENTITIES = {
    e.name: e
    for e in (
        Entity("contributor", ("repository", "login"), "repository x login x day, on days with any activity of theirs in the longest window"),
        Entity("issue", ("repository", "number"), "repository x issue number x day, on days the issue is open (PRs excluded)"),
        Entity("milestone", ("repository", "milestone_number"), "repository x milestone x day, from the first issue created in it"),
        Entity("repo", ("repository",), "repository x day, over its loaded range"),
    )
}

_C, _I, _M, _R = "contributor", "issue", "milestone", "repo"
FEATURES: tuple[Feature, ...] = (
    # contributor: activity per window
    Feature(_C, "issues_opened", "issues (not PRs) they opened, created in the window", True),
    Feature(_C, "prs_opened", "pull requests they opened in the window", True),
    Feature(_C, "prs_merged", "their pull requests merged in the window", True),
    Feature(_C, "reviews_given", "reviews they submitted in the window", True),
    Feature(_C, "commits", "commits they authored (linked login), by committer date, in the window", True),
    Feature(_C, "comments", "issue/PR comments they wrote in the window", True),
    # contributor: velocity, collaboration, quality
    Feature(_C, "median_hours_to_merge", "median created->merged hours of their PRs merged in the window", True, missing="median"),
    Feature(_C, "median_hours_to_close", "median created->closed hours of issues assigned to them and closed in the window", True, missing="median"),
    Feature(_C, "co_reviewers", "distinct other people who reviewed their PRs in the window", True),
    Feature(
        _C,
        "bug_followup_share",
        "share of their PRs merged in the window that a bug-labelled issue, created after the merge, within the window and by the "
        "event time, mentions as #<number> in its title or body; null without merges",
        True,
        normalisation="identity",
        missing="keep",
    ),
    # contributor: experience, workload, skills
    Feature(_C, "experience_days", "days since their first contribution (issue, PR, review, commit or comment)"),
    Feature(_C, "open_assigned_issues", "issues assigned to them that are open at the event time"),
    Feature(_C, "open_assigned_prs", "pull requests assigned to them that are open at the event time"),
    Feature(_C, "open_assigned_in_progress", "issues and PRs assigned to them, open at the event time, carrying an in_progress_labels label"),
    Feature(_C, "open_assigned_blocked", "issues and PRs assigned to them, open at the event time, carrying a blocked_labels label"),
    # contributor: effort proxies, over their PRs opened in the window (0 without one)
    Feature(_C, "avg_pr_size", "mean lines changed (additions + deletions over its files) of their PRs opened in the window", True, normalisation="percent_rank"),
    Feature(_C, "avg_files_touched", "mean files changed by their PRs opened in the window", True),
    Feature(
        _C,
        "avg_review_rounds",
        "mean review rounds of their PRs opened in the window: distinct commits reviewed by someone else, reviews submitted by the event time",
        True,
    ),
    Feature(_C, "top_extensions", "up to 3 file extensions most touched by their PRs opened so far (by PRs, then lines)", normalisation="none", missing="keep", kind="list"),
    Feature(_C, "top_directories", "up to 3 top-level directories most touched by their PRs opened so far", normalisation="none", missing="keep", kind="list"),
    # issue
    Feature(_I, "comments_total", "comments on the issue created by the event time"),
    Feature(_I, "comments", "comments on the issue created in the window", True),
    Feature(_I, "participants", "distinct commenters by the event time"),
    Feature(_I, "body_length", "characters of the body (0 when empty)", normalisation="percent_rank"),
    Feature(_I, "linked_prs", "PRs created by the event time whose title or body mentions #<issue number> (proxy for linked PRs)"),
    Feature(_I, "references", "issues and PRs created by the event time whose title or body mentions #<issue number>"),
    Feature(_I, "priority", "highest weight of its labels in the configured priority mapping; null when no label matches", normalisation="identity"),
    Feature(_I, "age_days", "days since the issue was created"),
    Feature(_I, "days_until_milestone_due", "days from the event time to its milestone's due_on (negative when overdue); null without a due date", missing="keep"),
    # milestone
    Feature(_M, "total_issues", "issues and PRs in the milestone created by the event time (GitHub counts both)"),
    Feature(_M, "open_issues", "of those, open at the event time"),
    Feature(_M, "closed_issues", "of those, closed by the event time"),
    Feature(_M, "completion", "closed_issues / total_issues", normalisation="identity"),
    Feature(_M, "closed_per_week", "issues closed in the window per 7 days", True),
    Feature(_M, "days_to_due", "days from the event time to due_on (negative when overdue); null without a due date", missing="keep"),
    Feature(
        _M,
        "risk",
        "r / (1 + r) with r = open_issues / (closed_per_week / 7 x max(days_to_due, 0)): 0 nothing open, 0.5 on pace, "
        "1 no progress or overdue with open work; null without a due date",
        True,
        normalisation="identity",
        missing="keep",
    ),
    Feature(_M, "team_size", "distinct authors and assignees of its issues created by the event time"),
    # repo
    Feature(_R, "active_contributors", "distinct logins with any activity in the window (team size)", True),
    Feature(_R, "activity_gini", "Gini coefficient of per-contributor activity counts in the window (0 = even)", True, normalisation="identity"),
    Feature(
        _R,
        "review_coverage",
        "share of PRs merged in the window with at least one review by someone other than the author submitted by the merge; null without merges",
        True,
        normalisation="identity",
        missing="median",
    ),
    Feature(_R, "experience_spread", "population stddev of experience_days of the contributors active in the window", True),
    Feature(_R, "experience_avg", "mean experience_days of the contributors active in the window", True),
    Feature(_R, "experience_min", "least experience_days among the contributors active in the window (the newest)", True),
    Feature(_R, "experience_max", "greatest experience_days among the contributors active in the window (the longest-standing)", True),
    Feature(
        _R,
        "collaboration_score",
        "mean distinct non-author participants (reviewers and commenters, by the event time) per PR opened in the window",
        True,
    ),
    Feature(_R, "open_issues", "issues (not PRs) open at the event time"),
)


def features_of(entity: str) -> tuple[Feature, ...]:
    return tuple(f for f in FEATURES if f.entity == entity)


def column_names(feature: Feature, windows: tuple[int, ...]) -> tuple[str, ...]:
    """The table columns of a feature: itself, or one per window."""
    return tuple(f"{feature.name}_{w}d" for w in windows) if feature.windowed else (feature.name,)
