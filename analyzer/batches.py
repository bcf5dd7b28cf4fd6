"""Join the two halves of batch requests, staged in ``batch_parts``, into the requests they stand for.

A batch request is a request line in an input file and a result line in an output file, and
``custom_id`` is unique only within one batch (``request-1`` recurs in every batch someone
numbers). So result files are first matched to request files: each result file takes the request
file sharing most of its ``custom_id``\\ s, one in the same directory first. A tie is not guessed at:
those lines wait, with a warning. Within a matched pair of files the lines join on ``custom_id``.
Lines whose other half has not been read wait in ``batch_parts`` and join on a later run.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from .parsers import anthropic_batch, openai_batch

PAGE = 2000  # pairs read at a time, which bounds memory on any batch size
_COMBINE = {"openai": openai_batch.combine, "anthropic": anthropic_batch.combine}


@dataclass(frozen=True)
class Pair:
    """A request line and its result line, and whether each had been joined before."""

    provider: str
    request_file: str
    request_line: int
    request: dict[str, Any]
    request_joined: bool
    result_file: str
    result_line: int
    result: dict[str, Any]
    result_joined: bool
    result_file_time: datetime | None


def combine(pair: Pair) -> tuple[str, dict[str, Any], bool]:
    """The record a pair stands for, the name of the format that reads it, and whether the result file dates it.

    A result without a time of its own (Anthropic's never have one; OpenAI's refusals neither) is
    dated by its file's modification time, the closest thing to when the batch ended.

    Raises:
        BadRecord: the request never ran (canceled or expired).
    """
    format_name, record = _COMBINE[pair.provider](pair.request, pair.result)
    response = record.get("response")
    timed = isinstance(response, dict) and any(response.get(key) for key in ("created", "created_at"))
    if not timed and pair.result_file_time is not None:
        record["timestamp"] = pair.result_file_time.isoformat() + "Z"
    return format_name, record, not timed


def pages(con: duckdb.DuckDBPyConnection, warnings: list[str]) -> Iterator[list[Pair]]:
    """The pairs with a half not yet joined, a page at a time; each page is from one pair of files."""
    for provider, result_file, request_file in _matched_files(con, warnings):
        after = 0
        while True:
            rows = con.execute(
                """
                SELECT q.line, q.data, q.joined, r.line, r.data, r.joined, r.file_time
                FROM batch_parts q JOIN batch_parts r ON q.provider = r.provider AND q.custom_id = r.custom_id
                WHERE q.provider = ? AND q.half = 'request' AND r.half = 'result' AND q.file = ? AND r.file = ?
                  AND NOT (q.joined AND r.joined) AND q.line > ?
                QUALIFY row_number() OVER (PARTITION BY q.line ORDER BY r.line) = 1
                ORDER BY q.line
                LIMIT ?
                """,
                [provider, request_file, result_file, after, PAGE],
            ).fetchall()
            if not rows:
                break
            yield [Pair(provider, request_file, q_line, json.loads(q_data), q_joined, result_file, r_line,
                        json.loads(r_data), r_joined, r_time)
                   for q_line, q_data, q_joined, r_line, r_data, r_joined, r_time in rows]
            after = rows[-1][0]


def mark_joined(con: duckdb.DuckDBPyConnection, provider: str, half: str, file: str, lines: list[int]) -> None:
    """Record that these lines' requests have been built."""
    if lines:
        con.execute("UPDATE batch_parts SET joined = true WHERE provider = ? AND half = ? AND file = ? "
                    "AND list_contains(?, line)", [provider, half, file, lines])


def waiting(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Lines still waiting for their other half, by half (request, result)."""
    return dict(con.execute("SELECT half, count(*) FROM batch_parts WHERE NOT joined GROUP BY half").fetchall())


def _matched_files(con: duckdb.DuckDBPyConnection, warnings: list[str]) -> list[tuple[str, str, str]]:
    """(provider, result file, request file) for every result file whose request file can be told."""
    shared = con.execute(
        """
        WITH q AS (SELECT DISTINCT provider, file, custom_id FROM batch_parts WHERE half = 'request'),
             r AS (SELECT DISTINCT provider, file, custom_id FROM batch_parts WHERE half = 'result')
        SELECT r.provider, r.file, q.file, count(*) FROM r JOIN q USING (provider, custom_id)
        GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    candidates: dict[tuple[str, str], list[tuple[bool, int, str]]] = defaultdict(list)
    for provider, result_file, request_file, count in shared:
        same_dir = Path(result_file).parent == Path(request_file).parent
        candidates[(provider, result_file)].append((same_dir, count, request_file))
    matched = []
    for (provider, result_file), found in candidates.items():
        found.sort(reverse=True)
        if len(found) > 1 and found[0][:2] == found[1][:2]:
            tied = ", ".join(f for same, count, f in found if (same, count) == found[0][:2])
            warnings.append(f"{result_file}: its custom_ids match as many lines in {tied}; cannot tell which batch "
                            "it answers, so its lines wait (keep each batch's input and output in a directory of "
                            "their own)")
            continue
        matched.append((provider, result_file, found[0][2]))
    return matched
