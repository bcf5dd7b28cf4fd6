"""The rows ingest writes: one batch per table, typed from the table declarations, and appended.

Reading a file fills a :class:`Rows`. In the process that writes, :func:`write` appends its
frames inside the file's transaction. A worker process spools it instead (:meth:`Rows.spool`):
one JSON-lines file per table, which :func:`write_spool` has DuckDB read and append straight
from disk, so that neither the workers nor the writer build frames (the workers do not even
import polars: 45 MB each). Tables with a primary key skip rows already stored, so reading a
request again inserts nothing; rejects and batch lines are appended as read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from .tables import TABLES

if TYPE_CHECKING:
    import polars as pl

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
        import polars as pl

        return {name: pl.DataFrame(rows, schema=TABLES[name].schema(), orient="row")
                for name, rows in self.tables.items() if rows}

    def spool(self, stem: str) -> Spool:
        """Write the non-empty tables as JSON-lines files named from ``stem``, for :func:`write_spool`.

        A request logged twice in the batch is written once, as :func:`write` keeps the first; how
        many requests there were is kept, so that the writer can count duplicates.
        """
        spool = Spool({}, {}, len(self.tables["requests"]))
        for name, rows in self.tables.items():
            if name == "requests":
                rows = _first_of_each(rows)
            if rows:
                lines = list(map(_json_line, rows))
                spool.paths[name] = f"{stem}-{name}.jsonl"
                spool.longest[name] = max(map(len, lines))
                with open(spool.paths[name], "wb") as f:
                    f.write(b"\n".join(lines))
        return spool


class Spool:
    """A batch of rows spooled to JSON-lines files by a worker: the file of each table, its longest
    line (DuckDB's reader must be told), and how many requests were read."""

    def __init__(self, paths: dict[str, str], longest: dict[str, int], requests: int):
        self.paths = paths
        self.longest = longest
        self.requests = requests


def _first_of_each(rows: list[dict]) -> list[dict]:
    seen: set = set()
    first = []
    for row in rows:
        if row["request_id"] not in seen:
            seen.add(row["request_id"])
            first.append(row)
    return first


def _json_line(row: dict) -> bytes:
    # Naive datetimes are written as ISO text without a zone, which DuckDB reads as the TIMESTAMP
    # they are. orjson refuses what JSON cannot hold as text (a lone surrogate): json escapes it.
    try:
        return orjson.dumps(row)
    except TypeError:
        import json

        return json.dumps(row, default=str).encode()


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


def write_spool(con: Connection, spool: Spool, shift: int = 0) -> tuple[int, int]:
    """Append a spooled batch, table by table, with its lines moved on by ``shift`` (a piece of a
    file numbered from its own start); return how many of its requests were (stored, duplicates)."""
    stored = 0
    for table in BATCH_TABLES:
        path = spool.paths.get(table)
        if path is None:
            continue
        declared = TABLES[table]
        # A JSON column's rows hold its text: read as text, cast by the insert (read as JSON, it would
        # be stored as a JSON string holding that text).
        columns = ", ".join(f"'{c.name}': '{'VARCHAR' if c.type == 'JSON' else c.type}'" for c in declared.written())
        moved = f" REPLACE (line + {int(shift)} AS line)" if shift and any(
            c.name == "line" for c in declared.columns) else ""
        conflict = " ON CONFLICT DO NOTHING" if declared.key else ""
        # The path is one crossover made in its own spool folder; quoted all the same.
        # Its buffer is sized by the longest line; DuckDB's default (16 MB) is less than a staged batch line may be.
        size = max(spool.longest[table] + 1, 1 << 20)
        source = (f"read_json('{path.replace(chr(39), chr(39) * 2)}', format = 'newline_delimited', "
                  f"columns = {{{columns}}}, maximum_object_size = {size})")
        inserted = con.execute(f"INSERT INTO {table} BY NAME SELECT *{moved} FROM {source}{conflict}").fetchone()[0]
        if table == "requests":
            stored = inserted
    return stored, spool.requests - stored
