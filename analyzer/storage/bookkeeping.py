"""What the database records about ingest itself: each file's ``files`` row, ``meta``, and transactions.

A file is written in one transaction with its ``files`` row, which says how far it was read and
what became of its records (records = stored + duplicates + rejected + pending + ignored); the counters
change again when batch halves are joined. :mod:`analyzer.ingesting` decides what to write.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NamedTuple

from .connection import Connection


class FileRow(NamedTuple):
    """What the ``files`` row of a file read before says: its fingerprint, position and counters."""

    size: int
    content_hash: str
    lines_read: int | None
    bytes_read: int | None
    records: int
    stored: int
    duplicates: int
    rejected: int
    pending: int
    mtime_ns: int | None
    etag: str | None = None
    ignored: int = 0


@contextlib.contextmanager
def transaction(con: Connection) -> Iterator[None]:
    """Commit what the block writes when it ends; roll all of it back if anything (an interrupt too) escapes."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def file_row(con: Connection, path: str) -> FileRow | None:
    """The ``files`` row of a file, or None if it was never read."""
    row = con.execute(
        "SELECT size, content_hash, lines_read, bytes_read, records, stored, duplicates, rejected, "
        "coalesce(pending, 0), mtime_ns, etag, coalesce(ignored, 0) FROM files WHERE path = ?", [path]).fetchone()
    return FileRow(*row) if row else None


def set_file_mtime(con: Connection, path: str, mtime_ns: int | None) -> None:
    """Remember the modification time of a file found unchanged (None: hash it next time)."""
    con.execute("UPDATE files SET mtime_ns = ? WHERE path = ?", [mtime_ns, path])


def set_file_etag(con: Connection, path: str, etag: str | None) -> None:
    """Remember the version of an object found unchanged in content under a new version (re-uploaded as it was)."""
    con.execute("UPDATE files SET etag = ? WHERE path = ?", [etag, path])


def forget_file(con: Connection, path: str) -> None:
    """Drop what an earlier version of this file stored, so that it is read again whole."""
    con.execute("DELETE FROM requests WHERE file = ?", [path])
    con.execute("DELETE FROM rejects WHERE file = ?", [path])
    con.execute("DELETE FROM batch_parts WHERE file = ?", [path])
    con.execute("DELETE FROM files WHERE path = ?", [path])


def forget_lines_after(con: Connection, path: str, line: int) -> None:
    """Drop what this file stored from lines after ``line`` (an unfinished read of its tail)."""
    for table in ("requests", "rejects", "batch_parts"):
        con.execute(f"DELETE FROM {table} WHERE file = ? AND line > ?", [path, line])


def record_file(con: Connection, path: str, size: int, content_hash: str, formats: str, counters: list[int],
                lines_read: int, bytes_read: int | None, mtime_ns: int | None, etag: str | None = None) -> None:
    """Write a file's ``files`` row, replacing any; ``counters`` are records, stored, duplicates, rejected, pending,
    ignored."""
    con.execute("DELETE FROM files WHERE path = ?", [path])
    con.execute(
        "INSERT INTO files BY NAME SELECT ? AS path, ? AS size, ? AS content_hash, ? AS formats, "
        "? AS records, ? AS stored, ? AS duplicates, ? AS rejected, ? AS pending, ? AS ignored, "
        "now()::TIMESTAMP AS ingested_at, ? AS lines_read, ? AS bytes_read, ? AS mtime_ns, "
        "? AS etag", [path, size, content_hash, formats, *counters, lines_read, bytes_read, mtime_ns, etag],
    )


def add_to_file(con: Connection, path: str, deltas: dict[str, int]) -> None:
    """Add to the counters (records, stored, duplicates, rejected, pending) of a file's ``files`` row."""
    con.execute("UPDATE files SET " + ", ".join(f"{name} = {name} + ?" for name in deltas) + " WHERE path = ?",
                [*deltas.values(), path])


def get_meta(con: Connection, key: str) -> str | None:
    """One value of ``meta``, or None."""
    rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()  # all: no open result left
    return rows[0][0] if rows else None


def delete_meta(con: Connection, key: str) -> None:
    """Remove one key from ``meta``."""
    con.execute("DELETE FROM meta WHERE key = ?", [key])


def set_meta(con: Connection, values: dict[str, str]) -> None:
    """Record tool, tokenizer and price-data versions (and whether the final pass ran)."""
    for key, value in values.items():
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])
