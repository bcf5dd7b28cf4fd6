"""The ingest as a map and a reduce: each file (or piece) read into a Parquet shard, the shards loaded in order.

The map (:func:`map_shard`) is a pure function of one input: it reads a file, or one byte range of a
large one, with the same :class:`~analyzer.extracting.FileReader` as every ingest, and writes its
rows as Parquet files under ``DATASET/shards/ID/``, then a ``manifest.json`` saying what it read. ID
is a hash of what was read (stored name, size, content hash, byte range, starting line) and how
(log format, zone, text kept, crossover's version): a shard whose manifest exists is the same
result, and running it again does nothing. A new file, one never read into the database, is not
hashed by this process: what says it is unchanged on the next run without reading it (a settled
modification time, an object's ETag or generation) names its shards instead, and the task reading
it from its start hashes it for its ``files`` row (:meth:`ShardIngestor._identify`). Tasks run on
an executor: this machine's process pool, or an existing dask cluster (``--executor dask --address``).

The reduce (:class:`ShardIngestor`) is the ordinary ingest with reading replaced by loading: it
decides what to read exactly as :class:`~analyzer.ingesting.Ingestor` does (unchanged files
skipped, a grown one read on), loads each file's shards in file order in that file's transaction,
so that keyed tables keep the same first copy of a request as reading the files one by one, and
then runs the same final pass (batch joins, template versions, few-shot vs history, prices) on
what the database holds.

After the final pass the reduce writes the tables a report reads as ``DATASET/tables/TABLE.parquet``,
then ``tables/manifest.json`` (their rows, and the migrations that shaped them), each run over the
last: :func:`open_dataset` gives the report those files as the tables of an in-memory database, so
``crossover report --dataset PATH`` prints what ``crossover report`` prints from the database.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

from . import reading, sources, storage
from .errors import DatasetUnusable, MissingDependency
from .extracting import FileReader, FileResult
from .ingesting import Ingestor, IngestResult, OnBytes, OnFile
from .pending import Pending, count_written, fingerprint, first_result, merge_part, parts_of
from .storage import Rows
from .working import skip_our_main

#: Bumped when what a shard holds changes: an older shard is then read again, not loaded.
SHARD_FORMAT = 1
#: Rows of one table held before they are written as one Parquet file of the shard: few files per
#: shard (each is a request to object storage), a bounded memory per task.
PART_ROWS = 100_000
MANIFEST = "manifest.json"
#: Where the report's tables are in a dataset, beside ``shards/``, and the file written after them.
TABLES_DIR = "tables"
#: Bumped when what ``tables/`` holds changes: an older dataset is then a user error until ingested again.
TABLES_FORMAT = 1
EXECUTORS = ("local", "dask")

#: (log format, zone, reference counting, text kept): how a map task reads.
Settings = tuple[str | None, str | None, bool, bool]


# The map ---------------------------------------------------------------------------------------

_READERS = threading.local()  # a dask worker may run tasks in threads; a reader is not shared


def _reader(settings: Settings) -> FileReader:
    """This thread's reader for these settings, kept across tasks: its tokenizers load once per process."""
    readers = getattr(_READERS, "by_settings", None)
    if readers is None:
        readers = _READERS.by_settings = {}
    if settings not in readers:
        readers[settings] = FileReader(*settings)
    return readers[settings]


