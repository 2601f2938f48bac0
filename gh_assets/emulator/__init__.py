"""GitHub REST API emulator: seeded issues, pull requests (reviews, files), issue comments, commits and
organisation repositories served over real HTTP on 127.0.0.1.

Used by tests, the offline demo and benchmarks so that the real HTTP client is
exercised end to end (pagination, rate limits, ETags, faults, mutations).
Standard library plus orjson only.
"""

from gh_assets.emulator.data import BAD_DATA_KINDS, EmulatorConfig
from gh_assets.emulator.server import Emulator, RequestRecord, token_fingerprint

__all__ = ["BAD_DATA_KINDS", "Emulator", "EmulatorConfig", "RequestRecord", "token_fingerprint"]
