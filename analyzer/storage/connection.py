"""Open the database: where it is, read-only or writable, migrated on the way, with a memory limit."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ..errors import DatabaseMissing, DatabaseUnusable
from . import migrations

DEFAULT_DB = "crossover.duckdb"

#: What callers hold and pass back; the modules outside this package never name DuckDB.
Connection = duckdb.DuckDBPyConnection
#: What DuckDB raises for SQL it cannot run (a saved query's own mistakes, a write on a read-only connection).
Error = duckdb.Error
#: What DuckDB raises when a step needs more than its buffer pool (``MEMORY_LIMIT``) and cannot spill.
OutOfMemory = duckdb.OutOfMemoryException


def db_path(given: str | os.PathLike | None = None) -> Path:
    """The database path: ``--db``, else ``$CROSSOVER_DB``, else ``./crossover.duckdb``."""
    return Path(given or os.environ.get("CROSSOVER_DB") or DEFAULT_DB)


def connect(path: str | os.PathLike | None = None, read_only: bool = False, sandboxed: bool = False) -> Connection:
    """Open the database; a writable one is created if needed and migrated.

    ``sandboxed`` (with ``read_only``: the connection that runs saved queries and query files, SQL
    crossover did not write) reaches nothing but the database: no file read or written, no
    extension installed or loaded, and the configuration locked so the SQL cannot undo that.

    A read-only connection never writes: a database from an older crossover is upgraded by the
    next ``ingest``, not by a read. Either kind opens only crossover's own databases (the ``meta``
    marker, or before it was written, ``_migrations`` holding only crossover's migrations).

    Raises:
        DatabaseMissing: ``read_only`` and there is no database at that path, or no crossover data in it.
        DatabaseUnusable: the file is not a DuckDB database, is another program's, is locked by another
            process past :data:`LOCK_TIMEOUT`, or (read-only) needs an upgrade that only ingest makes.
    """
    resolved = db_path(path)
    if read_only and not resolved.exists():
        raise DatabaseMissing(f"{resolved}: no database yet; run `crossover ingest PATH` first")
    con = _open(resolved, read_only, SANDBOX if sandboxed else None)
    try:
        kind = _kind(con)
        if kind == "foreign":
            raise DatabaseUnusable(f"{resolved}: not a crossover database (it has tables of its own); "
                                   "give another --db")
        if read_only:
            if kind == "empty":
                raise DatabaseMissing(f"{resolved}: no crossover data yet; run `crossover ingest PATH` first")
            if migrations.pending(con):
                raise DatabaseUnusable(f"{resolved}: written by an older crossover; "
                                       "run `crossover ingest PATH` to upgrade it (reading never writes)")
        else:
            migrations.apply(con)
            if not con.execute("SELECT value FROM meta WHERE key = ?", [MARKER_KEY]).fetchall():
                con.execute("INSERT INTO meta VALUES (?, ?)", [MARKER_KEY, MARKER])
    except BaseException:
        con.close()
        raise
    return con


#: The ``meta`` row that marks a database as crossover's, written when it is created or first migrated.
MARKER_KEY, MARKER = "application", "crossover"


def _kind(con: Connection) -> str:
    """``crossover``, ``empty`` (no tables: a new file) or ``foreign`` (another program's tables)."""
    tables = {row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    if not tables:
        return "empty"
    try:
        if "meta" in tables and con.execute("SELECT 1 FROM meta WHERE key = ? AND value = ?",
                                            [MARKER_KEY, MARKER]).fetchall():
            return "crossover"
        if "_migrations" in tables:  # written before the marker was: known by its migrations alone
            done = {row[0] for row in con.execute("SELECT name FROM _migrations").fetchall()}
            if done and done <= {name for name, _ in migrations.MIGRATIONS}:
                return "crossover"
    except duckdb.Error:  # a table of that name with other columns: not ours
        pass
    return "foreign"


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Create files (the database, its write-ahead log) readable by their owner only while the block runs.

    The database holds prompts and user ids: 0600, not the 0644 of the usual umask. The umask is
    the process's, so it is set for the writing command's duration and restored after.
    """
    previous = os.umask(0o077)
    os.umask(previous | 0o077)
    try:
        yield
    finally:
        os.umask(previous)


#: DuckDB's buffer pool, set deliberately: its default is 80% of the machine's memory, which it fills
#: with cached pages as the database grows; ingest appends and the report's scans need far less.
#: At 1M requests 128 MB took the ingest's writer from 429 to 302 MB at its peak (256 MB before) and
#: the final pass still fits; CROSSOVER_MEMORY_LIMIT sets another (any DuckDB size, e.g. "1GB").
_POOL_MB = 128  # DuckDB's MB: 10^6 bytes
MEMORY_LIMIT = os.environ.get("CROSSOVER_MEMORY_LIMIT", f"{_POOL_MB}MB")
#: What DuckDB's primary-key (ART) indexes hold in the pool per keyed row while rows are inserted:
#: 50 MB at 1M requests, measured. They are not spilled to disk, so a fixed pool runs out as the
#: database grows (at 128 MB, an ingest failed near 1.9M requests): the writer's pool grows with them.
INDEX_BYTES_PER_ROW = 64
#: Every connection: no extension is ever downloaded or loaded behind the user's back (a SQLite
#: file given as --db would otherwise make DuckDB fetch its sqlite extension).
BASE_CONFIG = {"memory_limit": MEMORY_LIMIT, "autoinstall_known_extensions": False,
               "autoload_known_extensions": False}
#: What a connection running SQL crossover did not write adds: ``COPY … TO``, ``EXPORT DATABASE``,
#: ``read_text``/``glob``/``read_csv`` of any path, ``ATTACH``, ``INSTALL`` and ``LOAD`` are refused,
#: and ``SET`` cannot turn any of it back on.
SANDBOX = {"enable_external_access": False, "allow_community_extensions": False, "lock_configuration": True}
#: How long to wait for another process's lock on the database (a running ingest) before giving up.
LOCK_TIMEOUT = float(os.environ.get("CROSSOVER_LOCK_TIMEOUT", "60"))
LOCK_POLL = 0.25


def _open(path: Path, read_only: bool, config: dict | None = None) -> Connection:
    deadline, told = time.monotonic() + LOCK_TIMEOUT, False
    while True:
        try:
            if str(path) == ":memory:":
                return duckdb.connect(":memory:", config={**BASE_CONFIG, **(config or {})})
            return duckdb.connect(str(path), read_only=read_only, config={**BASE_CONFIG, **(config or {})})
        except duckdb.Error as exc:  # not a DuckDB file, or another process holds the write lock
            first = str(exc).splitlines()[0]
            if "Could not set lock" not in first:
                raise DatabaseUnusable(f"{path}: cannot open the database: {first}") from None
            holder = re.search(r"\(PID (\d+)\)", first)
            who = f"process {holder.group(1)}" if holder else "another process"
            if time.monotonic() >= deadline:
                raise DatabaseUnusable(f"{path}: still locked by {who} after {LOCK_TIMEOUT:g}s (an ingest "
                                       "still writing?); try again when it ends") from None
            if not told:  # said once, on stderr: a command that waits silently looks hung
                print(f"crossover: {path} is locked by {who} (an ingest writing?): waiting up to "
                      f"{LOCK_TIMEOUT:g}s for it", file=sys.stderr)
                told = True
            time.sleep(LOCK_POLL)


def fit_pool(con: Connection) -> None:
    """Size the writer's pool for the rows its indexes hold now: ``MEMORY_LIMIT``, or 64 MB plus
    ``INDEX_BYTES_PER_ROW`` per keyed row where that is more. A limit the user set stands as it is."""
    if "CROSSOVER_MEMORY_LIMIT" in os.environ:
        return
    from .tables import TABLES

    keyed = [name for name, table in TABLES.items() if table.key]
    # DuckDB's own row estimate: a few ms, where counting each table took 55 ms at 1M requests, per file.
    rows = con.execute("SELECT coalesce(sum(estimated_size), 0) FROM duckdb_tables() WHERE table_name IN "
                       f"({', '.join('?' for _ in keyed)})", keyed).fetchone()[0]
    con.execute(f"SET memory_limit = '{max(_POOL_MB * 10**6, 64 * 10**6 + INDEX_BYTES_PER_ROW * rows) // 1000}KB'")
