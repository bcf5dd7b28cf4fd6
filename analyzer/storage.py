"""The DuckDB database: connections, batch appends from polars, and what is derived after ingest.

Frames go to DuckDB through the Arrow C stream interface, so no pyarrow is needed. Every file is
written in one transaction (see :mod:`analyzer.ingesting`), and request ids are primary keys:
re-reading a request already stored inserts nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from . import migrations
from .errors import DatabaseMissing, DatabaseUnusable

DEFAULT_DB = "crossover.duckdb"

#: A turn before the live one is a few-shot example when it sits at the same position, with the same
#: text, in at least this share of its template's requests (formats.md §12 suggests 80%)…
FEWSHOT_SHARE = 0.8
#: …and the template has at least this many requests: with fewer, repetition proves nothing.
FEWSHOT_MIN_REQUESTS = 5
#: Earlier turns can be told to be examples picked per request (never anyone's output) only where
#: outputs are logged: for at least this share of the version's requests.
DYNAMIC_MIN_LOGGED = 0.5


def db_path(given: str | os.PathLike | None = None) -> Path:
    """The database path: ``--db``, else ``$CROSSOVER_DB``, else ``./crossover.duckdb``."""
    return Path(given or os.environ.get("CROSSOVER_DB") or DEFAULT_DB)


def connect(path: str | os.PathLike | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
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


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only, config={"memory_limit": MEMORY_LIMIT})
    except duckdb.Error as exc:  # not a DuckDB file, or another process holds the write lock
        raise DatabaseUnusable(f"{path}: cannot open the database: {str(exc).splitlines()[0]}") from None


class ArrowStream:
    """Hands a polars frame to DuckDB through ``__arrow_c_stream__`` (DuckDB would call pyarrow)."""

    def __init__(self, frame: pl.DataFrame):
        self._frame = frame

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._frame.__arrow_c_stream__(requested_schema)


def append(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, keyed: bool = True) -> int:
    """Insert a frame's rows by column name; return how many were inserted.

    With ``keyed``, rows whose primary key is already stored are skipped (the table must have one).
    """
    if frame.is_empty():
        return 0
    # An all-null column has polars' Null type, which crosses the Arrow stream without a validity
    # bitmap that DuckDB accepts; the table's own type applies on insert, so any nullable type does.
    frame = frame.with_columns(pl.col(name).cast(pl.Utf8) for name, dtype in frame.schema.items() if dtype == pl.Null)
    con.register("_batch", ArrowStream(frame))
    try:
        conflict = " ON CONFLICT DO NOTHING" if keyed else ""
        return con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _batch{conflict}").fetchone()[0]
    finally:
        con.unregister("_batch")


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run a query and return its result as a polars frame (empty for a statement without rows)."""
    relation = con.sql(sql, params=params or None)
    return pl.DataFrame(relation) if relation is not None else pl.DataFrame()


