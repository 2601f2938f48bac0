"""Marts: DuckDB tables built from the staged lake with the SQL in ``sql/``."""
