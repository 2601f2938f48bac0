"""The ``gh-assets`` command: the offline demo, ingesting repositories, and managing repository partitions.

Every command runs real Dagster materialisations of the code location's job against the instance in
``$DAGSTER_HOME`` (the demo uses ``./.dagster_home`` when it is unset, so ``make dev`` shows its runs).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import textwrap
import threading
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from gh_assets.config import ConfigError, SourcesConfig, load_sources, validate_repo_name

if TYPE_CHECKING:
    import dagster as dg

    from filelock import FileLock

    from gh_assets.emulator import EmulatorConfig

DEMO_DAGSTER_HOME = ".dagster_home"
# The embedded default instance in the repository root, copied into a new Dagster home (where Dagster reads it).
INSTANCE_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"
# `dagster dev` started beside that file warns that it is not read (Dagster reads $DAGSTER_HOME's copy): expected.
_UNREAD_INSTANCE_NOTICE = b"will not be used to configure Dagster unless it is placed in the same folder as DAGSTER_HOME"
DEMO_TOKEN = "gh-assets-demo-token"  # accepted by the bundled emulator only


class CliError(Exception):
    """A failure the command reports as one paragraph and a non-zero exit."""


def _home_lock(home: Path) -> FileLock:
    """A lock file in the Dagster home: one process at a time sets the home up and creates its storage."""
    from filelock import FileLock

    return FileLock(str(home / ".gh_assets-home.lock"), timeout=300)


def _dagster_home(default_home: str | None) -> Path:
    """``$DAGSTER_HOME`` (else ``default_home``), created, with this project's dagster.yaml when it has none."""
    home = os.environ.get("DAGSTER_HOME") or default_home
    if not home:
        raise CliError("DAGSTER_HOME is not set: set it to the Dagster home directory (with a dagster.yaml).")
    path = Path(home).resolve()
    path.mkdir(parents=True, exist_ok=True)
    with _home_lock(path):
        # A dagster.yaml of your own in the current folder wins; else the project's embedded default instance.
        source = Path("dagster.yaml") if Path("dagster.yaml").exists() else INSTANCE_YAML
        if not (path / "dagster.yaml").exists() and source.exists():
            shutil.copy(source, path / "dagster.yaml")
    return path


def _instance(default_home: str | None) -> dg.DagsterInstance:
    """The Dagster instance of the home, with the runs left STARTED by dead processes recovered first.

    Two commands opening a fresh home at once would both create its SQLite tables ("table runs already
    exists"): the instance is created under the home's lock, so the second finds the tables made.
    """
    import dagster as dg

    from gh_assets.run_monitoring import recover_dead_runs

    home = _dagster_home(default_home)
    os.environ["DAGSTER_HOME"] = str(home)
    with _home_lock(home):
        instance = dg.DagsterInstance.get()
    for run, proc in recover_dead_runs(instance):
        where = f"process {proc.pid}" + (f" on {proc.host}" if proc.host else "")
        print(f"gh-assets: run {run.run_id} ({run.job_name}) was left STARTED by {where}, which is gone: marked failed, its pool slots freed", file=sys.stderr, flush=True)
    return instance


def _ensure_partitions(instance: dg.DagsterInstance, repos: Sequence[str]) -> list[str]:
    """The partition key of each of ``repos``, adding the missing ones; names compare case-insensitively.

    An existing partition in another spelling is reused (its key is returned), never duplicated; a new one
    takes the spelling given (callers pass GitHub's canonical ``full_name`` when they know it).
    """
    from gh_assets.github.partitions import REPOS_PARTITION
    from gh_assets.github.repos import find_existing, unique_repos

    existing = list(instance.get_dynamic_partitions(REPOS_PARTITION))
    keys = [find_existing(r, existing) or r for r in unique_repos(repos)]
    missing = [k for k in keys if k not in existing]
    if missing:
        instance.add_dynamic_partitions(REPOS_PARTITION, missing)
    return keys


