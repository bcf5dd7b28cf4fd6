"""The reads and writes of ``crossover compare``: one ``comparisons`` row per template, its calls beside it."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from . import arrow
from .bookkeeping import transaction
from .connection import Connection
from .tables import TABLES


def save_comparison(con: Connection, row: dict[str, Any], calls: list[dict[str, Any]]) -> None:
    """Replace the template's comparison and its calls with these, in one transaction."""
    schema = {c.name: c.dtype for c in TABLES["comparison_calls"].columns}
    with transaction(con):
        con.execute("DELETE FROM comparison_calls WHERE template_id = ?", [row["template_id"]])
        con.execute("DELETE FROM comparisons WHERE template_id = ?", [row["template_id"]])
        columns = [c.name for c in TABLES["comparisons"].columns]
        con.execute(f"INSERT INTO comparisons ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                    [row[c] for c in columns])
        arrow.append(con, "comparison_calls", pl.DataFrame(calls, schema=schema, orient="row"), keyed=False)


def comparisons(con: Connection) -> dict[str, dict[str, Any]]:
    """Each compared template's latest comparison, its JSON columns read back."""
    cursor = con.execute("SELECT * FROM comparisons")
    names = [d[0] for d in cursor.description]
    out = {}
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        row["logs"] = json.loads(row["logs"])
        row["by_kind"] = json.loads(row["by_kind"])
        row["models"] = row["models"].split(",") if row["models"] else []
        row["price_sources"] = json.loads(row["price_sources"])
        row["compared_at"] = row["compared_at"].isoformat(timespec="seconds") + "Z"
        out[row["template_id"]] = row
    return out
