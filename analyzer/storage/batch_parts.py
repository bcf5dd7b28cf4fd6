"""The batch lines staged in ``batch_parts``: which files share custom_ids, pairs a page at a time, what waits.

:mod:`analyzer.batches` decides which files answer which and builds the requests; these are its
reads and writes.
"""

from __future__ import annotations

from typing import Any

from .connection import Connection


def shared_custom_ids(con: Connection) -> list[tuple[str, str, str, int]]:
    """(provider, result file, request file, custom_ids they share) for every such pair of files."""
    return con.execute(
        """
        WITH q AS (SELECT DISTINCT provider, file, custom_id FROM batch_parts WHERE half = 'request'),
             r AS (SELECT DISTINCT provider, file, custom_id FROM batch_parts WHERE half = 'result')
        SELECT r.provider, r.file, q.file, count(*) FROM r JOIN q USING (provider, custom_id)
        GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()


def unjoined_pairs(con: Connection, provider: str, request_file: str, result_file: str, after: int,
                   limit: int) -> list[tuple[Any, ...]]:
    """Up to ``limit`` request lines after line ``after`` of a request file, each with its first result line in
    a result file, where either half is not joined yet: (request line, data, joined, result line, data,
    joined, result file time), by request line."""
    return con.execute(
        """
        SELECT q.line, q.data, q.joined, r.line, r.data, r.joined, r.file_time
        FROM batch_parts q JOIN batch_parts r ON q.provider = r.provider AND q.custom_id = r.custom_id
        WHERE q.provider = ? AND q.half = 'request' AND r.half = 'result' AND q.file = ? AND r.file = ?
          AND NOT (q.joined AND r.joined) AND q.line > ?
        QUALIFY row_number() OVER (PARTITION BY q.line ORDER BY r.line) = 1
        ORDER BY q.line
        LIMIT ?
        """,
        [provider, request_file, result_file, after, limit],
    ).fetchall()


def mark_joined(con: Connection, provider: str, half: str, file: str, lines: list[int]) -> None:
    """Record that these lines' requests have been built."""
    if lines:
        con.execute("UPDATE batch_parts SET joined = true WHERE provider = ? AND half = ? AND file = ? "
                    "AND list_contains(?, line)", [provider, half, file, lines])


def waiting(con: Connection) -> dict[str, int]:
    """Lines still waiting for their other half, by half (request, result)."""
    return dict(con.execute("SELECT half, count(*) FROM batch_parts WHERE NOT joined GROUP BY half").fetchall())


def partners(con: Connection, template_id: str, file: str) -> dict[int, list[tuple[Any, ...]]]:
    """For each line of ``file`` that is a joined half of one of the template's batch requests, the other
    halves that share its provider and custom_id: (half, file, line, data, file time) of each.

    ``custom_id`` is unique only within a batch, so there can be several; the caller keeps the one
    that builds the stored request again.
    """
    found: dict[int, list[tuple[Any, ...]]] = {}
    for line, *other in con.execute(
        """
        SELECT q.line, p.half, p.file, p.line, p.data, p.file_time
        FROM requests r
        JOIN batch_parts q ON q.file = r.file AND q.line = r.line AND q.joined
        JOIN batch_parts p ON p.provider = q.provider AND p.custom_id = q.custom_id AND p.half <> q.half AND p.joined
        WHERE r.template_id = ? AND r.file = ? AND r.service_tier = 'batch'
        ORDER BY q.line, p.file, p.line
        """, [template_id, file]).fetchall():
        found.setdefault(line, []).append(tuple(other))
    return found