def map_shard(task: dict[str, Any]) -> dict[str, Any]:
    """Read one file (or its piece up to ``task["end"]``) into the shard ``task["shard"]``; return its manifest.

    With ``task["hash"]`` (a byte count), the manifest also gives the size and sha256 of the file's
    first that many bytes, as ``hashed``. The manifest is written last: a shard without one (its
    task killed) is written again whole.
    """
    shard = task["shard"]
    existing = _read_manifest(shard)
    if existing is not None:
        return existing
    part: FileResult = task["part"]
    reader = _reader(tuple(task["settings"]))
    reader.forget_written()  # the shard must hold every segment its requests name, whatever ran before it
    tables: dict[str, list] = {}
    written: dict[str, list[str]] = {}
    seen: set[str] = set()
    requests = 0

    def flush(table: str) -> None:
        import polars as pl

        frame = pl.concat(tables.pop(table), how="vertical_relaxed")
        target = _join(shard, f"{table}-{len(written.get(table, [])):04d}.parquet")
        _write_bytes(target, _parquet(frame))
        written.setdefault(table, []).append(target)

    def emit(rows: Rows) -> None:
        nonlocal requests
        # A request logged twice in the file is kept once, the first, as the writer keeps it; how
        # many there were is kept, so that the reduce can count duplicates.
        requests += len(rows.tables["requests"])
        first = []
        for row in rows.tables["requests"]:
            if row["request_id"] not in seen:
                seen.add(row["request_id"])
                first.append(row)
        rows.tables["requests"] = first
        for table, frame in rows.frames().items():
            tables.setdefault(table, []).append(frame)
            if sum(len(f) for f in tables[table]) >= PART_ROWS:
                flush(table)

    source = sources.as_path(task["source"])
    reader.read(source, part, emit, task["end"])
    for table in list(tables):
        flush(table)
    manifest = {"format": SHARD_FORMAT, "name": part.path, "requests": requests,
                "parts": {t: [_base(p) for p in ps] for t, ps in written.items()},
                "result": {"records": part.records, "rejected": part.rejected, "pending": part.pending,
                           "ignored": part.ignored, "formats": sorted(part.formats), "examples": part.examples,
                           "warnings": part.warnings, "position": asdict(part.position)}}
    if task.get("hash") is not None:  # after reading: the bytes are in the page cache, or the block cache
        size, content_hash, _ = fingerprint(source, limit=task["hash"])
        manifest["hashed"] = [size, content_hash]
    _write_bytes(_join(shard, MANIFEST), json.dumps(manifest).encode())
    return manifest


def _parquet(frame: Any) -> bytes:
    import polars as pl

    # An all-null column has polars' Null type, which Parquet stores as no type DuckDB reads back as
    # the table's; the table's own type applies on insert, so any nullable type does.
    frame = frame.with_columns(pl.col(n).cast(pl.Utf8) for n, dtype in frame.schema.items() if dtype == pl.Null)
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _result_of(manifest: dict[str, Any]) -> FileResult:
    """The part's result as the map counted it (stored and duplicates are the reduce's to count)."""
    found = manifest["result"]
    return FileResult(manifest["name"], records=found["records"], rejected=found["rejected"],
                      pending=found["pending"], ignored=found["ignored"], formats=set(found["formats"]),
                      examples=[tuple(e) for e in found["examples"]], warnings=list(found["warnings"]),
                      position=reading.Position(**found["position"]))


# Where shards are: a local folder or a prefix in object storage -------------------------------

def _join(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}" if sources.is_remote(base) else os.path.join(base, name)


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1] if sources.is_remote(path) else os.path.basename(path)


def _fs(url: str):
    return sources.filesystem(url)  # the one place that says which extra a scheme needs


def _write_bytes(target: str, data: bytes) -> None:
    if sources.is_remote(target):
        _fs(target).pipe_file(target, data)  # one PUT: an object is whole or absent
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    temporary = f"{target}.{os.getpid()}.{threading.get_ident()}.partial"
    with open(temporary, "wb") as f:
        f.write(data)
    os.replace(temporary, target)  # a killed task leaves no half file under the real name


def _read_bytes(path: str) -> bytes:
    if sources.is_remote(path):
        return _fs(path).cat_file(path)
    with open(path, "rb") as f:
        return f.read()


def _read_manifest(shard: str) -> dict[str, Any] | None:
    try:
        data = _read_bytes(_join(shard, MANIFEST))
    except FileNotFoundError:
        return None
    manifest = json.loads(data)
    return manifest if manifest.get("format") == SHARD_FORMAT else None


def shard_id(item: Pending, part: FileResult, end: int | None, settings: Settings) -> str:
    """What a shard was read from and how, hashed: the same input read the same way has the same name.

    A file not hashed yet is named by its modification time or its object's version instead: the
    same, with its size, by which the next run judges it unchanged without reading it.
    """
    content = item.content_hash if item.content_hash is not None else ["unhashed", item.mtime_ns, item.etag]
    identity = [SHARD_FORMAT, version("crossover-analyzer"), item.name, item.size, content,
                part.position.line, part.position.offset, end, list(settings)]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:32]


# Executors: where map tasks run --------------------------------------------------------------

class Executor(Protocol):
    """Runs map tasks; another engine (ray) is one more class with these two methods."""

    def submit(self, fn: Callable[[dict], dict], task: dict, key: str) -> Callable[[], dict]:
        """Start a task; return what waits for and gives its result."""

    def close(self) -> None:
        """Release the workers (not an existing cluster's)."""


class InlineExecutor:
    """One process: each task runs when its result is asked for, in file order."""

    def submit(self, fn: Callable[[dict], dict], task: dict, key: str) -> Callable[[], dict]:
        return lambda: fn(task)

    def close(self) -> None:
        pass


