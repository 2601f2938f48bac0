"""Publish: selected DuckDB marts copied partition by partition to PostgreSQL (schema ``marts``)."""
