"""Typed errors of the PostgreSQL publish. Messages never carry the DSN or its password."""

from __future__ import annotations

import re
from urllib.parse import unquote

REDACTED = "***"
# userinfo of a URL DSN (postgresql://user:secret@host) and a key/value password (password=secret or 'se cret')
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


class PostgresError(Exception):
    """Base class of every error the publish raises; its message is already sanitised."""


class PostgresConnectionError(PostgresError):
    """The server could not be reached or refused the login: check GH_ASSETS_POSTGRES_DSN."""


class PublishError(PostgresError):
    """A partition could not be published; its transaction was rolled back, so the previous rows remain."""


class SchemaMismatch(PublishError):
    """The DuckDB mart has columns the PostgreSQL table lacks: its DDL in ``publish/sql`` needs them."""


def redact(text: str, dsn: str) -> str:
    """``text`` without the DSN, its password, or anything shaped like a password in a connection string."""
    secrets = [dsn, *_passwords(dsn)]
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        # a one- or two-character password would garble the message; the patterns below still catch it in context
        if len(secret) >= 3:
            text = text.replace(secret, REDACTED)
    text = _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)
    return _KV_PASSWORD.sub(rf"\g<1>{REDACTED}", text)


def _passwords(dsn: str) -> list[str]:
    found = [m.group(2).strip("'") for m in _KV_PASSWORD.finditer(dsn)]
    url = re.search(r"://[^:/@\s]*:([^@\s]*)@", dsn)
    if url:
        found += [url.group(1), unquote(url.group(1))]
    return found
