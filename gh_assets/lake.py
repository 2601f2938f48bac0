"""The lake: raw pages, staged Parquet and quarantine under one root, on local disk or an object store.

Layout (``<root>`` is ``$GH_ASSETS_LAKE_ROOT``, by default ``$GH_ASSETS_DATA_DIR/lake``)::

    raw/<entity>/repo=<owner>__<name>/date=<YYYY-MM-DD>/manifest.json + pages/<seq>.json.zst
    staged/<entity>/repo=<owner>__<name>/date=<YYYY-MM-DD>/part-0.parquet
    quarantine/<entity>/repo=<owner>__<name>/date=<YYYY-MM-DD>/part-0.parquet

Readers never see half a partition, a rerun replaces a partition whole, and a failed write leaves the
previous version in place:

- on local disk every partition is written to a temporary sibling and renamed into place. A failed or
  interrupted write removes its temporary; one left by a killed process (its name records the writer's pid and
  host) is swept the next time that partition is written;
- on an object store (``s3://bucket/prefix``; no atomic rename) a partition's objects go under a fresh
  version prefix (``date=.../<version>/pages/00000.json.zst``, ``date=.../<version>/part-0.parquet``) and its
  ``manifest.json``, naming them, is written last. One PUT replaces an object atomically and readers resolve
  a partition through its manifest only, so they see the old version or the new one, never a mix; the old
  version's objects are deleted once the new manifest is in place.

Object-store endpoint and credentials come from the standard AWS variables (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``) read by botocore and Polars themselves:
they never pass through this module, Dagster config, metadata or logs.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl
import zstandard

from gh_assets.config import repo_from_slug, repo_slug

if TYPE_CHECKING:
    import duckdb
    import fsspec

MANIFEST = "manifest.json"
PAGES = "pages"
PARQUET_FILE = "part-0.parquet"
LAYERS = ("raw", "staged", "quarantine")
_ZSTD_LEVEL = 3
_WRITE_AHEAD = 64  # pages queued for a local raw writer's thread (~25 MB of GitHub-sized pages)
_PUT_BATCH = 32  # raw pages buffered before one concurrent upload: bounded memory, fewer round trips
_PARTITION_RE = re.compile(r"repo=(?P<slug>[^/]+)/date=(?P<day>\d{4}-\d{2}-\d{2})$")


class LakeError(Exception):
    """The lake root cannot be used (an unsupported scheme, a missing optional dependency)."""


class CorruptPage(LakeError):
    """A stored raw page cannot be read back (not zstd, truncated); the message names its file and partition."""


@dataclass(frozen=True)
class RawPageMeta:
    """What we know of one captured page besides its body. ``url`` is sanitised; no request headers are kept."""

    seq: int
    file: str
    key: str  # the request (path + sorted query) the page answers; matches stored ETags
    url: str
    status: int  # 200, or 304 when the stored body was reused
    etag: str | None
    fetched_at: str
    bytes: int
    items: int
    rate_limit_limit: int | None
    rate_limit_remaining: int | None
    rate_limit_reset: float | None
    rate_limit_resource: str | None
    # GraphQL pages: the query's variables, its cost in points, and the PRs of the page this partition answers for
    variables: dict[str, Any] | None = None
    graphql_cost: int | None = None
    pull_numbers: list[int] | None = None


def _temporary(final: Path) -> Path:
    """A fresh temporary sibling of the partition folder ``final``, named after its writer (pid and host)."""
    return final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}-{os.getpid()}@{socket.gethostname()}")


def _writer_gone(name: str, now: float, mtime: float) -> bool:
    """Whether the writer of the temporary ``name`` is gone: its process is dead on this host, or it is a day old."""
    if now - mtime > 86_400:
        return True
    pid, _, host = name.rsplit(".tmp-", 1)[-1].partition("-")[2].partition("@")
    if not pid.isdigit():
        return True  # named before temporaries recorded their writer
    if host != socket.gethostname():
        return False  # another machine's writer: only its age can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def sweep_stale(final: Path) -> list[Path]:
    """Remove what dead writers left beside the partition folder ``final``; return what was removed.

    Temporaries (``.<name>.tmp-*``) of a process that is gone, or older than a day; superseded folders
    (``.<name>.old-*``) always: they are deleted right after the swap that made them.
    """
    if not final.parent.is_dir():
        return []
    now, removed = time.time(), []
    for path in final.parent.glob(f".{final.name}.*"):
        rest = path.name[len(final.name) + 2 :]
        try:
            stale = rest.startswith("old-") or (rest.startswith("tmp-") and _writer_gone(path.name, now, path.stat().st_mtime))
        except FileNotFoundError:
            continue
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _replace_dir(tmp: Path, final: Path) -> None:
    """Swap ``tmp`` into ``final``: the old partition is moved aside first and removed after."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def is_remote(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` names an object store (``s3://...``) rather than a local folder."""
    return "://" in os.fspath(root)


