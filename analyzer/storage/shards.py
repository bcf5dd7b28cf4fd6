"""A map shard's Parquet files appended to the database: the reduce side of :mod:`analyzer.sharding`."""

from __future__ import annotations

from .connection import Connection
from .rows import BATCH_TABLES
from .tables import TABLES


def load_shard(con: Connection, parts: dict[str, list[str]], shift: int = 0) -> int:
    """Append a shard's Parquet files, table by table, in the order :func:`analyzer.storage.write_rows`
    writes a batch, with lines moved on by ``shift``; return how many of its requests were stored.

    Keyed tables skip rows already stored, as a batch written in this process does: loading the
    shards in file order stores what reading the files one by one would.
    """
    stored = 0
    for table in BATCH_TABLES:
        files = parts.get(table)
        if not files:
            continue
        declared = TABLES[table]
        moved = f" REPLACE (line + {int(shift)} AS line)" if shift and any(
            c.name == "line" for c in declared.columns) else ""
        conflict = " ON CONFLICT DO NOTHING" if declared.key else ""
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        inserted = con.execute(f"INSERT INTO {table} BY NAME SELECT *{moved} FROM read_parquet([{listed}])"
                               f"{conflict}").fetchone()[0]
        if table == "requests":
            stored = inserted
    return stored


def use_filesystem(con: Connection, filesystem: object) -> None:
    """Let DuckDB read object storage through an fsspec filesystem, so that no extension is downloaded."""
    con.register_filesystem(filesystem)
