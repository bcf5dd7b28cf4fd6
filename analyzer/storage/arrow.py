"""Polars frames into and out of DuckDB, through the Arrow C stream interface (no pyarrow needed)."""

from __future__ import annotations

import contextlib
from typing import Any

import duckdb
import polars as pl


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
    conflict = " ON CONFLICT DO NOTHING" if keyed else ""
    try:
        inserted = con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _batch{conflict}").fetchone()[0]
    except BaseException:
        # A failed insert aborts the transaction, and unregistering in it would raise again and hide
        # why the insert failed (out of memory, say); the rollback that follows drops the view anyway.
        with contextlib.suppress(duckdb.Error):
            con.unregister("_batch")
        raise
    con.unregister("_batch")
    return inserted


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run a query and return its result as a polars frame (empty for a statement without rows)."""
    relation = con.sql(sql, params=params or None)
    return pl.DataFrame(relation) if relation is not None else pl.DataFrame()
