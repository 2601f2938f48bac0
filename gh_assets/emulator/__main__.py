"""Command line entry point: ``python -m gh_assets.emulator --port 0 --seed 1 --repos 3 --issues 2000``.

Prints ``GitHub emulator listening on http://127.0.0.1:PORT`` once the socket
is bound and serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Sequence

from gh_assets.emulator.data import BAD_DATA_KINDS, FAULT_KINDS, EmulatorConfig, parse_bad_data
from gh_assets.emulator.server import Emulator


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _bad_data(value: str) -> tuple[tuple[str, int], ...]:
    try:
        return parse_bad_data(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gh_assets.emulator", description="Serve an emulated GitHub REST and GraphQL API.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repos", type=int, default=1, help="number of repositories emulated-org/repo-NNN")
    p.add_argument("--repo-names", type=_csv, default=None, help="comma-separated owner/name list (overrides --repos)")
    p.add_argument("--issues", type=int, default=2000, help="issues per repository")
    p.add_argument("--tokens", type=_csv, default=None, help="comma-separated valid tokens (default: accept any)")
    p.add_argument("--rate-limit", type=int, default=5000)
    p.add_argument("--rate-reset-seconds", type=float, default=3600)
    p.add_argument("--search-rate-limit", type=int, default=30)
    p.add_argument("--search-reset-seconds", type=float, default=60)
    p.add_argument("--start", default="2025-01-01")
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--fault-kinds", type=_csv, default=FAULT_KINDS, help="comma-separated subset of " + ",".join(FAULT_KINDS))
    p.add_argument("--slow-seconds", type=float, default=0.5)
    p.add_argument("--secondary-retry-after", type=int, default=1)
    p.add_argument("--large-page-fail-above", type=int, default=None)
    p.add_argument("--mutate-per-page", type=int, default=0)
    p.add_argument("--identical-updated-cluster", type=int, default=0)
    p.add_argument(
        "--bad-data",
        type=_bad_data,
        default=(),
        help="defective issues per repository as kind=count,kind=count; kinds: " + ",".join(BAD_DATA_KINDS),
    )
    p.add_argument("--bad-data-day", default=None, help="YYYY-MM-DD: place the defective issues on this UTC day")
    p.add_argument("--drift-day", default=None, help="YYYY-MM-DD: a day whose activity drifts (see --drift-factor)")
    p.add_argument(
        "--drift-factor", type=float, default=1.0, help="activity on --drift-day relative to the mean of the other days"
    )
    p.add_argument("--commits", type=int, default=None, help="commits per repository (default: issues // 2)")
    p.add_argument(
        "--many-reviews-fraction", type=float, default=0.005, help="share of pull requests with more than 100 reviews"
    )
    p.add_argument(
        "--many-files-fraction", type=float, default=0.005, help="share of pull requests with more than 100 changed files"
    )
    p.add_argument("--archived-repos", type=_csv, default=(), help="comma-separated owner/name list served as archived")
    p.add_argument("--fork-repos", type=_csv, default=(), help="comma-separated owner/name list served as forks")
    p.add_argument("--graphql-rate-limit", type=int, default=5000, help="GraphQL points per token and window")
    p.add_argument("--graphql-max-nodes", type=int, default=None, help="a GraphQL query above this many nodes gets a 502")
    p.add_argument("--warm", action="store_true", help="generate and serialize all data before listening")
    return p


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        seed=args.seed,
        repos=args.repo_names if args.repo_names else args.repos,
        issues_per_repo=args.issues,
        start=args.start,
        days=args.days,
        tokens=args.tokens,
        rate_limit=args.rate_limit,
        rate_reset_seconds=args.rate_reset_seconds,
        search_rate_limit=args.search_rate_limit,
        search_reset_seconds=args.search_reset_seconds,
        fault_rate=args.fault_rate,
        fault_kinds=args.fault_kinds,
        slow_seconds=args.slow_seconds,
        secondary_retry_after=args.secondary_retry_after,
        large_page_fail_above=args.large_page_fail_above,
        mutate_per_page=args.mutate_per_page,
        identical_updated_cluster=args.identical_updated_cluster,
        bad_data=args.bad_data,
        bad_data_day=args.bad_data_day,
        drift_day=args.drift_day,
        drift_factor=args.drift_factor,
        commits_per_repo=args.commits,
        many_reviews_fraction=args.many_reviews_fraction,
        many_files_fraction=args.many_files_fraction,
        archived_repos=args.archived_repos,
        fork_repos=args.fork_repos,
        graphql_rate_limit=args.graphql_rate_limit,
        graphql_max_nodes=args.graphql_max_nodes,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    emulator = Emulator(config, port=args.port, host=args.host)
    if args.warm:
        emulator.warm()
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    emulator.start()
    print(f"GitHub emulator listening on {emulator.url}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