def classify_middle_turns(con: duckdb.DuckDBPyConnection) -> None:
    """Decide which turns before the live one are few-shot examples and which are history.

    * Static few-shot: the same text sits at the same position in at least ``FEWSHOT_SHARE`` of the
      requests sent with its template version (versions of ``FEWSHOT_MIN_REQUESTS`` requests or
      more), and every turn before it is few-shot too (examples form a prefix).
    * Dynamic few-shot (examples picked per request): every earlier turn of a request none of whose
      exchanges (an assistant turn and the turns just before it) was ever a request's own live turn
      and output, in a version whose outputs are
      logged (``DYNAMIC_MIN_LOGGED`` of its requests, ``FEWSHOT_MIN_REQUESTS`` or more), and which
      does not follow an earlier request of its session.
    * History: the rest. A conversation grows turn by turn and sends back its earlier exchanges,
      or continues a session already seen.

    Segment totals on ``requests`` are then rewritten from the flags, so the result does not
    depend on the order in which files were read.
    """
    # A run of middle turns (middle_turns) is shared by every request that sent it: the rules are
    # applied per (version, run), weighted by how many requests sent it, then per request.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _runs AS
        SELECT version_id, middle_id, count(*) AS n FROM requests WHERE middle_id IS NOT NULL GROUP BY ALL""")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _static AS
        WITH sizes AS (SELECT version_id, count(*) AS n FROM requests GROUP BY ALL)
        SELECT u.version_id, t.position, t.hash
        FROM _runs u JOIN middle_turns t USING (middle_id) JOIN sizes s USING (version_id)
        WHERE s.n >= $min_requests
        GROUP BY ALL
        HAVING sum(u.n) >= $share * any_value(s.n)
        """,
        {"min_requests": FEWSHOT_MIN_REQUESTS, "share": FEWSHOT_SHARE},
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _prefix AS  -- per (version, run): its few-shot prefix
        SELECT version_id, middle_id, count(*) AS turns, count(*) FILTER (WHERE flag) AS fewshot_turns,
               coalesce(sum(tokens) FILTER (WHERE flag), 0)::INTEGER AS fewshot
        FROM (SELECT u.version_id, u.middle_id, t.tokens,
                     bool_and(s.hash IS NOT NULL) OVER (
                         PARTITION BY u.version_id, u.middle_id ORDER BY t.position ROWS UNBOUNDED PRECEDING) AS flag
              FROM _runs u JOIN middle_turns t USING (middle_id)
              LEFT JOIN _static s ON s.version_id = u.version_id AND s.position = t.position AND s.hash = t.hash)
        GROUP BY ALL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _dynamic AS
        WITH logged AS (SELECT version_id, avg((exchange_hash IS NOT NULL)::INTEGER) AS share, count(*) AS n
                        FROM requests GROUP BY ALL),
             exchanges AS (SELECT DISTINCT exchange_hash FROM requests WHERE exchange_hash IS NOT NULL),
             replayed AS (SELECT DISTINCT t.middle_id FROM middle_turns t JOIN exchanges USING (exchange_hash)),
             continued AS (SELECT DISTINCT r.request_id FROM requests r JOIN requests e
                           ON e.session_id = r.session_id AND e.ts < r.ts)
        SELECT r.request_id
        FROM requests r JOIN logged l USING (version_id)
        WHERE r.middle_id IS NOT NULL AND l.share >= $min_logged AND l.n >= $min_requests
          AND r.middle_id NOT IN (SELECT middle_id FROM replayed)
          AND r.request_id NOT IN (SELECT request_id FROM continued)
        """,
        {"min_logged": DYNAMIC_MIN_LOGGED, "min_requests": FEWSHOT_MIN_REQUESTS},
    )
    con.execute(
        """
        UPDATE requests AS r
        SET fewshot_tokens = r.fewshot_named_tokens + f.fewshot,
            history_tokens = r.middle_tokens - f.fewshot,
            fewshot_turns = f.turns
        FROM (SELECT r.request_id,
                     CASE WHEN d.request_id IS NULL THEN p.fewshot ELSE r.middle_tokens END AS fewshot,
                     CASE WHEN d.request_id IS NULL THEN p.fewshot_turns ELSE p.turns END AS turns
              FROM requests r JOIN _prefix p USING (version_id, middle_id)
              LEFT JOIN _dynamic d USING (request_id)) f
        WHERE r.request_id = f.request_id
          AND (r.fewshot_tokens, r.history_tokens, r.fewshot_turns)
              IS DISTINCT FROM (r.fewshot_named_tokens + f.fewshot, r.middle_tokens - f.fewshot, f.turns)
        """
    )
    # Runs no request sends any more (their file was read again, or replaced) are dropped.
    con.execute("DELETE FROM middle_turns WHERE middle_id NOT IN (SELECT middle_id FROM _runs)")


def set_meta(con: duckdb.DuckDBPyConnection, values: dict[str, str]) -> None:
    """Record tool, tokenizer and price-data versions."""
    for key, value in values.items():
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])
