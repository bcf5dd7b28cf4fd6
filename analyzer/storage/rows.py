"""The rows ingest writes: one batch per table, typed from the table declarations, and appended.

Reading a file fills a :class:`Rows` (in a worker process or not); :func:`write` appends its
frames inside the file's transaction. Tables with a primary key skip rows already stored, so
reading a request again inserts nothing; rejects and batch lines are appended as read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from .tables import TABLES

if TYPE_CHECKING:
    from .connection import Connection

#: The tables a file is read into, in the order their frames are written.
BATCH_TABLES = ("requests", "middle_turns", "segments", "template_versions", "rejects", "batch_parts")


class Rows:
    """One batch of rows for each table, as lists of dicts until :meth:`frames` is called."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict]] = {name: [] for name in BATCH_TABLES}
        self._versions: set[str] = set()  # the versions this batch has a row for (analyzer.extracting)

    def __len__(self) -> int:
        # Rejects and batch lines count too: a file of nothing but those must not pile them up unflushed.
        return len(self.tables["requests"]) + len(self.tables["rejects"]) + len(self.tables["batch_parts"])

    def frames(self) -> dict[str, pl.DataFrame]:
        """The non-empty tables as typed polars frames."""
        return {name: pl.DataFrame(rows, schema=TABLES[name].schema(), orient="row")
                for name, rows in self.tables.items() if rows}


def write(con: Connection, frames: dict[str, pl.DataFrame]) -> tuple[int, int]:
    """Append one batch's frames, table by table; return how many of its requests were (stored, duplicates)."""
    from . import arrow  # DuckDB: only where rows are written, not in the workers that build them
    stored = duplicates = 0
    for table in BATCH_TABLES:
        frame = frames.get(table)
        if frame is None:
            continue
        if table == "requests":
            # A request logged twice in one file counts once, like one logged in two files.
            unique = frame.unique(subset=list(TABLES[table].key), keep="first", maintain_order=True)
            stored = arrow.append(con, table, unique)
            duplicates = len(frame) - stored
        else:
            arrow.append(con, table, frame, keyed=bool(TABLES[table].key))
    return stored, duplicates