def _resolve_on_github(instance: dg.DagsterInstance, repos: Sequence[str]) -> tuple[list[str], list[str]]:
    """GitHub's spelling of each of ``repos`` (one ``/repos/{owner}/{repo}`` request each), and the 404 messages.

    A repository that answers 404 is not added as a partition; if it has one (added by an earlier ``ingest``)
    and the sources config does not list it, that partition is removed. A configured one keeps its partition.
    """
    from gh_assets.environment import resolved_resource
    from gh_assets.github.partitions import REPOS_PARTITION
    from gh_assets.github.repos import RepositoryNotFound, canonical_name, find_existing

    try:
        config: SourcesConfig | None = load_sources()
    except ConfigError:
        config = None  # ingest works without a sources config: then nothing is "configured"
    found: list[str] = []
    missing: list[str] = []
    with resolved_resource("github").client() as client:  # the dg.EnvVar values (API URL, token), as a run gets them
        for repo in repos:
            try:
                found.append(canonical_name(client, repo))
            except RepositoryNotFound as exc:
                existing = find_existing(repo, instance.get_dynamic_partitions(REPOS_PARTITION))
                if existing is None:
                    note = "no partition was added"
                elif config is not None and config.configured(repo):
                    note = f"its partition {existing!r} stays: the sources config lists the repository"
                else:
                    instance.delete_dynamic_partition(REPOS_PARTITION, existing)
                    note = f"its partition {existing!r} was removed"
                missing.append(f"{repo} failed: NotFound: {exc}; {note}.")
    return found, missing


@dataclass
class RunOutcome:
    repo: str
    start: date
    end: date
    success: bool
    checks: list[tuple[str, str, str]]  # (asset, check, passed | warned | failed)
    error: str | None


def _execute(
    instance: dg.DagsterInstance, job_name: str, tags: dict[str, str], selection: list | None, *, conditional: bool = True
) -> tuple[bool, list[tuple[str, str, str]], str | None]:
    """One in-process run of ``job_name``: success, its checks ``(asset, check, outcome)`` and the first error.

    ``conditional=False`` builds the run's GitHub resource with ``conditional_requests`` off (no stored ETag sent).
    """
    from gh_assets.definitions import build_defs
    from gh_assets.environment import CONDITIONAL_REQUESTS_ENV
    from gh_assets.run_monitoring import process_tags

    # Resources from the environment as it is now, not as it was when the definitions module was imported.
    previous = os.environ.get(CONDITIONAL_REQUESTS_ENV)
    if not conditional:
        os.environ[CONDITIONAL_REQUESTS_ENV] = "false"
    try:
        defs = build_defs()
    finally:
        if not conditional:
            if previous is None:
                os.environ.pop(CONDITIONAL_REQUESTS_ENV, None)
            else:
                os.environ[CONDITIONAL_REQUESTS_ENV] = previous
    result = defs.resolve_job_def(job_name).execute_in_process(
        instance=instance,
        tags={**tags, "gh_assets/launched_by": "cli", **process_tags()},
        asset_selection=selection,
        run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("GH_ASSETS_LOG_LEVEL", "WARNING")}}}},
        raise_on_error=False,
    )
    _stop_if_interrupted(result)
    return outcome_of(result)


def _stop_if_interrupted(result: dg.ExecuteInProcessResult) -> None:
    """A run that SIGINT/SIGTERM stopped ends the command: nothing else is launched after it."""
    from dagster._core.events import RunFailureReason

    for event in result.all_events:
        data = event.event_specific_data if event.is_job_failure else None
        if getattr(data, "failure_reason", None) == RunFailureReason.UNEXPECTED_TERMINATION:
            raise KeyboardInterrupt


def outcome_of(result: dg.ExecuteInProcessResult) -> tuple[bool, list[tuple[str, str, str]], str | None]:
    """Success, the checks ``(asset, check, passed | warned | failed)`` and the first error of an in-process run."""
    checks = [
        (e.asset_key.to_user_string(), e.check_name, "passed" if e.passed else ("warned" if e.severity.value == "WARN" else "failed"))
        for e in result.get_asset_check_evaluations()
    ]
    error = None
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        if failures and failures[0].step_failure_data.error:
            err = failures[0].step_failure_data.error
            while err.cause is not None and err.cls_name in ("DagsterExecutionStepExecutionError", "RetryRequestedFromPolicy"):
                err = err.cause
            error = f"{err.cls_name}: {err.message.strip()}"
        else:
            failed_checks = [f"{asset}:{name}" for asset, name, outcome in checks if outcome == "failed"]
            error = f"blocking checks failed: {', '.join(failed_checks)}" if failed_checks else "the run failed"
    return result.success, checks, error


