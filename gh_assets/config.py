"""The sources config: one YAML file listing the GitHub repositories to keep, validated at load time."""

from __future__ import annotations

import fnmatch
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONFIG_ENV = "GH_ASSETS_CONFIG"
DEFAULT_CONFIG = "sources.yaml"

# GitHub's rules: owners are 1-39 alphanumerics or single inner hyphens; repository names are 1-100 of
# [A-Za-z0-9._-] and never "." or "..". Checked before a name reaches a URL or a lake path.
_OWNER_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")


M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """The sources config is missing, unreadable or invalid; the message names the file and the field."""


def validate_repo_name(value: str) -> str:
    """Return ``owner/name`` if it is a valid GitHub repository name, else raise ``ValueError`` saying why."""
    if not isinstance(value, str):
        raise ValueError(f"repository must be a string 'owner/name', got {type(value).__name__}")
    parts = value.split("/")
    if len(parts) != 2:
        raise ValueError(f"{value!r} is not a repository name: expected exactly one '/' as in 'owner/name'")
    owner, name = parts
    if not _OWNER_RE.fullmatch(owner):
        raise ValueError(
            f"{value!r}: owner {owner!r} is not a valid GitHub login "
            "(1-39 letters, digits or single inner hyphens)"
        )
    if name in (".", "..") or not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"{value!r}: name {name!r} is not a valid repository name (1-100 of letters, digits, '.', '-', '_'; not '.' or '..')"
        )
    return value


def repo_key(repo: str) -> str:
    """The case-insensitive identity of a repository: GitHub treats ``Owner/Repo`` and ``owner/repo`` as one.

    Partition keys and the marts' ``repository`` keep GitHub's canonical spelling (``full_name``); every
    comparison and lookup of repository names goes through this.
    """
    return repo.lower()


def repo_slug(repo: str) -> str:
    """The repository as one path segment: ``owner__name``, lower-case (owners cannot contain ``_``, so it is
    unambiguous; lower-case, so two spellings of one repository share their lake folders)."""
    owner, name = validate_repo_name(repo).split("/")
    return repo_key(f"{owner}__{name}")


def repo_from_slug(slug: str) -> str:
    owner, _, name = slug.partition("__")
    return validate_repo_name(f"{owner}/{name}")


class RepoSource(BaseModel):
    """One repository to keep: its name and the first day to ingest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    start: date | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return validate_repo_name(value)


class OrgSource(BaseModel):
    """Every repository of a GitHub organisation (``/orgs/{org}/repos``), filtered by name and kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    org: str
    include: Annotated[list[str], Field(default_factory=lambda: ["*"])]  # fnmatch patterns on the repository name
    exclude: Annotated[list[str], Field(default_factory=list)]
    archived: bool = False  # include archived repositories
    forks: bool = False  # include forks
    start: date | None = None

    @field_validator("org")
    @classmethod
    def _valid_org(cls, value: str) -> str:
        validate_repo_name(f"{value}/x")
        return value

    def selects(self, name: str, *, archived: bool, fork: bool) -> bool:
        """Whether the org's repository ``name`` (without the owner) is kept."""
        if (archived and not self.archived) or (fork and not self.forks):
            return False
        if not any(fnmatch.fnmatchcase(name, p) for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(name, p) for p in self.exclude)


