"""Reading table sources into Polars: CSV, Parquet and JSON Lines files (with their file and line or row per
row) and PostgreSQL in batches.

No Dagster here. CSV rows come out as strings (typing is the staging's job, so a bad value quarantines its
row instead of failing the read); Parquet and JSON Lines keep their own types (nested values as JSON text).
Whole-file problems (not UTF-8, wrong delimiter, missing columns, a line that is no JSON object) raise
:class:`TableSourceError` naming the file and line; storage and connection failures that may heal on a retry
raise :class:`TransientSourceError`.
"""

from __future__ import annotations

import csv
import glob
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

SOURCE_FILE = "source_file"
SOURCE_LINE = "source_line"
SOURCE_ROW = "source_row"
FIELDS = "_fields"  # fields found on the row; differs from the header's count on a ragged row
EXPECTED_FIELDS = "_expected_fields"
_BOM = b"\xef\xbb\xbf"
_OTHER_DELIMITERS = (",", ";", "\t", "|")


class TableSourceError(Exception):
    """A source cannot be read as configured; the message names the file (and line) or the table, never a DSN."""


class TransientSourceError(TableSourceError):
    """Storage or the database failed in a way that may heal (a reset connection, a timeout, a 5xx from S3): retried."""


FILE_SUFFIXES = {"csv": (".csv",), "parquet": (".parquet", ".pq"), "jsonl": (".jsonl", ".ndjson")}


def is_transient_io(exc: BaseException) -> bool:
    """An I/O error worth a retry: a network or storage hiccup, not a refused permission or a wrong kind of path."""
    return isinstance(exc, OSError) and not isinstance(exc, (PermissionError, IsADirectoryError, NotADirectoryError))


@dataclass
class SourceRead:
    """Rows of one read: the source's columns plus provenance, and what the read measured."""

    frame: pl.DataFrame
    header_columns: list[str]  # the source's columns, in order (of the first file for CSV)
    files: int = 0
    bytes_read: int = 0
    batches: int = 0
    blank_lines: int = 0
    ignored_columns: list[str] = field(default_factory=list)


def combined(reads: list[SourceRead], frame: pl.DataFrame, keep: Sequence[str] | None) -> SourceRead:
    """One read of several files: their concatenated ``frame`` and their counters added up."""
    return SourceRead(
        frame,
        reads[0].header_columns if keep is None else list(keep),
        files=len(reads),
        bytes_read=sum(r.bytes_read for r in reads),
        blank_lines=sum(r.blank_lines for r in reads),
        ignored_columns=sorted({c for r in reads for c in r.ignored_columns}),
    )


def source_files(pattern: str, suffixes: Sequence[str]) -> list[Path | str]:
    """The files of a path, folder or glob, sorted; a pattern that matches nothing is an error, not an empty table.

    A folder stands for every file under it ending in one of ``suffixes``. ``s3://bucket/key`` (a key, a prefix
    or a glob of keys) is listed through s3fs (the ``s3`` extra); endpoint and credentials come from the
    standard ``AWS_*`` variables.
    """
    try:
        if pattern.startswith("s3://"):
            import fsspec

            fs, _ = fsspec.core.url_to_fs(pattern)
            key = pattern.removeprefix("s3://")
            if glob.has_magic(pattern):
                keys = [k for k in fs.glob(pattern) if fs.isfile(k)]
            elif fs.isfile(key):
                keys = [key]
            else:  # a prefix: the objects under it with the kind's suffix
                keys = [k for k in fs.find(key.rstrip("/") + "/") if k.endswith(tuple(suffixes))]
            matches: list[Path | str] = sorted(f"s3://{k}" for k in keys)
        elif Path(pattern).is_dir():
            matches = sorted(p for p in Path(pattern).rglob("*") if p.is_file() and p.name.endswith(tuple(suffixes)))
        else:
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    except OSError as exc:
        if is_transient_io(exc):
            raise TransientSourceError(f"{pattern}: listing the files failed: {type(exc).__name__}: {exc}") from exc
        raise TableSourceError(f"{pattern}: listing the files failed: {type(exc).__name__}: {exc}") from exc
    if not matches:
        raise TableSourceError(f"{pattern}: no file matches this path (a folder must hold {' or '.join(f'*{s}' for s in suffixes)} files)")
    return matches


def csv_files(pattern: str) -> list[Path | str]:
    """The CSV files of a path, folder or glob (see :func:`source_files`)."""
    return source_files(pattern, FILE_SUFFIXES["csv"])