def _new_version() -> str:
    # Sortable by time, unique across writers: the folder of one write of a partition on an object store.
    return f"v{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"


def _object_store(root: str) -> fsspec.AbstractFileSystem:
    protocol = root.split("://", 1)[0]
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec comes with dagster
        raise LakeError(f"lake root {root}: fsspec is not installed; install gh_assets[s3]") from None
    options: dict[str, Any] = {}
    if protocol in ("s3", "s3a"):
        try:
            import s3fs  # noqa: F401
        except ImportError:
            raise LakeError(f"lake root {root}: s3fs is not installed; install the s3 extra: pip install 'gh_assets[s3]'") from None
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        # No listing cache: another process may publish meanwhile. No instance cache: a new Lake picks up
        # the environment as it is now. Endpoint and keys are left to botocore's own environment lookup.
        # max_concurrency=1: a whole-object GET without a HEAD first (objects here are small).
        options = {"use_listings_cache": False, "skip_instance_cache": True, "max_concurrency": 1}
        if region:
            options["client_kwargs"] = {"region_name": region}
    try:
        return fsspec.filesystem(protocol, **options)
    except (ImportError, ValueError) as exc:
        raise LakeError(f"lake root {root}: no filesystem for {protocol}:// ({exc})") from None


class Lake:
    """Paths and atomic I/O under one lake root: a local folder or ``s3://bucket/prefix``.

    Paths are :class:`~pathlib.Path` on local disk and ``s3://`` URL strings on an object store.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.remote = is_remote(root)
        self.root: Path | str = os.fspath(root).rstrip("/") if self.remote else Path(root)
        self._fs: fsspec.AbstractFileSystem | None = None

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem of an object-store root (created on first use)."""
        if not self.remote:
            raise LakeError(f"lake root {self.root} is a local folder; it has no object-store filesystem")
        if self._fs is None:
            self._fs = _object_store(str(self.root))
        return self._fs

    @property
    def location(self) -> str:
        """The root as shown to people: an absolute folder or the ``s3://`` URL."""
        return str(self.root) if self.remote else str(Path(self.root).resolve())

    def _path(self, *parts: str) -> Path | str:
        return "/".join((str(self.root), *parts)) if self.remote else Path(self.root).joinpath(*parts)

    def partition_dir(self, layer: str, entity: str, repo: str, day: date) -> Path | str:
        return self._path(layer, entity, f"repo={repo_slug(repo)}", f"date={day.isoformat()}")

    def repo_dir(self, layer: str, entity: str, repo: str) -> Path | str:
        return self._path(layer, entity, f"repo={repo_slug(repo)}")

    # --- raw pages -------------------------------------------------------------------------------------
    def raw_writer(self, entity: str, repo: str, days: list[date]) -> RawWriter:
        return RawWriter(self, entity, repo, days)

    def raw_manifest(self, entity: str, repo: str, day: date) -> list[RawPageMeta] | None:
        """The pages captured for one partition, or None if the partition was never captured."""
        if self.remote:
            data = self._manifest(str(self.partition_dir("raw", entity, repo, day)))
            return None if data is None else [RawPageMeta(**page) for page in data["pages"]]
        path = Path(self.partition_dir("raw", entity, repo, day)) / MANIFEST
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        return [RawPageMeta(**page) for page in data["pages"]]

    def raw_page_path(self, entity: str, repo: str, day: date, file: str) -> str:
        """Where the page ``file`` (as a manifest names it) of a raw partition is stored."""
        return f"{self.partition_dir('raw', entity, repo, day)}/{file}" if self.remote else str(Path(self.partition_dir("raw", entity, repo, day)) / file)

    def raw_pages(
        self, entity: str, repo: str, day: date, skip: Callable[[RawPageMeta], bool] | None = None, *, decompress: bool = True
    ) -> Iterator[tuple[RawPageMeta, bytes | None, str]]:
        """Yield ``(meta, body, path)`` for every page captured for the partition.

        ``skip``: pages the caller already holds; they are yielded with ``body=None``, never read.
        ``decompress=False`` yields the stored (zstd) bytes, for a caller that decompresses on other threads
        (:func:`decompress_page`).
        """
        base = self.partition_dir("raw", entity, repo, day)
        manifest = self.raw_manifest(entity, repo, day)
        if manifest is None:
            raise FileNotFoundError(f"{base}: no raw capture for {repo} on {day}; materialise the raw pages first")
        wanted = [skip is None or not skip(meta) for meta in manifest]
        if not self.remote:
            for meta, want in zip(manifest, wanted, strict=True):
                path = Path(base) / meta.file
                body = (self.read_page(path) if decompress else path.read_bytes()) if want else None
                yield meta, body, str(path)
            return
        urls = [f"{base}/{meta.file}" for meta in manifest]
        # One partition's compressed pages fetched concurrently (a day of one repository: small).
        fetch = [url for url, want in zip(urls, wanted, strict=True) if want]
        bodies = self.fs.cat(fetch, on_error="raise") if fetch else {}
        dctx = zstandard.ZstdDecompressor()
        for meta, url, want in zip(manifest, urls, wanted, strict=True):
            stored = bodies[self.fs._strip_protocol(url)] if want else None
            yield meta, decompress_page(stored, url, dctx) if stored is not None and decompress else stored, url

    def read_page(self, path: str | os.PathLike[str]) -> bytes:
        """The exact body of one captured page."""
        return decompress_page(self.fs.cat_file(os.fspath(path)) if self.remote else Path(path).read_bytes(), os.fspath(path))

    def raw_page_count(self, entity: str, repo: str | None = None) -> int:
        """Pages stored in the published raw partitions of ``entity`` (of one repository, or all)."""
        return sum(len(m.get("pages", [])) for _, _, m in self._published("raw", entity, repo))

    # --- Parquet ---------------------------------------------------------------------------------------
    def parquet_path(self, layer: str, entity: str, repo: str, day: date) -> Path | str:
        """The partition's Parquet file (on an object store: of its published version; may not exist)."""
        part = self.partition_dir(layer, entity, repo, day)
        if not self.remote:
            return Path(part) / PARQUET_FILE
        data = self._manifest(str(part))
        return f"{part}/{data['files'][0]}" if data and data.get("files") else f"{part}/{PARQUET_FILE}"

    def write_parquet(self, frame: pl.DataFrame, layer: str, entity: str, repo: str, day: date) -> Path | str:
        """Write one partition atomically (an empty frame still writes a file: the day is known to be empty)."""
        final_dir = self.partition_dir(layer, entity, repo, day)
        if self.remote:
            version = _new_version()
            buf = io.BytesIO()
            frame.write_parquet(buf, compression="zstd", statistics=True)
            name = f"{version}/{PARQUET_FILE}"
            manifest = {"layer": layer, "entity": entity, "repo": repo, "date": day.isoformat(), "version": version, "files": [name], "rows": frame.height}
            self._publish(str(final_dir), manifest, {f"{final_dir}/{name}": buf.getvalue()})
            return f"{final_dir}/{name}"
        final_dir = Path(final_dir)
        sweep_stale(final_dir)
        tmp_dir = _temporary(final_dir)
        tmp_dir.mkdir(parents=True)
        try:
            frame.write_parquet(tmp_dir / PARQUET_FILE, compression="zstd", statistics=True)
            _replace_dir(tmp_dir, final_dir)
        except BaseException:  # an interrupt too: leave no temporary behind
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise
        return final_dir / PARQUET_FILE

    def remove_partition(self, layer: str, entity: str, repo: str, day: date) -> None:
        part = self.partition_dir(layer, entity, repo, day)
        if not self.remote:
            shutil.rmtree(part, ignore_errors=True)
            return
        self._remove_remote(str(part))

    def parquet_glob(self, layer: str, entity: str, repo: str) -> str:
        """A glob of the repository's Parquet files (local disk only: object-store partitions resolve through manifests)."""
        if self.remote:
            raise LakeError(f"{self.root}: object-store partitions are read through their manifests; use parquet_files")
        return str(Path(self.repo_dir(layer, entity, repo)) / "date=*" / "*.parquet")

    def parquet_files(self, layer: str, entity: str, repo: str | None = None) -> list[str]:
        """The Parquet files of every published partition of ``entity`` (of one repository, or all), sorted."""
        if not self.remote:
            base = Path(self.root) / layer / entity
            pattern = f"repo={repo_slug(repo)}/date=*/*.parquet" if repo else "repo=*/date=*/*.parquet"
            return sorted(str(p) for p in base.glob(pattern))
        return sorted(f"{url}/{f}" for _, url, m in self._published(layer, entity, repo) for f in m.get("files", []))

    def staged_files(self, entity: str, repo: str) -> list[str]:
        """The staged Parquet files of one repository (what its mart is loaded from)."""
        return self.parquet_files("staged", entity, repo)

    @contextlib.contextmanager
    def local_reads(self) -> Iterator[Callable[[list[str]], list[str]]]:
        """Yield ``localise(files)``: local paths DuckDB can read at native speed for files of this lake.

        On local disk it returns the files unchanged. On an object store it downloads them concurrently (one
        GET each) into a temporary folder, replacing the previous call's copies, so disk use stays at one
        repository's files; the folder goes when the block ends. Published objects never change (a new
        version gets new names), so a copy is exactly what the manifest named. Reading ``s3://`` URLs
        through a registered fsspec filesystem works too (:meth:`register_filesystem`) but costs several
        round trips per file per query.
        """
        if not self.remote:
            yield lambda files: list(files)
            return
        with tempfile.TemporaryDirectory(prefix="gh_assets-lake-") as tmp:
            batch = [0]

            def localise(files: list[str]) -> list[str]:
                shutil.rmtree(Path(tmp) / str(batch[0]), ignore_errors=True)
                batch[0] += 1
                folder = Path(tmp) / str(batch[0])
                folder.mkdir()
                local = [str(folder / f"{n:06d}-{Path(f).name}") for n, f in enumerate(files)]
                if files:
                    self.fs.get(list(files), local)
                return local

            yield localise

    def register_filesystem(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let DuckDB read this lake's ``s3://`` URLs through fsspec (DuckDB 2.0 cannot install httpfs offline)."""
        if self.remote and self.fs.protocol[0] not in con.list_filesystems():
            con.register_filesystem(self.fs)

    def exists(self, path: str | os.PathLike[str]) -> bool:
        """Whether a file of this lake exists (a local path or an object URL)."""
        return self.fs.exists(os.fspath(path)) if self.remote else Path(path).exists()

    # --- listing and retention -----------------------------------------------------------------------
    def list_partitions(self, layer: str, entity: str, repo: str | None = None) -> list[tuple[str, date]]:
        """``(repository, day)`` of every published partition of ``entity``, sorted."""
        parts = self._partition_dirs(layer, entity, repo)
        if self.remote:
            published = {folder for _, folder, _ in self._published(layer, entity, repo, parts)}
            parts = [p for p in parts if p[2] in published]
        return sorted((r, d) for r, d, _ in parts)

    def raw_partitions_before(self, older_than: date) -> list[tuple[str, str, date]]:
        """``(entity, repository, day)`` of every raw partition (published or not) whose day is before ``older_than``."""
        out = []
        for entity in self._children(self._path("raw")):
            out += [(entity, r, d) for r, d, _ in self._partition_dirs("raw", entity) if d < older_than]
        return sorted(out)

    def prune_raw(self, older_than: date) -> int:
        """Delete the raw partitions whose day is before ``older_than`` (never staged or quarantine). Returns how many."""
        doomed = self.raw_partitions_before(older_than)
        for entity, repo, day in doomed:
            self.remove_partition("raw", entity, repo, day)
        return len(doomed)

    def _children(self, path: Path | str) -> list[str]:
        """Names of the folders right under ``path`` (hidden temporaries left out)."""
        if not self.remote:
            return sorted(p.name for p in Path(path).iterdir() if p.is_dir() and not p.name.startswith(".")) if Path(path).is_dir() else []
        try:
            return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(str(path), detail=False))
        except FileNotFoundError:
            return []

    def _partition_dirs(self, layer: str, entity: str, repo: str | None = None) -> list[tuple[str, date, str]]:
        """``(repository, day, folder)`` of every partition folder (on an object store: one delimited LIST per repository)."""
        base = self._path(layer, entity)
        slugs = [f"repo={repo_slug(repo)}"] if repo else [s for s in self._children(base) if s.startswith("repo=")]
        out = []
        for slug in slugs:
            for name in self._children(f"{base}/{slug}" if self.remote else Path(base) / slug):
                match = _PARTITION_RE.search(f"{slug}/{name}")
                if not match:
                    continue
                try:
                    repo_name, day = repo_from_slug(match["slug"]), date.fromisoformat(match["day"])
                except ValueError:  # a folder the lake did not write
                    continue
                folder = f"{base}/{slug}/{name}" if self.remote else str(Path(base) / slug / name)
                out.append((repo_name, day, folder))
        return out

    # --- object store: versions published by their manifest -------------------------------------------
    def _manifest(self, part: str) -> dict[str, Any] | None:
        try:
            return orjson.loads(self.fs.cat_file(f"{part}/{MANIFEST}"))
        except FileNotFoundError:
            return None

    def _published(
        self, layer: str, entity: str, repo: str | None, parts: list[tuple[str, date, str]] | None = None
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """``(repository, folder, manifest)`` of every partition with a manifest (fetched concurrently on an object store)."""
        parts = self._partition_dirs(layer, entity, repo) if parts is None else parts
        if not self.remote:
            manifests = [(r, folder, Path(folder) / MANIFEST) for r, _, folder in parts]
            return [(r, folder, orjson.loads(m.read_bytes())) for r, folder, m in manifests if m.exists()]
        urls = {f"{folder}/{MANIFEST}": (r, folder) for r, _, folder in parts}
        found = self.fs.cat(list(urls), on_error="omit") if urls else {}
        out = []
        for url, (r, folder) in urls.items():
            body = found.get(self.fs._strip_protocol(url))
            if body is not None:
                out.append((r, folder, orjson.loads(body)))
        return out

    def _put_objects(self, objects: dict[str, bytes]) -> None:
        """Upload objects (concurrently); each becomes visible whole or not at all."""
        if objects:
            self.fs.pipe(objects)

    def _publish(self, part: str, manifest: dict[str, Any], objects: dict[str, bytes]) -> None:
        """Upload ``objects`` (under the manifest's version prefix), then the manifest: the one PUT that publishes.

        On failure the new version's objects are removed (unless the manifest did land) and the previous
        version stays the partition's. After publishing, the previous version's objects are deleted.
        """
        version = manifest["version"]
        old = self._manifest(part)
        try:
            self._put_objects(objects)
            self._put_objects({f"{part}/{MANIFEST}": orjson.dumps(manifest)})
        except BaseException:
            self._discard_unpublished(part, version)
            raise
        if old is not None and old.get("version") != version:
            self._drop_version(part, old)

    def _discard_unpublished(self, part: str, version: str) -> None:
        """Best-effort removal of ``version``'s objects unless the partition's manifest names it."""
        try:
            current = self._manifest(part)
            if current is None or current.get("version") != version:
                self.fs.rm(f"{part}/{version}", recursive=True)
        except Exception:  # noqa: BLE001 - unreferenced objects are invisible to readers; cleanup must not mask the real error
            pass

    def _drop_version(self, part: str, manifest: dict[str, Any]) -> None:
        """Best-effort removal of a superseded version: the objects its manifest named (one bulk DELETE, no LIST)."""
        try:
            if files := _files_of(manifest):
                self.fs.rm([f"{part}/{f}" for f in files])
        except Exception:  # noqa: BLE001 - the new version is published; leftovers are unreferenced
            pass

    def _remove_remote(self, part: str) -> None:
        objects = self.fs.find(part)  # one LIST; usually empty (a quarantine that stayed clean)
        if not objects:
            return
        # The manifest goes first: from then on no reader sees the partition, whatever is left to delete.
        manifest = self.fs._strip_protocol(f"{part}/{MANIFEST}")
        if manifest in objects:
            self.fs.rm_file(f"{part}/{MANIFEST}")
        rest = [p for p in objects if p != manifest]
        if rest:
            self.fs.rm(rest)


def _files_of(manifest: dict[str, Any]) -> list[str]:
    return [p["file"] for p in manifest.get("pages", [])] + list(manifest.get("files", []))


class RawWriter:
    """Streams pages of one sweep into per-day partitions; :meth:`commit` publishes them all.

    A page whose items span several days is stored in each of those days, so every partition holds the
    exact bodies it was built from and can be replayed alone. Pages are written as they arrive (on an
    object store in small concurrent batches): memory stays flat however long the sweep.

    On a local lake the compression and the file writes run on one background thread, off the sweep's path:
    zstd and file I/O release the GIL, so they overlap the next request. At most ``_WRITE_AHEAD`` pages wait
    for that thread; its first error is raised by the next :meth:`add` or by :meth:`commit`.
    """

    def __init__(self, lake: Lake, entity: str, repo: str, days: list[date]) -> None:
        self.lake, self.entity, self.repo = lake, entity, repo
        self._final = {day: lake.partition_dir("raw", entity, repo, day) for day in days}
        self._manifests: dict[date, list[dict[str, Any]]] = {day: [] for day in days}
        self._cctx = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
        if lake.remote:
            self._version = _new_version()
            self._pending: dict[str, bytes] = {}
            self._tmp: dict[date, Any] = dict(self._final)
            return
        self._tmp = {day: _temporary(path) for day, path in self._final.items()}
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-writer")
        self._writes: deque[Future[None]] = deque()
        self._background(self._make_dirs, list(self._tmp.values()))

    def _make_dirs(self, dirs: list[Path]) -> None:
        for final, tmp in zip(self._final.values(), dirs, strict=True):
            sweep_stale(Path(final))
            (tmp / PAGES).mkdir(parents=True)

    def _write_page(self, body: bytes, paths: list[Path]) -> None:
        compressed = zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(body)
        for path in paths:
            path.write_bytes(compressed)

    def _background(self, fn: Callable[..., None], *args: Any) -> None:
        while self._writes and (self._writes[0].done() or len(self._writes) >= _WRITE_AHEAD):
            self._writes.popleft().result()  # raises the writer's error here, at the page after it
        self._writes.append(self._io.submit(fn, *args))

    def _drain(self) -> None:
        """Wait for every background write; raise the first error."""
        try:
            while self._writes:
                self._writes.popleft().result()
        finally:
            self._io.shutdown(wait=True, cancel_futures=True)

    def add(self, body: bytes, days: set[date], meta: dict[str, Any]) -> None:
        """Store one page body under each of ``days`` that belongs to this sweep."""
        targets = sorted(day for day in days if day in self._tmp)
        if not targets:
            return
        if self.lake.remote:
            compressed = self._cctx.compress(body)
        paths = []
        for day in targets:
            entries = self._manifests[day]
            name = f"{PAGES}/{len(entries):05d}.json.zst"
            if self.lake.remote:
                name = f"{self._version}/{name}"
                self._pending[f"{self._final[day]}/{name}"] = compressed
            else:
                paths.append(self._tmp[day] / name)
            entries.append(asdict(RawPageMeta(seq=len(entries), file=name, **meta)))
        if self.lake.remote:
            if len(self._pending) >= _PUT_BATCH:
                self._flush()
        else:
            self._background(self._write_page, body, paths)

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        self.lake._put_objects(pending)

    def commit(self) -> dict[date, int]:
        """Publish every day (days with no page get an empty manifest). Returns pages per day."""
        counts = {}
        if self.lake.remote:
            self._flush()
        else:
            self._drain()
        for day, tmp in self._tmp.items():
            manifest = {"entity": self.entity, "repo": self.repo, "date": day.isoformat(), "pages": self._manifests[day]}
            if self.lake.remote:
                self.lake._publish(str(self._final[day]), {**manifest, "version": self._version}, {})
            else:
                (tmp / MANIFEST).write_bytes(orjson.dumps(manifest))
                _replace_dir(tmp, self._final[day])
            counts[day] = len(self._manifests[day])
        return counts

    def abort(self) -> None:
        if self.lake.remote:
            # Unpublished objects are invisible already (no manifest names them); removing them is housekeeping.
            self._pending = {}
            for part in self._final.values():
                self.lake._discard_unpublished(str(part), self._version)
            return
        with contextlib.suppress(Exception):  # the error being handled is the one to report
            self._drain()
        for tmp in self._tmp.values():
            shutil.rmtree(tmp, ignore_errors=True)


def decompress_page(stored: bytes, where: str | None = None, dctx: zstandard.ZstdDecompressor | None = None) -> bytes:
    """A stored page's body (zstd releases the GIL: safe and parallel on worker threads).

    A body that is not zstd raises :class:`CorruptPage` naming ``where`` (the page's file, inside its partition).
    """
    try:
        return (dctx or zstandard.ZstdDecompressor()).decompress(stored)
    except zstandard.ZstdError as exc:
        raise CorruptPage(
            f"{where or 'a stored raw page'}: the stored page is corrupt ({exc}); materialise the raw pages of "
            f"{_partition_of(where)} again to re-capture it"
        ) from None


def _partition_of(where: str | None) -> str:
    """``repo=o__n/date=D`` of a raw page's path as ``o/n on D`` (what a user materialises again)."""
    match = re.search(r"repo=(?P<slug>[^/]+)/date=(?P<day>\d{4}-\d{2}-\d{2})", where or "")
    if not match:
        return "its partition"
    try:
        return f"{repo_from_slug(match['slug'])} on {match['day']}"
    except ValueError:
        return f"{match['slug']} on {match['day']}"


_ISO_US = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime(_ISO_US)


def parse_utc_iso(value: str) -> datetime:
    return datetime.strptime(value, _ISO_US).replace(tzinfo=UTC)
