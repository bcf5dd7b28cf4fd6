"""Open the database: where it is, read-only or writable, migrated on the way, with a memory limit."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ..errors import DatabaseMissing, DatabaseUnusable
from . import migrations

DEFAULT_DB = "crossover.duckdb"

#: What callers hold and pass back; the modules outside this package never name DuckDB.
Connection = duckdb.DuckDBPyConnection
#: What DuckDB raises for SQL it cannot run (a saved query's own mistakes, a write on a read-only connection).
Error = duckdb.Error


def db_path(given: str | os.PathLike | None = None) -> Path:
    """The database path: ``--db``, else ``$CROSSOVER_DB``, else ``./crossover.duckdb``."""
    return Path(given or os.environ.get("CROSSOVER_DB") or DEFAULT_DB)


def connect(path: str | os.PathLike | None = None, read_only: bool = False) -> Connection:
    """Open the database; a writable one is created if needed and migrated.

    Raises:
        DatabaseMissing: ``read_only`` and there is no database at that path.
        DatabaseUnusable: the file is not a DuckDB database, or another process has it open for writing.
    """
    resolved = db_path(path)
    if read_only and not resolved.exists():
        raise DatabaseMissing(f"{resolved}: no database yet; run `crossover ingest PATH` first")
    con = _open(resolved, read_only)
    if not read_only:
        migrations.apply(con)
    elif migrations.pending(con):
        # Written by an older crossover: bring it up to date once, then read it as asked.
        con.close()
        writable = _open(resolved, False)
        migrations.apply(writable)
        writable.close()
        con = _open(resolved, True)
    return con


#: DuckDB's buffer pool, set deliberately: its default is 80% of the machine's memory, which it fills
#: with cached pages as the database grows; ingest appends and the report's scans need far less.
MEMORY_LIMIT = "256MB"


def _open(path: Path, read_only: bool) -> Connection:
    try:
        return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": MEMORY_LIMIT})
    except duckdb.Error as exc:  # not a DuckDB file, or another process holds the write lock
        raise DatabaseUnusable(f"{path}: cannot open the database: {str(exc).splitlines()[0]}") from None