def read_bytes(path: Path | str) -> bytes:
    """A whole file, local or ``s3://``; a storage failure that may heal is a :class:`TransientSourceError`."""
    try:
        if isinstance(path, str):  # s3://: the object's bytes, read once like a local file's
            import fsspec

            with fsspec.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except OSError as exc:
        if is_transient_io(exc):
            raise TransientSourceError(f"{path}: reading failed: {type(exc).__name__}: {exc}") from exc
        raise TableSourceError(f"{path}: reading failed: {type(exc).__name__}: {exc}") from exc


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise TableSourceError(
            f"{path}: not UTF-8 at byte offset {exc.start + (len(_BOM) if data.startswith(_BOM) else 0)} "
            f"(line {_line_of(data, exc.start)}, byte 0x{bad}): save the file as UTF-8"
        ) from None


def _header(path: Path, text: str, delimiter: str) -> list[str]:
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first.strip():
        raise TableSourceError(f"{path}, line 1: expected a header line naming the columns, found an empty line")
    header = next(csv.reader([first], delimiter=delimiter))
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise TableSourceError(f"{path}, line 1: the header names {', '.join(map(repr, duplicated))} more than once")
    return header


def _check_columns(path: Path, header: list[str], expected: Sequence[str], delimiter: str) -> None:
    missing = [c for c in expected if c not in header]
    if not missing:
        return
    if len(header) == 1 and len(expected) > 1 and any(d in header[0] for d in _OTHER_DELIMITERS if d != delimiter):
        raise TableSourceError(
            f"{path}, line 1: expected columns {','.join(expected)}, found {header[0]!r} - wrong delimiter? "
            f"(the config says delimiter {delimiter!r})"
        )
    raise TableSourceError(f"{path}, line 1: missing required columns {', '.join(missing)} (the header has {', '.join(header)})")


def _rows_unquoted(text: str, header: list[str], delimiter: str) -> tuple[pl.DataFrame, int]:
    """Every line is one record when the file has no quote: split all lines at once, vectorised."""
    parts = text.split("\n")
    if parts[-1] == "":  # the newline that ends the last line starts no record
        parts.pop()
    lines = pl.Series("line", parts, dtype=pl.String).str.strip_suffix("\r")
    frame = pl.DataFrame({"line": lines}).with_row_index(SOURCE_LINE, offset=1).slice(1)  # line 1 is the header
    blank = frame.filter(pl.col("line").str.len_chars() == 0).height
    frame = frame.filter(pl.col("line").str.len_chars() > 0).with_columns(pl.col("line").str.split(delimiter))
    return (
        frame.select(
            *(pl.col("line").list.get(i, null_on_oob=True).alias(name) for i, name in enumerate(header)),
            pl.col(SOURCE_LINE).cast(pl.Int64),
            pl.col("line").list.len().cast(pl.Int32).alias(FIELDS),
        ),
        blank,
    )


