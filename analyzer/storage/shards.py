"""A map shard's Parquet files appended to the database (the reduce side of :mod:`analyzer.sharding`), and the
report's tables written to a Parquet dataset and read back from it through DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb

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


#: The tables a report reads (``request_costs`` and ``model_calibration`` are views over them): what
#: the reduce leaves in a dataset for ``crossover report --dataset``. Not the write side's (files,
#: rejects, batch lines, segment texts): a report needs none of them, and they hold the most text.
REPORT_TABLES = ("requests", "templates", "template_versions", "prices", "meta", "comparisons")


def copy_table(con: Connection, table: str, target: str) -> int:
    """Write one table as one Parquet file (DuckDB streams it; a remote target through the registered
    filesystem); return its rows."""
    if table not in TABLES:
        raise ValueError(table)
    quoted = target.replace("'", "''")
    con.execute(f"COPY (SELECT * FROM {table}) TO '{quoted}' (FORMAT parquet)")
    return row_count(con, table)


def row_count(con: Connection, table: str) -> int:
    """How many rows ``table`` (one of crossover's own names, never a user's) holds."""
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def migration_names(con: Connection) -> list[str]:
    """The migrations the database has had, in order: what a dataset's tables were shaped by."""
    return [row[0] for row in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]


def open_dataset(files: dict[str, str], filesystem: object | None = None) -> Connection:
    """An in-memory database whose report tables are views over the dataset's Parquet files.

    Read-only by construction: the tables are views (DuckDB refuses to write one) in a database that
    is never saved. Then the connection is shut as a saved query's is (:data:`~.connection.SANDBOX`):
    it may read those files and no other path, local or remote, write nothing, install or load no
    extension, and its configuration is locked. A remote dataset is read through ``filesystem``
    (fsspec), registered before the lock, so that DuckDB downloads no extension for it.
    """
    from . import migrations
    from .connection import SANDBOX, _open

    con = _open(Path(":memory:"), False)
    try:
        if filesystem is not None:
            use_filesystem(con, filesystem)
        for table, path in files.items():
            quoted = path.replace("'", "''")
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{quoted}')")
        # The views over the tables, as this crossover's own migrations define them: built in a
        # scratch database (never from SQL the dataset holds), then made here over the Parquet views.
        scratch = _open(Path(":memory:"), False)
        try:
            migrations.apply(scratch)
            views = scratch.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal "
                                    "AND database_name = current_database() ORDER BY view_name").fetchall()
        finally:
            scratch.close()
        while views:  # in an order where each view's views exist before it
            waiting = []
            for name, sql in views:
                try:
                    con.execute(sql)
                except duckdb.CatalogException:
                    waiting.append((name, sql))
            if len(waiting) == len(views):
                raise RuntimeError(f"views that cannot be made: {[n for n, _ in waiting]}")
            views = waiting
        con.execute("SET allowed_paths = [" + ", ".join("'" + p.replace("'", "''") + "'" for p in files.values())
                    + "]")
        for key, value in SANDBOX.items():  # lock_configuration last: the dict keeps that order
            con.execute(f"SET {key} = {str(value).lower()}")
    except BaseException:
        con.close()
        raise
    return con