def _run_range(
    instance: dg.DagsterInstance,
    repo: str,
    start: date,
    end: date,
    entities: Sequence[str] | None = None,
    *,
    replay: bool = False,
    conditional: bool = True,
) -> RunOutcome:
    """The runs that materialise ``entities`` of one repository over ``[start, end]``.

    One run of the daily job (a single sweep per entity over the range) and, for commits, one run of the
    commits job over the months the range touches. ``replay`` rebuilds staged tables and marts from the
    stored raw pages without a request (its completeness checks are skipped). ``conditional=False`` sends no
    stored ETag: every page is fetched whole (``ingest --repair``).
    """
    from gh_assets.github.jobs import commits_job, daily_job, entity_selection
    from gh_assets.marts.assets import REPLAY_TAG
    from gh_assets.github.partitions import month_range_tags, range_tags

    from gh_assets.github.jobs import ENTITY_CHOICES

    daily, monthly = entity_selection(list(entities or ENTITY_CHOICES), replay=replay)
    success, checks, error = True, [], None
    runs = []
    if daily:
        runs.append((daily_job.name, range_tags(repo, start, end), daily))
    if monthly:
        runs.append((commits_job.name, month_range_tags(repo, start, end), monthly))
    for job_name, tags, selection in runs:
        tags = {**tags, REPLAY_TAG: "true"} if replay else tags
        ok, run_checks, run_error = _execute(instance, job_name, tags, selection, conditional=conditional)
        checks += run_checks
        if not ok:
            success, error = False, error or run_error
    return RunOutcome(repo, start, end, success, checks, error)


def _run_analytics(instance: dg.DagsterInstance, outcomes: list[RunOutcome]) -> None:
    """Rebuild the analytics marts once after the repositories' runs (the automation sensor does it under the daemon)."""
    if not outcomes or not any(o.success for o in outcomes):
        return
    from gh_assets.github.jobs import analytics_job

    first, last = min(o.start for o in outcomes), max(o.end for o in outcomes)
    ok, checks, error = _execute(instance, analytics_job.name, {}, None)
    outcomes.append(RunOutcome("(analytics marts)", first, last, ok, checks, error))


def materialise_in_process(instance: dg.DagsterInstance, assets: list, tags: dict[str, str] | None = None) -> tuple[bool, list[tuple[str, str, str]], str | None]:
    """One in-process run of ``assets`` with resources from the environment as it is now; see :func:`outcome_of`."""
    import dagster as dg

    from gh_assets.environment import build_resources
    from gh_assets.run_monitoring import process_tags

    result = dg.materialize(
        assets,
        instance=instance,
        resources=build_resources(),
        tags={**(tags or {}), "gh_assets/launched_by": "cli", **process_tags()},
        run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("GH_ASSETS_LOG_LEVEL", "WARNING")}}}},
        raise_on_error=False,
    )
    _stop_if_interrupted(result)
    return outcome_of(result)


def _run_features(instance: dg.DagsterInstance, outcomes: list[RunOutcome]) -> None:
    """Build the feature tables from the marts (the features automation sensor does it under the daemon)."""
    if not outcomes or not all(o.success for o in outcomes):
        return
    from gh_assets.features.assets import FEATURE_ASSETS

    print("building the feature tables ...", flush=True)
    ok, checks, error = materialise_in_process(instance, FEATURE_ASSETS)
    outcomes.append(RunOutcome("(feature tables)", min(o.start for o in outcomes), max(o.end for o in outcomes), ok, checks, error))


def _run_publish(instance: dg.DagsterInstance, outcomes: list[RunOutcome], entities: Sequence[str] | None = None) -> None:
    """With ``$GH_ASSETS_POSTGRES_DSN`` set, publish commits, pull requests and issues of every loaded repository.

    ``entities`` (ingest's ``--entities``) limits it to the marts those runs loaded.
    """
    from gh_assets.github.partitions import month_range_tags, range_tags
    from gh_assets.publish.assets import publish_assets, publish_commits, publish_issues, publish_pull_requests

    if not publish_assets():
        return
    wanted = set(entities or ("commits", "pulls", "issues"))
    monthly_assets = [publish_commits] if "commits" in wanted else []
    daily_assets = [a for e, a in (("pulls", publish_pull_requests), ("issues", publish_issues)) if e in wanted]
    for o in [o for o in outcomes if o.success and "/" in o.repo]:
        print(f"publishing {o.repo} to PostgreSQL ...", flush=True)
        started = time.monotonic()
        runs = []
        if monthly_assets:
            runs.append(materialise_in_process(instance, monthly_assets, month_range_tags(o.repo, o.start, o.end)))
        if daily_assets:
            runs.append(materialise_in_process(instance, daily_assets, range_tags(o.repo, o.start, o.end)))
        if not runs:
            continue
        ok = all(r[0] for r in runs)
        error = next((r[2] for r in runs if r[2]), None)
        checks = [c for r in runs for c in r[1]]
        outcomes.append(RunOutcome(f"(publish {o.repo}, {time.monotonic() - started:.1f} s)", o.start, o.end, ok, checks, error))


