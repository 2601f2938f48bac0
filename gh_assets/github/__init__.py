"""GitHub source: the HTTP client (no Dagster) and the Dagster assets built on it."""
