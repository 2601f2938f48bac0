"""Tabular sources from the sources config (CSV files, PostgreSQL queries) staged as ``tables/<name>``."""