def _run_tables(instance: dg.DagsterInstance, outcomes: list[RunOutcome]) -> None:
    """Materialise the table sources of the config (``tables:``), if any, as one more run."""
    from gh_assets.tables.runs import materialise_tables

    ok, checks, error = materialise_tables(instance)
    if (checks or not ok) and outcomes:
        outcomes.append(RunOutcome("(table sources)", min(o.start for o in outcomes), max(o.end for o in outcomes), ok, checks, error))


def _print_summary(outcomes: list[RunOutcome], data_dir: Path) -> None:
    import duckdb
    import polars as pl

    from gh_assets.environment import WAREHOUSE_FILE, lake_root
    from gh_assets.lake import Lake

    lake = Lake(lake_root(data_dir))
    warehouse = data_dir / WAREHOUSE_FILE
    print("\nRuns (per repository: one over its range of days, one over its months of commits; a single sweep per entity):")
    for o in outcomes:
        status = "ok" if o.success else f"FAILED - {o.error}"
        print(f"  {o.repo:<24} {o.start} .. {o.end}  {status}")
    checks = [c for o in outcomes for c in o.checks]
    per_asset: dict[str, dict[str, int]] = {}
    for asset, _, outcome in checks:
        per_asset.setdefault(asset, {"passed": 0, "warned": 0, "failed": 0})[outcome] += 1
    totals = {k: sum(c[k] for c in per_asset.values()) for k in ("passed", "warned", "failed")}
    print(f"\nChecks: {totals['passed']} passed, {totals['warned']} warned, {totals['failed']} failed")
    for asset, c in sorted(per_asset.items()):
        print(f"  {asset:<24} {c['passed']:>3} passed {c['warned']:>3} warned {c['failed']:>3} failed")
    for o in outcomes:
        for asset, name, outcome in o.checks:
            if outcome != "passed":
                print(f"  {outcome.upper()} {o.repo} {asset}:{name}")
    print("\nRows per table:")

    def count(layer: str, table: str) -> int:
        files = lake.parquet_files(layer, table)
        return pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0

    for raw in ("issues", "pulls", "reviews", "pr_files", "pr_details", "issue_comments", "commits"):
        print(f"  {f'lake  raw/{raw} (pages)':<38} {lake.raw_page_count(raw)}")
    for table in ("issues", "pull_requests", "reviews", "pr_files", "issue_comments", "commits"):
        print(f"  {f'lake  staged/{table}':<38} {count('staged', table)}")
    quarantined = sum(count("quarantine", t) for t in ("issues", "pull_requests", "reviews", "pr_files", "issue_comments", "commits"))
    print(f"  {'lake  quarantine (all entities)':<38} {quarantined}")
    if warehouse.exists():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables ORDER BY 1"
            ).fetchall()
            for (table,) in rows:
                (n,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
                print(f"  {'duckdb ' + table:<38} {n}")
            per_repo = con.execute(
                "SELECT repository, count(*), count(*) FILTER (WHERE state = 'open'), count(*) FILTER (WHERE is_pull_request) "
                "FROM marts.issues GROUP BY 1 ORDER BY 1"
            ).fetchall()
        print("\nmarts.issues by repository (rows, open, pull requests):")
        for repo, n, open_, prs in per_repo:
            print(f"  {repo:<24} {n:>7} {open_:>7} {prs:>7}")
    print(f"\nLake:      {lake.location}")
    print(f"DuckDB:    {warehouse.resolve()}   (try: duckdb {warehouse} \"SELECT * FROM marts.issues LIMIT 5\")")
    print(f"Dagster:   {os.environ.get('DAGSTER_HOME')}   (make dev shows these runs in the UI)")


# What the demo emulator serves for each org of the sources config: two active repositories, one archived and
# one whose name the demo config excludes, so the org's filters show in the demo.
DEMO_ORG_REPOS = ("api", "web", "legacy", "scratch-pad")
DEMO_ORG_ARCHIVED = ("legacy",)


def demo_emulator_config(sources: SourcesConfig, *, seed: int = 1, issues: int = 2000, start: str = "2025-01-01", days: int = 90) -> EmulatorConfig:
    """The emulator of the offline demo (and of ``gh-assets dev`` when offline): the config's repos and orgs."""
    from gh_assets.emulator import EmulatorConfig

    org_repos = [f"{org.org}/{name}" for org in sources.github.orgs for name in DEMO_ORG_REPOS]
    archived = tuple(f"{org.org}/{name}" for org in sources.github.orgs for name in DEMO_ORG_ARCHIVED)
    # A budget no demo exhausts: reviews and files cost a request per PR, past GitHub's 5,000 an hour for 5 repos.
    return EmulatorConfig(
        seed=seed, repos=(*sources.repo_names, *org_repos), archived_repos=archived, issues_per_repo=issues, start=start, days=days,
        rate_limit=1_000_000,
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from gh_assets.emulator import Emulator
    from gh_assets.environment import data_dir as configured_data_dir
    from gh_assets.github.client import GitHubClient
    from gh_assets.github.orgs import expand

    sources = load_sources(args.config)
    data_dir = configured_data_dir()
    # The demo never talks to GitHub: a real token is replaced by the emulator's demo token (never sent to GitHub),
    # which lets the pull-request details come from GraphQL as they do with a token on GitHub.
    os.environ.pop("GITHUB_TOKENS", None)
    os.environ["GITHUB_TOKEN"] = DEMO_TOKEN
    emulator_config = demo_emulator_config(sources, seed=args.seed, issues=args.issues, start=args.start, days=args.days)
    with Emulator(emulator_config) as emu:
        os.environ["GITHUB_API_URL"] = emu.url
        if args.config:
            os.environ["GH_ASSETS_CONFIG"] = str(args.config)
        print(f"GitHub emulator on {emu.url}: {len(emulator_config.repo_names)} repositories x {args.issues} issues (seed {args.seed})")
        if sources.github.orgs:
            with GitHubClient(emu.url) as client:
                sources = expand(client, sources)
            print(f"orgs {', '.join(o.org for o in load_sources(args.config).github.orgs)} expanded to: {', '.join(sources.repo_names)}")
        instance = _instance(DEMO_DAGSTER_HOME)
        began = datetime.now(tz=UTC)
        outcomes = []
        for repo in _ensure_partitions(instance, sources.repo_names):
            last = max(datetime.strptime(i["updated_at"], "%Y-%m-%dT%H:%M:%SZ") for i in emu.issues(repo)).date()
            start = sources.repo_start(repo)
            if start > last:
                print(f"skipping {repo}: its start {start} is after the emulated history ({last})", flush=True)
                continue
            print(f"materialising {repo} {start} .. {last} ...", flush=True)
            outcomes.append(_run_range(instance, repo, start, last))
        _run_analytics(instance, outcomes)
        _run_tables(instance, outcomes)
        _run_features(instance, outcomes)
        _run_publish(instance, outcomes)
        requests = Counter(endpoint_of(r.path) for r in emu.request_log)
        points = sum(r.cost for r in emu.request_log if r.resource == "graphql")
    _print_summary(outcomes, data_dir)
    _print_completeness(instance, began)
    print(f"\nAPI requests ({sum(requests.values())}) by endpoint:")
    for endpoint, n in sorted(requests.items()):
        print(f"  {endpoint:<38} {n}" + (f"   ({points} GraphQL points)" if endpoint == "graphql" else ""))
    return 0 if all(o.success for o in outcomes) else 1


def endpoint_of(path: str) -> str:
    """``/repos/o/r/pulls/12/files`` -> ``pulls/{n}/files``: an API path without its repository and numbers."""
    parts = path.strip("/").split("/")
    rest = parts[3:] if parts[0] == "repos" else parts[:1]
    return "/".join("{n}" if p.isdigit() else p for p in rest) or "/"


def cmd_dev(args: argparse.Namespace) -> int:
    """``dagster dev`` on this code location; offline (no GITHUB_API_URL) it serves the demo repos from the emulator."""
    import signal
    import subprocess

    env = {**os.environ, "DAGSTER_HOME": str(_dagster_home(DEMO_DAGSTER_HOME))}
    # `dagster dev` on purpose: it needs no dagster-dg-cli (an optional extra; `dg dev` works too), so its
    # "superseded, use dg dev" notice is the one warning silenced here (a literal prefix of the message).
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), "ignore:Function `dev_command` is superseded"]))
    command = [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", args.host, "-p", str(args.port)]
    # A shell that started us in the background may have left SIGINT ignored; dagster dev needs it to stop.
    restore = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    emulator = None
    if not os.environ.get("GITHUB_API_URL"):
        from gh_assets.emulator import Emulator

        sources = load_sources(args.config)
        env.pop("GITHUB_TOKENS", None)
        env["GITHUB_TOKEN"] = DEMO_TOKEN  # the emulator's, as in the demo: never a real token sent to it
        emulator = Emulator(demo_emulator_config(sources))
        emulator.start()
        env["GITHUB_API_URL"] = emulator.url
        print(f"GITHUB_API_URL is unset: serving the demo repositories from the GitHub emulator on {emulator.url}", flush=True)
    process = subprocess.Popen(command, env=env, preexec_fn=restore, stdout=subprocess.PIPE)
    relay = threading.Thread(target=_relay_output, args=(process.stdout,), name="dagster-dev-output", daemon=True)
    relay.start()
    # dagster dev shuts down cleanly on SIGINT; pass a SIGTERM on as one so no server is left behind.
    signal.signal(signal.SIGTERM, lambda *_: process.send_signal(signal.SIGINT))
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        return process.wait()
    finally:
        relay.join(timeout=5)
        if emulator is not None:
            emulator.stop()


def _relay_output(stream: IO[bytes] | None) -> None:
    """Pass ``dagster dev``'s log (its stdout) on line by line, all but its notice that ./dagster.yaml is not read."""
    for line in iter(stream.readline, b"") if stream is not None else []:
        if _UNREAD_INSTANCE_NOTICE not in line:
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()


def _repos_of(args: argparse.Namespace) -> list[str]:
    """``--repo`` names (validated) plus every repository of each ``--org`` (listed from the API)."""
    repos = []
    for repo in args.repo or []:
        try:
            repos.append(validate_repo_name(repo))
        except ValueError as exc:
            raise CliError(f"--repo {exc}") from None
    for org in getattr(args, "org", None) or []:
        from gh_assets.config import OrgSource
        from gh_assets.environment import resolved_resource
        from gh_assets.github.orgs import org_repos

        try:
            source = OrgSource(org=org)
        except ValueError as exc:
            raise CliError(f"--org {org!r} is not a valid GitHub organisation name") from exc
        with resolved_resource("github").client() as client:
            found = org_repos(client, source)
        if not found:
            raise CliError(f"--org {org}: the organisation lists no active, non-fork repositories")
        repos += found
    if not repos:
        raise CliError("name at least one --repo or --org")
    from gh_assets.github.repos import unique_repos

    return unique_repos(repos)  # one repository however often, in whatever case, it is named


def _entities_of(value: str) -> list[str]:
    from gh_assets.github.jobs import ENTITY_CHOICES

    entities = [e.strip() for e in value.split(",") if e.strip()]
    unknown = sorted(set(entities) - set(ENTITY_CHOICES))
    if unknown or not entities:
        raise argparse.ArgumentTypeError(f"unknown entities {unknown or value!r}; choose from {','.join(ENTITY_CHOICES)}")
    return entities


def _materialise_ranges(args: argparse.Namespace, *, replay: bool) -> int:
    from gh_assets.environment import data_dir
    from gh_assets.ingest_window import WindowError, ingest_window

    try:  # replay requires both dates; ingest defaults to the last 7 days (UTC), or --since Nd
        start, end = ingest_window(args.start, args.end, getattr(args, "since", None), datetime.now(tz=UTC).date())
    except WindowError as exc:
        raise CliError(str(exc)) from None
    # The runs read the sources config: a missing or invalid one fails now, before any request is sent.
    load_sources()
    from gh_assets.github.partitions import OutsidePartitions, check_in_partitions

    try:
        check_in_partitions(start)
    except OutsidePartitions as exc:
        raise CliError(f"--start {exc}") from None
    repos = _repos_of(args)
    instance = _instance(None if os.environ.get("DAGSTER_HOME") else DEMO_DAGSTER_HOME)
    verb = "Replaying" if replay else "Ingesting"
    not_found: list[str] = []
    if not replay:  # a replay makes no request: it runs the partitions as they are
        repos, not_found = _resolve_on_github(instance, repos)
    repos = _ensure_partitions(instance, repos)
    began = datetime.now(tz=UTC)
    outcomes = [_run_range(instance, repo, start, end, args.entities, replay=replay) for repo in repos]
    _run_analytics(instance, outcomes)
    if not replay and not args.no_publish:  # with $GH_ASSETS_POSTGRES_DSN set; the marts' failed runs are not published
        _run_publish(instance, outcomes, args.entities)
    if outcomes:
        _print_summary(outcomes, data_dir())
    if not replay:
        _print_completeness(instance, began)
    failed = [o for o in outcomes if not o.success]
    if failed or not_found:
        raise CliError(" ".join([*(f"{verb} {m}" for m in not_found), *(f"{verb} {o.repo} {o.start}..{o.end} failed: {o.error}" for o in failed)]))
    return 0


def _print_completeness(instance: dg.DagsterInstance, since: datetime) -> None:
    """The completeness checks of the runs since ``since``: GitHub's count vs ours per repository and entity."""
    from gh_assets.marts.completeness import latest_findings

    findings = latest_findings(instance, since)
    if findings:
        print("\nCompleteness against GitHub's own counts (items in the window, newest versions):")
        for finding in findings:
            print(finding.line())


def _repair(args: argparse.Namespace) -> int:
    """Re-run, with stored ETags bypassed, every range the newest completeness check of a repository found missing."""
    from gh_assets.environment import data_dir
    from gh_assets.marts.completeness import latest_findings, repairs

    instance = _instance(None if os.environ.get("DAGSTER_HOME") else DEMO_DAGSTER_HOME)
    wanted = list(args.repo or []) or None
    todo = repairs(latest_findings(instance), wanted)
    if not todo:
        print("nothing to repair: the newest completeness check of every repository found nothing missing")
        return 0
    began = datetime.now(tz=UTC)
    outcomes = []
    for repo, entity, first, last in todo:
        print(f"repairing {repo} {entity} {first} .. {last} (pages fetched whole, stored ETags not sent) ...", flush=True)
        outcomes.append(_run_range(instance, repo, first, last, [entity], conditional=False))
    _run_analytics(instance, outcomes)
    _print_summary(outcomes, data_dir())
    _print_completeness(instance, began)
    failed = [o for o in outcomes if not o.success]
    if failed:
        raise CliError(" ".join(f"Repairing {o.repo} {o.start}..{o.end} failed: {o.error}" for o in failed))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    if args.repair:
        return _repair(args)
    return _materialise_ranges(args, replay=False)


def cmd_replay(args: argparse.Namespace) -> int:
    """Staged tables and marts rebuilt from the stored raw pages: no request reaches the API."""
    return _materialise_ranges(args, replay=True)


def cmd_repos(args: argparse.Namespace) -> int:
    from gh_assets.github.partitions import REPOS_PARTITION
    from gh_assets.github.sensors import apply_partition_requests, plan_repo_sync

    sources = load_sources(args.config)
    if sources.github.orgs:
        from gh_assets.environment import resolved_resource
        from gh_assets.github.orgs import expand

        with resolved_resource("github").client() as client:
            sources = expand(client, sources)
    instance = _instance(DEMO_DAGSTER_HOME)
    existing = list(instance.get_dynamic_partitions(REPOS_PARTITION))
    if args.action == "list":
        from gh_assets.github.repos import find_existing, unique_repos

        # one line per repository, whatever the spelling: the partition key's when there is one
        for repo in sorted(unique_repos([*existing, *sources.repo_names]), key=str.lower):
            configured = find_existing(repo, sources.repo_names) is not None
            where = ("config" if configured else "") + (" partition" if find_existing(repo, existing) else "")
            print(f"{repo:<40} {where.strip()}  start {sources.repo_start(repo) if configured else '-'}")
        return 0
    added, removed = apply_partition_requests(instance, plan_repo_sync(sources, existing, datetime.now(tz=UTC)))
    if added:
        print(f"added: {', '.join(added)}")
    if removed:
        print(f"removed: {', '.join(removed)}")
    print(f"{len(instance.get_dynamic_partitions(REPOS_PARTITION))} repository partitions")
    return 0


def cmd_quality_report(args: argparse.Namespace) -> int:
    """Every asset check result recorded in the instance, as one JSON or markdown document."""
    import json

    from gh_assets import quality_report
    from gh_assets.definitions import defs

    instance = _instance(DEMO_DAGSTER_HOME)
    since = datetime.combine(args.since, datetime.min.time(), tzinfo=UTC) if args.since else None
    keys = defs.get_repository_def().asset_graph.asset_check_keys
    rows = quality_report.collect(instance, keys, since)
    if args.format == "json":
        print(json.dumps({"summary": quality_report.summary(rows), "checks": rows}, indent=2, default=str))
    else:
        print(quality_report.to_markdown(rows), end="")
    return 0


def _day(value: str) -> date:
    from gh_assets.ingest_window import WindowError, parse_day

    try:
        return parse_day(value)
    except WindowError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _since(value: str) -> int:
    from gh_assets.ingest_window import WindowError, parse_since

    try:
        return parse_since(value)
    except WindowError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds >= 0")
    return seconds


def _add_rate_limit_wait(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--max-rate-limit-wait",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="wait at most this long for a spent rate limit to reset, then fail (sets GH_ASSETS_MAX_RATE_LIMIT_WAIT; default 3600)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gh-assets", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="serve the demo repositories from the bundled emulator and materialise everything")
    demo.add_argument("--config", type=Path, default=None, help="sources config (default $GH_ASSETS_CONFIG or sources.yaml)")
    demo.add_argument("--issues", type=int, default=2000, help="issues per demo repository")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--start", default="2025-01-01", help="first day of the emulated history")
    demo.add_argument("--days", type=int, default=90, help="days of emulated history")
    _add_rate_limit_wait(demo)
    demo.set_defaults(func=cmd_demo)

    from gh_assets.github.jobs import ENTITY_CHOICES

    for name, func, text in (
        ("ingest", cmd_ingest, "fetch raw pages and build staged tables and marts for repositories and days"),
        ("replay", cmd_replay, "rebuild staged tables and marts from the stored raw pages, with no API request"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("--repo", action="append", metavar="OWNER/NAME")
        if name == "ingest":
            command.add_argument("--org", action="append", metavar="ORG", help="every active, non-fork repository of the organisation")
        command.add_argument("--start", type=_day, required=name == "replay", metavar="YYYY-MM-DD")
        command.add_argument("--end", type=_day, required=name == "replay", metavar="YYYY-MM-DD")
        if name == "ingest":
            command.add_argument(
                "--since", type=_since, default=None, metavar="Nd", help="the last N days up to --end (default today); without any date: the last 7 days"
            )
            command.add_argument(
                "--repair",
                action="store_true",
                help="re-run the ranges the newest completeness check of each repository (or of --repo) found missing, "
                "fetching every page whole (no stored ETag sent)",
            )
            command.add_argument(
                "--no-publish",
                action="store_true",
                help="do not publish the loaded marts to PostgreSQL (publishing happens only when GH_ASSETS_POSTGRES_DSN is set)",
            )
        command.add_argument(
            "--entities", type=_entities_of, default=list(ENTITY_CHOICES), metavar="LIST", help=f"comma-separated, default all: {','.join(ENTITY_CHOICES)}"
        )
        _add_rate_limit_wait(command)
        command.set_defaults(func=func)

    dev = sub.add_parser("dev", help="start dagster dev on this code location (with the emulator when offline)")
    dev.add_argument("--config", type=Path, default=None)
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)

    report = sub.add_parser("quality-report", help="export every asset check result from the Dagster instance")
    report.add_argument("--since", type=_day, default=None, metavar="YYYY-MM-DD")
    report.add_argument("--format", choices=["json", "markdown"], default="markdown")
    report.set_defaults(func=cmd_quality_report)

    repos = sub.add_parser("repos", help="list repositories, or sync the repository partitions with the config")
    repos.add_argument("action", choices=["list", "sync"])
    repos.add_argument("--config", type=Path, default=None)
    repos.set_defaults(func=cmd_repos)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Dagster marks single-run backfill policies and pools as beta/preview; that is no news to a CLI user.
    warnings.filterwarnings("ignore", message=".*is currently in (beta|preview)")
    args = build_parser().parse_args(argv)
    if getattr(args, "max_rate_limit_wait", None) is not None:
        from gh_assets.environment import MAX_RATE_LIMIT_WAIT_ENV

        os.environ[MAX_RATE_LIMIT_WAIT_ENV] = repr(args.max_rate_limit_wait)  # read when the run's resources are built
    # SIGTERM stops the command as Ctrl-C does (during a run Dagster maps both onto its own interrupt handling).
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if main_thread else None
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("gh-assets: interrupted: the run stopped without retrying; unfinished partitions keep their previous version (run the command again)", file=sys.stderr)
        return 130
    except (CliError, ConfigError) as exc:
        print("gh-assets: " + textwrap.fill(str(exc), width=100, subsequent_indent="  "), file=sys.stderr)
        return 2
    except Exception as exc:  # anything else still ends in one readable paragraph, not a traceback
        print(f"gh-assets: {type(exc).__name__}: " + textwrap.fill(str(exc), width=100, subsequent_indent="  "), file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
