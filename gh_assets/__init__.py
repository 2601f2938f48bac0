"""gh_assets: a Dagster code location that keeps a GitHub analytics lake and DuckDB marts up to date."""

__version__ = "0.1.0"