class PoolExecutor:
    """This machine's spawned worker processes (the default ingest's pool)."""

    def __init__(self, jobs: int):
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn: Callable[[dict], dict], task: dict, key: str) -> Callable[[], dict]:
        with skip_our_main():
            return self.pool.submit(fn, task).result

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """A dask.distributed cluster: the one at ``address``, else a local one of ``jobs`` worker processes."""

    #: Retries of a task that raised (an object store's passing error); a task whose worker died is
    #: run again by the scheduler itself (``distributed.scheduler.allowed-failures``).
    RETRIES = 2

    def __init__(self, address: str | None, jobs: int):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise MissingDependency("--executor dask needs dask.distributed: "
                                    "pip install 'crossover-analyzer[dask]'") from None
        self.cluster = None
        if address is None:
            # One thread per worker: reading is GIL-bound Python, threads would only share one core.
            self.cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            address = self.cluster.scheduler_address
        self.client = Client(address)

    def submit(self, fn: Callable[[dict], dict], task: dict, key: str) -> Callable[[], dict]:
        return self.client.submit(fn, task, key=f"crossover-shard-{key}", retries=self.RETRIES, pure=False).result

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def executor(name: str, jobs: int, address: str | None) -> Executor:
    """The executor named by ``--executor``."""
    if name == "dask":
        return DaskExecutor(address, jobs)
    return InlineExecutor() if jobs <= 1 else PoolExecutor(jobs)


# The reduce ----------------------------------------------------------------------------------

class ShardIngestor(Ingestor):
    """An ingest whose files are read by map tasks into shards under ``dataset``, then loaded in order."""

    def __init__(self, con: storage.Connection, dataset: str, run: Callable[[], Executor], tables: bool = True,
                 **options: Any):
        """``tables``: leave the report's tables in the dataset after the final pass (not in a scratch folder)."""
        super().__init__(con, **options)
        self.dataset = dataset if sources.is_remote(dataset) else str(Path(dataset).resolve())
        self._executor = run
        self._tables = tables
        self.mapped = self.reused = 0  # shards written by this run, and found already written
        if sources.is_remote(self.dataset):  # shards loaded, tables written, through fsspec: no DuckDB extension
            storage.use_filesystem(con, _fs(self.dataset))

    def ingest(self, paths: Iterable[str], on_file: OnFile | None = None, on_bytes: OnBytes | None = None
               ) -> IngestResult:
        run = super().ingest(paths, on_file, on_bytes)
        if self._tables:  # also when nothing was new: a compare since the last run is in the tables then
            write_tables(self.con, self.dataset)
        return run

    def _identify(self, path: Path | sources.RemotePath, before: storage.FileRow | None, size: int,
                  version: int | str | None) -> tuple[int, str | None, str | None]:
        """A new file with a settled modification time or an object's version is not hashed here.

        Its hash decides nothing (it is read whole whatever it is) and is only recorded in its
        ``files`` row: its first map task hashes it, on the workers, and its shards are named by the
        size and time (or version) that the next run judges it unchanged by. A file read before is
        hashed here, as by every ingest: the hash says whether it is unchanged, grown or changed.
        """
        if before is not None or version is None or size == 0:
            return super()._identify(path, before, size, version)
        sources.read_range(path, 0, 1)  # one that cannot be read is recorded so here, as hashing it would find
        return size, None, None

    def _read_pending(self, pending: list[Pending], parallel: bool) -> Iterator[FileResult]:
        if not pending:
            return
        if not sources.is_remote(self.dataset):
            os.makedirs(self.dataset, exist_ok=True)
        settings: Settings = (self.format_name, self.timezone_name, self.reference, self.keep_text)
        running = self._executor()
        try:
            results = [first_result(p) for p in pending]
            # Every piece of every file is a task, all submitted at once; results are loaded file by
            # file, piece by piece, in order, as one process would write them.
            waits = []
            for item, result in zip(pending, results, strict=True):
                waits.append([])
                for part, start, end, shift in parts_of(item, result):
                    key = shard_id(item, part, end, settings)
                    shard = _join(_join(self.dataset, "shards"), key)
                    task = {"source": str(item.path), "shard": shard, "part": part, "end": end,
                            "settings": settings}
                    if item.content_hash is None and not waits[-1]:  # the file's first piece: see _identify
                        task["hash"] = item.size
                    done = _read_manifest(shard) is not None
                    self.reused += done
                    self.mapped += not done
                    # Cached: the first piece's manifest is asked for twice, an inline task is run once.
                    wait = functools.cache(running.submit(map_shard, task, key))
                    waits[-1].append((wait, shard, (end or item.size) - start, shift))
            for item, result, parts in zip(pending, results, waits, strict=True):
                if item.content_hash is None:  # what its files row records, as hashing it here would have
                    hashed = parts[0][0]()["hashed"]
                    item = dataclasses.replace(item, size=hashed[0], content_hash=hashed[1])
                with self._file_transaction(item, result):
                    for wait, shard, size, shift in parts:
                        manifest = wait()
                        part = _result_of(manifest)
                        with storage.transaction(self.con):
                            files = {t: [_join(shard, n) for n in ns] for t, ns in manifest["parts"].items()}
                            stored = storage.load_shard(self.con, files, result.position.line if shift else 0)
                        count_written(result, (stored, manifest["requests"] - stored))
                        merge_part(result, part, shift)
                        self._advanced(size)
                yield result
        finally:
            running.close()