class GitHubSources(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: date = Field(description="First day to ingest for repositories that give no start of their own.")
    repos: Annotated[list[RepoSource], Field(default_factory=list)]
    orgs: Annotated[list[OrgSource], Field(default_factory=list)]
    commit_history_months: Annotated[int, Field(ge=1)] = Field(
        default=6, description="Months of commits a first load fetches (from the later of this and the repo's start)."
    )
    detail_api: Literal["graphql", "rest"] = Field(
        default="graphql",
        description="How reviews and files of pull requests are fetched: GraphQL batches of 50 PRs (needs a token; "
        "without one REST is used) or REST, two requests per PR.",
    )

    @field_validator("repos", mode="before")
    @classmethod
    def _names_as_entries(cls, value: Any) -> Any:
        # A bare string is shorthand for {name: ...}.
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("orgs", mode="before")
    @classmethod
    def _orgs_as_entries(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"org": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _unique(self) -> GitHubSources:
        seen: set[str] = set()
        for index, repo in enumerate(self.repos):
            key = repo_key(repo.name)
            if key in seen:
                # GitHub names are case-insensitive: two spellings are one repository.
                raise ValueError(f"repos[{index}]: {repo.name!r} is listed twice (repository names are case-insensitive)")
            seen.add(key)
        orgs: set[str] = set()
        for index, org in enumerate(self.orgs):
            if org.org.lower() in orgs:
                raise ValueError(f"orgs[{index}]: {org.org!r} is listed twice")
            orgs.add(org.org.lower())
        return self

    def start_of(self, repo: RepoSource) -> date:
        return repo.start or self.start


class IssueQuality(BaseModel):
    """Thresholds of the data-quality checks on issues (staged and marts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_null_fraction: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: {"title": 0.0, "state": 0.0, "body": 0.6, "user_login": 0.1}
    )
    max_quarantined_fraction: Annotated[float, Field(ge=0, le=1)] = 0.0
    freshness_hours: Annotated[float, Field(gt=0)] = 48.0
    drift_window_days: Annotated[int, Field(ge=1)] = 14
    drift_max_row_ratio: Annotated[float, Field(gt=1)] = 3.0
    drift_max_psi: Annotated[float, Field(gt=0)] = 0.25
    drift_min_rows: Annotated[int, Field(ge=1)] = 30


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    issues: IssueQuality = Field(default_factory=IssueQuality)


# ---------------------------------------------------------------------------------------------- table sources
# A table's name becomes the asset key ``tables/<name>``, a lake folder and the DuckDB table ``tables.<name>``:
# lower-case identifiers only, so it is safe in all three without quoting.
_TABLE_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SQL_TABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
TABLE_COLUMN_TYPES = ("string", "int", "float", "bool", "date", "datetime")
TableColumnType = Literal["string", "int", "float", "bool", "date", "datetime"]
# Columns the staging adds to quarantined rows; a table's own columns may not take these names.
TABLE_RESERVED_COLUMNS = frozenset({"quarantine_reason", "source_file", "source_line", "source_row"})


def parse_table_value(kind: str, text: str) -> int | float | bool | date | datetime | str:
    """A config value (range bound, allowed value) as the column type ``kind``; ``ValueError`` if it is not one."""
    value = text.strip()
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        lowered = value.lower()
        if lowered in ("true", "1", "yes", "t", "y"):
            return True
        if lowered in ("false", "0", "no", "f", "n"):
            return False
        raise ValueError(f"{text!r} is not a bool")
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "datetime":
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return text


class TableRange(BaseModel):
    """Inclusive bounds of a column (either may be left out)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: str | None = None
    max: str | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> TableRange:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        return self


class TableChecks(BaseModel):
    """Row-level rules of a table, enforced by a Pandera schema built from them (names after ``rename``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required: Annotated[list[str], Field(default_factory=list)]  # columns every source file must have
    not_null: Annotated[list[str], Field(default_factory=list)]
    unique: Annotated[list[list[str]], Field(default_factory=list)]  # each key: a column or a list of columns
    ranges: Annotated[dict[str, TableRange], Field(default_factory=dict)]
    allowed: Annotated[dict[str, list[str]], Field(default_factory=dict)]

    @field_validator("unique", mode="before")
    @classmethod
    def _keys_as_lists(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [[v] if isinstance(v, str) else v for v in value]
        return value

    def columns(self) -> set[str]:
        return {*self.required, *self.not_null, *(c for key in self.unique for c in key), *self.ranges, *self.allowed}


FILE_TABLE_KINDS = ("csv", "parquet", "jsonl")


class TableSource(BaseModel):
    """One tabular source (CSV, Parquet or JSON Lines files, or a PostgreSQL query) staged as ``tables/<name>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["csv", "parquet", "jsonl", "sql"]
    # csv, parquet, jsonl
    path: str | None = None  # a file, folder or glob, local or s3://; relative paths are relative to the config file's folder
    delimiter: str = ","  # csv only
    # sql
    dsn_env: str | None = None  # the NAME of the environment variable holding the PostgreSQL DSN (never the DSN)
    query: str | None = None
    table: str | None = None
    batch_bytes: Annotated[int, Field(ge=1024)] = 16 * 1024 * 1024  # ADBC's batch size hint when reading
    # schema
    columns: dict[str, TableColumnType] | None = None  # source column -> type; or infer: true
    infer: bool = False
    rename: Annotated[dict[str, str], Field(default_factory=dict)]  # source column -> table column
    dedup_keys: Annotated[list[str], Field(default_factory=list)]
    partition_column: str | None = None  # a date/datetime column: one lake partition per day, else one `all`
    checks: TableChecks = Field(default_factory=TableChecks)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not _TABLE_NAME_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a table name: 1-63 of lower-case letters, digits and '_', starting with a letter")
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1 or value in ('"', "\n", "\r"):
            raise ValueError(f"{value!r}: the delimiter is one character (not a quote or a newline)")
        return value

    @field_validator("dsn_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME_RE.fullmatch(value):
            raise ValueError("dsn_env is the NAME of an environment variable holding the DSN (e.g. CRM_DSN), not the DSN itself")
        return value

    @field_validator("table")
    @classmethod
    def _sql_table(cls, value: str | None) -> str | None:
        if value is not None and not _SQL_TABLE_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a table name ('name' or 'schema.name', letters, digits and '_')")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TableSource:
        if self.kind in FILE_TABLE_KINDS:
            if not self.path:
                raise ValueError(f"table {self.name!r}: kind {self.kind} needs a path (a file, a folder or a glob)")
            if "://" in self.path and not self.path.startswith("s3://"):
                raise ValueError(f"table {self.name!r}: path {self.path!r}: a local path or an s3:// URL is supported")
            if self.dsn_env or self.query or self.table:
                raise ValueError(f"table {self.name!r}: dsn_env, query and table belong to kind sql")
            if self.kind != "csv" and "delimiter" in self.model_fields_set:
                raise ValueError(f"table {self.name!r}: delimiter belongs to kind csv")
        else:
            if not self.dsn_env:
                raise ValueError(f"table {self.name!r}: kind sql needs dsn_env, the name of the variable holding the DSN")
            if (self.query is None) == (self.table is None):
                raise ValueError(f"table {self.name!r}: kind sql needs exactly one of query and table")
            if self.path:
                raise ValueError(f"table {self.name!r}: path belongs to kinds {', '.join(FILE_TABLE_KINDS)}")
        if (self.columns is None) == (not self.infer):
            raise ValueError(f"table {self.name!r}: give either columns (name: type) or infer: true")
        targets = list(self.rename.values())
        if len(set(targets)) != len(targets):
            raise ValueError(f"table {self.name!r}: rename maps two columns to one name")
        if self.columns is not None:
            unknown = sorted(set(self.rename) - set(self.columns))
            if unknown:
                raise ValueError(f"table {self.name!r}: rename names columns not in columns: {', '.join(unknown)}")
        types = self.table_types()
        final = set(types) if types is not None else None
        if final is not None:
            clash = sorted(final & TABLE_RESERVED_COLUMNS)
            if clash:
                raise ValueError(f"table {self.name!r}: column names reserved for quarantine: {', '.join(clash)}")
            if len(final) != len(types):  # pragma: no cover - a dict cannot repeat keys
                raise ValueError(f"table {self.name!r}: duplicate column names")
            used = {*self.dedup_keys, *self.checks.columns(), *([self.partition_column] if self.partition_column else [])}
            missing = sorted(used - final)
            if missing:
                raise ValueError(f"table {self.name!r}: unknown columns {', '.join(missing)} (names after rename: {', '.join(sorted(final))})")
            self.check_types(types)
        return self

    def table_types(self) -> dict[str, str] | None:
        """Table column (after rename) -> type, when the columns are declared."""
        if self.columns is None:
            return None
        return {self.rename.get(source, source): kind for source, kind in self.columns.items()}

    def check_types(self, types: dict[str, str]) -> None:
        """Raise ``ValueError`` if a rule does not fit its column's type (declared, or inferred at run time)."""
        if self.partition_column is not None and types.get(self.partition_column) not in ("date", "datetime"):
            raise ValueError(f"table {self.name!r}: partition_column {self.partition_column!r} must be a date or datetime column")
        for column, bounds in self.checks.ranges.items():
            kind = types.get(column)
            if kind not in ("int", "float", "date", "datetime"):
                raise ValueError(f"table {self.name!r}: checks.ranges.{column}: ranges apply to int, float, date and datetime columns, not {kind}")
            for side in ("min", "max"):
                text = getattr(bounds, side)
                if text is not None:
                    try:
                        parse_table_value(kind, text)
                    except ValueError:
                        raise ValueError(f"table {self.name!r}: checks.ranges.{column}.{side}: {text!r} is not a {kind}") from None
        for column, values in self.checks.allowed.items():
            kind = types.get(column, "string")
            for text in values:
                try:
                    parse_table_value(kind, text)
                except ValueError:
                    raise ValueError(f"table {self.name!r}: checks.allowed.{column}: {text!r} is not a {kind}") from None


def _unique_tables(tables: list[TableSource]) -> list[TableSource]:
    seen: set[str] = set()
    for index, table in enumerate(tables):
        if table.name in seen:
            raise ValueError(f"[{index}]: table {table.name!r} is listed twice")
        seen.add(table.name)
    return tables


class SourcesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    github: GitHubSources
    quality: QualityConfig = Field(default_factory=QualityConfig)
    tables: Annotated[list[TableSource], AfterValidator(_unique_tables), Field(default_factory=list)]  # staged as tables/<name>

    @property
    def repo_names(self) -> list[str]:
        """The repositories listed by name (an org's repositories are known only after listing it)."""
        return [r.name for r in self.github.repos]

    def configured(self, name: str) -> bool:
        """Whether ``name`` (in any spelling) is listed, or belongs to a listed org."""
        try:
            self.repo_start(name)
        except KeyError:
            return False
        return True

    def repo_start(self, name: str) -> date:
        for repo in self.github.repos:
            if repo_key(repo.name) == repo_key(name):
                return self.github.start_of(repo)
        owner = name.split("/", 1)[0].lower()
        for org in self.github.orgs:
            if org.org.lower() == owner:
                return org.start or self.github.start
        raise KeyError(name)

    def with_org_repos(self, org_repos: list[str]) -> SourcesConfig:
        """This config with the listed repositories of its orgs added as repos (explicit entries win)."""
        known = {repo_key(r) for r in self.repo_names}
        extra = []
        for r in org_repos:
            if repo_key(r) not in known:
                known.add(repo_key(r))
                extra.append(RepoSource(name=r, start=self.repo_start(r)))
        return self.model_copy(update={"github": self.github.model_copy(update={"repos": [*self.github.repos, *extra], "orgs": []})})


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The config file: ``path`` if given, else ``$GH_ASSETS_CONFIG``, else ``./sources.yaml``."""
    return Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or str(part).startswith("function-"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def load_yaml_model(file: Path, model: type[M], what: str, env: str, error: type[ValueError], *, empty_ok: bool = False) -> M:
    """Read a YAML file into a pydantic ``model``; raise ``error`` naming the file, the line or the field.

    ``what`` names the file in messages ("sources config"); ``env`` is the variable that points at it.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{file}: {what} not found (set {env} to its path)") from None
    except OSError as exc:
        raise error(f"{file}: cannot read the {what}: {exc.strerror}") from None
    try:
        # BaseLoader keeps every scalar a string, so pydantic parses dates and numbers and names the field.
        raw = yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise error(f"{file}:{where} is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if empty_ok and raw in (None, ""):
        raw = {}
    if not isinstance(raw, dict):
        raise error(f"{file}: expected a mapping, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_field_path(err['loc'])}: {err['msg'].removeprefix('Value error, ')}" for err in exc.errors())
        raise error(f"{file}: invalid {what}: {problems}") from None


def load_sources(path: str | os.PathLike[str] | None = None) -> SourcesConfig:
    """Read and validate the sources config; raise :class:`ConfigError` naming the file and the field."""
    return load_yaml_model(config_path(path), SourcesConfig, "sources config", CONFIG_ENV, ConfigError)