def _rows_quoted(text: str, header: list[str], delimiter: str) -> tuple[pl.DataFrame, int]:
    """Quoted fields may hold delimiters and newlines: the csv module parses them and tells each record's line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    counts: list[int] = []
    blank, previous = 0, reader.line_num
    for record in reader:
        start, previous = previous + 1, reader.line_num
        if not record:
            blank += 1
            continue
        lines.append(start)
        counts.append(len(record))
        for i in range(width):
            columns[i].append(record[i] if i < len(record) else None)
    frame = pl.DataFrame(
        {**{name: pl.Series(name, values, dtype=pl.String) for name, values in zip(header, columns)},
         SOURCE_LINE: pl.Series(SOURCE_LINE, lines, dtype=pl.Int64), FIELDS: pl.Series(FIELDS, counts, dtype=pl.Int32)}
    )
    return frame, blank


def read_csv_file(path: Path | str, expected: Sequence[str], delimiter: str, keep: Sequence[str] | None) -> SourceRead:
    """One CSV file as strings (empty fields are null) with ``source_file``, ``source_line`` and the field count.

    ``expected`` columns must be in the header; ``keep`` (None: all) are the columns taken.
    Not ``pl.read_csv``: it fills a short row with nulls without a word and cannot say which line a row came
    from; splitting the lines ourselves (the csv module when the file has quotes) gives both.
    """
    data = read_bytes(path)
    size = len(data)
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    text = _decode(path, data)
    header = _header(path, text, delimiter)
    _check_columns(path, header, expected, delimiter)
    rows, blank = (_rows_quoted if '"' in text else _rows_unquoted)(text, header, delimiter)
    taken = list(header) if keep is None else list(keep)
    rows = rows.select(
        *(pl.col(c).replace("", None) for c in taken),
        pl.lit(str(path), dtype=pl.String).alias(SOURCE_FILE),
        SOURCE_LINE,
        FIELDS,
        pl.lit(len(header), dtype=pl.Int32).alias(EXPECTED_FIELDS),
    )
    return SourceRead(rows, header, files=1, bytes_read=size, blank_lines=blank, ignored_columns=[h for h in header if h not in taken])


def read_csv_source(pattern: str, expected: Sequence[str], delimiter: str, keep: Sequence[str] | None) -> SourceRead:
    """Every file of a path or glob (the first file's columns decide when ``keep`` is None)."""
    reads: list[SourceRead] = []
    for path in csv_files(pattern):
        if keep is None and reads:  # inferred columns: the first file's header, which every other file must have
            first = reads[0].header_columns
            reads.append(read_csv_file(path, [*expected, *(c for c in first if c not in expected)], delimiter, first))
        else:
            reads.append(read_csv_file(path, expected, delimiter, keep))
    frame = pl.concat([r.frame for r in reads], how="vertical")
    return combined(reads, frame, keep)


# ------------------------------------------------------------------------------------- Parquet and JSON Lines
def _flat(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column as staged: nested values (structs, lists) become their JSON text; everything else is kept."""
    if isinstance(dtype, (pl.Struct, pl.List, pl.Array)):
        prefix = "{" + json.dumps(name) + ":"
        encoded = pl.struct(name).struct.json_encode().str.strip_prefix(prefix).str.strip_suffix("}")
        return pl.when(pl.col(name).is_not_null()).then(encoded).alias(name)
    return pl.col(name)


def _typed_file(
    path: Path | str, frame: pl.DataFrame, expected: Sequence[str], keep: Sequence[str] | None, position: pl.Expr | pl.Series, size: int, blank: int = 0
) -> SourceRead:
    header = list(frame.columns)
    missing = [c for c in expected if c not in header]
    if missing:
        raise TableSourceError(f"{path}: missing required columns {', '.join(missing)} (the file has {', '.join(header) or 'no column'})")
    taken = header if keep is None else list(keep)
    rows = frame.select(*(_flat(c, frame.schema[c]) for c in taken), pl.lit(str(path), dtype=pl.String).alias(SOURCE_FILE), position)
    return SourceRead(rows, header, files=1, bytes_read=size, blank_lines=blank, ignored_columns=[h for h in header if h not in taken])


def read_parquet_file(path: Path | str, expected: Sequence[str], keep: Sequence[str] | None) -> SourceRead:
    """One Parquet file with its own column types, ``source_file`` and ``source_row`` (1-based, in file order)."""
    data = read_bytes(path)
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - polars raises several kinds for a damaged file
        raise TableSourceError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {str(exc)[:200]})") from None
    return _typed_file(path, frame, expected, keep, pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(SOURCE_ROW), len(data))


def _first_bad_line(path: Path | str, lines: pl.DataFrame) -> TableSourceError | None:
    """The first line that is not one JSON object (only looked for once the whole read failed)."""
    for number, line in lines.iter_rows():
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            return TableSourceError(f"{path}, line {number}: not JSON ({exc.msg} at column {exc.colno}): {line[:80]!r}")
        if not isinstance(value, dict):
            return TableSourceError(f"{path}, line {number}: expected one JSON object per line, found {type(value).__name__}: {line[:80]!r}")
    return None


def read_jsonl_file(path: Path | str, expected: Sequence[str], keep: Sequence[str] | None) -> SourceRead:
    """One JSON Lines file (one object per line; blank lines skipped and counted) with ``source_file`` and ``source_line``.

    Keys missing from a line are nulls; a key whose values mix types (``1`` and ``"x"``) is read as text, so a
    declared type quarantines the rows it does not fit instead of failing the file.
    """
    data = read_bytes(path)
    size = len(data)
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    text = _decode(path, data)
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    lines = pl.DataFrame({"line": pl.Series("line", parts, dtype=pl.String).str.strip_suffix("\r")}).with_row_index(SOURCE_LINE, offset=1)
    filled = lines.filter(pl.col("line").str.strip_chars().str.len_chars() > 0).select(pl.col(SOURCE_LINE).cast(pl.Int64), "line")
    blank = lines.height - filled.height
    try:
        frame = pl.read_ndjson(io.StringIO("\n".join(filled["line"].to_list())), infer_schema_length=None) if filled.height else pl.DataFrame()
    except Exception as exc:  # noqa: BLE001 - then name the line
        raise _first_bad_line(path, filled) or TableSourceError(f"{path}: not JSON Lines ({type(exc).__name__}: {str(exc)[:200]})") from None
    if frame.height != filled.height:  # pragma: no cover - one object per non-blank line
        raise TableSourceError(f"{path}: {filled.height} lines gave {frame.height} rows")
    return _typed_file(path, frame, expected, keep, filled[SOURCE_LINE], size, blank)


_FILE_READERS = {"parquet": read_parquet_file, "jsonl": read_jsonl_file}


def read_file_source(kind: str, pattern: str, expected: Sequence[str], keep: Sequence[str] | None) -> SourceRead:
    """Every Parquet or JSON Lines file of a path, folder or glob (the first file's columns decide when ``keep`` is None).

    Columns whose types differ between files are brought to a common type (an int and a float column: float;
    anything and text: text); types that have none fail the read naming the files.
    """
    reader = _FILE_READERS[kind]
    reads: list[SourceRead] = []
    for path in source_files(pattern, FILE_SUFFIXES[kind]):
        if keep is None and reads:
            first = reads[0].header_columns
            reads.append(reader(path, [*expected, *(c for c in first if c not in expected)], first))
        else:
            reads.append(reader(path, expected, keep))
    try:
        frame = pl.concat([r.frame for r in reads], how="vertical_relaxed")
    except Exception as exc:  # noqa: BLE001 - polars' SchemaError names the column, not the files
        raise TableSourceError(f"{pattern}: the files' columns have types with no common type ({type(exc).__name__}: {str(exc)[:200]})") from None
    return combined(reads, frame, keep)


# ---------------------------------------------------------------------------------------------- PostgreSQL
def quote_table(name: str) -> str:
    return ".".join(f'"{part}"' for part in name.split("."))


def _redact(message: str, dsn: str) -> str:
    """A driver message with the DSN (and any password in it) taken out."""
    from urllib.parse import urlsplit

    secrets = [dsn]
    try:
        password = urlsplit(dsn).password
    except ValueError:
        password = None
    if password:
        secrets.append(password)
    for key_value in dsn.split():
        if key_value.startswith("password="):
            secrets.append(key_value.split("=", 1)[1])
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message


def _storage(batch: Any) -> Any:
    """The batch with extension columns (ADBC sends NUMERIC as text in an extension type) as their storage."""
    import pyarrow as pa

    if not any(isinstance(f.type, pa.ExtensionType) or isinstance(f.type, pa.BaseExtensionType) for f in batch.schema):
        return batch
    arrays = [c.storage if isinstance(c.type, pa.BaseExtensionType) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


_PERMANENT_SQLSTATES = ("28000", "28P01", "3D000")  # refused login, wrong password, no such database


def _transient_database_error(exc: BaseException) -> bool:
    """A lost or refused connection, a timeout, a server shutting down: DB-API ``OperationalError`` (ADBC and
    psycopg alike) or an I/O error. A bad query, a missing table or a type error are not retried."""
    if getattr(exc, "sqlstate", None) in _PERMANENT_SQLSTATES:
        return False
    return type(exc).__name__ in ("OperationalError", "InterfaceError") or is_transient_io(exc)


def read_postgres(dsn: str, query: str, batch_bytes: int, what: str) -> SourceRead:
    """A query's rows through ADBC (binary COPY, streamed as Arrow batches of about ``batch_bytes``).

    Batches keep the driver's buffer bounded; the rows are kept as columnar Polars frames (no Python rows).
    Errors name the table ``what``, never the DSN.
    """
    import adbc_driver_postgresql.dbapi as pg

    frames: list[pl.DataFrame] = []
    size = 0
    try:
        with pg.connect(dsn) as conn, conn.cursor() as cur:
            cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(batch_bytes)})
            cur.execute(query)
            reader = cur.fetch_record_batch()
            schema = reader.schema
            for batch in reader:
                size += batch.nbytes
                frames.append(pl.from_arrow(_storage(batch)))
    except Exception as exc:  # noqa: BLE001 - any driver error, reported without the DSN
        error = TransientSourceError if _transient_database_error(exc) else TableSourceError
        raise error(f"table {what}: reading PostgreSQL failed: {_redact(str(exc), dsn)}") from None
    if frames:
        frame = pl.concat(frames, how="vertical_relaxed")
    else:
        import pyarrow as pa

        frame = pl.from_arrow(_storage(pa.RecordBatch.from_pylist([], schema=schema)))  # no rows: the columns still count
    header = list(frame.columns)
    frame = frame.with_row_index(SOURCE_ROW, offset=1).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
    return SourceRead(frame, header, files=0, bytes_read=size, batches=len(frames))