# The report's tables ---------------------------------------------------------------------------

def write_tables(con: storage.Connection, dataset: str) -> None:
    """Write the tables a report reads into ``dataset/tables/``, over the last run's.

    The manifest goes first and comes back last: while the files are rewritten, a report finds none
    and says the dataset is incomplete, rather than mixing two runs' tables. A local file is written
    beside its name and renamed; an object is one PUT, whole or absent.
    """
    base = _join(dataset, TABLES_DIR)
    manifest = _join(base, MANIFEST)
    if sources.is_remote(manifest):
        fs = _fs(manifest)
        if fs.exists(manifest):
            fs.rm_file(manifest)
    else:
        os.makedirs(base, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.remove(manifest)
    rows = {}
    for table in storage.REPORT_TABLES:
        target = _join(base, f"{table}.parquet")
        if sources.is_remote(target):
            rows[table] = storage.copy_table(con, table, target)
        else:
            temporary = f"{target}.{os.getpid()}.partial"
            rows[table] = storage.copy_table(con, table, temporary)
            os.replace(temporary, target)
    _write_bytes(manifest, json.dumps({"format": TABLES_FORMAT, "crossover": version("crossover-analyzer"),
                                       "migrations": storage.migration_names(con), "rows": rows}).encode())


def open_dataset(dataset: str) -> storage.Connection:
    """A read-only connection whose report tables are the dataset's Parquet files (see :func:`storage.open_dataset`).

    Raises:
        DatasetUnusable: no tables in the dataset (never ingested with ``--dataset``, or a run still
            writing them), a table missing or not the size the manifest says, or written by a crossover
            whose tables were shaped otherwise.
    """
    from .storage import migrations

    remote = sources.is_remote(dataset)
    dataset = dataset if remote else str(Path(dataset).resolve())
    base = _join(dataset, TABLES_DIR)
    again = f"run `crossover ingest LOGS --dataset {dataset}`"
    try:
        manifest = _read_json(_join(base, MANIFEST))
    except FileNotFoundError:
        raise DatasetUnusable(f"{dataset}: no report tables in it ({TABLES_DIR}/{MANIFEST}); {again} "
                              "(or wait for the one writing them)") from None
    except (OSError, ValueError) as exc:
        raise DatasetUnusable(f"{dataset}: cannot read {TABLES_DIR}/{MANIFEST}: {exc}") from None
    ours = [name for name, _ in migrations.MIGRATIONS]
    if manifest.get("format") != TABLES_FORMAT or manifest.get("migrations") != ours:
        raise DatasetUnusable(f"{dataset}: its tables were written by crossover {manifest.get('crossover', '?')}, "
                              f"not in this version's shape; {again} to write them again")
    files = {t: _join(base, f"{t}.parquet") for t in storage.REPORT_TABLES}
    con = None
    try:
        con = storage.open_dataset(files, _fs(dataset) if remote else None)
        for table, expected in manifest.get("rows", {}).items():
            found = storage.row_count(con, table) if table in files else None
            if found != expected:
                raise DatasetUnusable(f"{dataset}: {TABLES_DIR}/{table}.parquet holds {found} rows, its manifest "
                                      f"says {expected}; {again}")
        if set(manifest.get("rows", {})) != set(files):
            raise DatasetUnusable(f"{dataset}: its manifest does not list the report's tables; {again}")
    except BaseException as exc:
        if con is not None:
            con.close()
        if isinstance(exc, storage.Error):  # a file missing or not Parquet
            raise DatasetUnusable(f"{dataset}: incomplete report tables: {str(exc).splitlines()[0]}; {again}") from None
        raise
    return con


def _read_json(path: str) -> dict[str, Any]:
    found = json.loads(_read_bytes(path))
    if not isinstance(found, dict):
        raise ValueError("not a JSON object")
    return found
