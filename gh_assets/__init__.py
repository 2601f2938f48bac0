"""gh_assets: a Dagster code location that keeps a GitHub analytics lake and DuckDB marts up to date."""

__version__ = "0.1.0"

from gh_assets.dagster_warnings import silence_chosen_beta_warnings

# Before any definitions module is imported: their decorators emit the warnings at import time.
silence_chosen_beta_warnings()
