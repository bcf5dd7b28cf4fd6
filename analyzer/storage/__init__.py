"""The DuckDB database's one home: connection, migrations, Arrow transfer, and what is derived after ingest.

Frames go to DuckDB through the Arrow C stream interface, so no pyarrow is needed. Every file is
written in one transaction (see :mod:`analyzer.ingesting`), and request ids are primary keys:
re-reading a request already stored inserts nothing. Only this package imports DuckDB or holds
SQL (saved queries aside, in ``queries/``); the rest of crossover calls what it re-exports here.
"""

from __future__ import annotations

import duckdb

from .arrow import ArrowStream, append, frame
from .batch_parts import mark_joined, shared_custom_ids, unjoined_pairs
from .batch_parts import waiting as batch_lines_waiting
from .bookkeeping import (FileRow, add_to_file, file_row, forget_file, get_meta, record_file, set_file_mtime, set_meta,
                          transaction)
from .connection import DEFAULT_DB, MEMORY_LIMIT, Connection, Error, connect, db_path
from .reads import (calibration, models, prices_used, request_costs, template_labels, template_rows,
                    templates_info)
from .rows import BATCH_TABLES, Rows
from .rows import write as write_rows
from .tables import TABLES, VIEWS

__all__ = ["BATCH_TABLES", "DEFAULT_DB", "MEMORY_LIMIT", "TABLES", "VIEWS", "ArrowStream", "Connection", "Error",
           "FileRow", "Rows", "add_to_file", "append", "batch_lines_waiting", "calibration", "classify_middle_turns", "connect", "db_path", "file_row",
           "forget_file", "frame", "get_meta", "mark_joined", "models", "prices_used", "record_file", "request_costs",
           "set_file_mtime", "set_meta", "shared_custom_ids", "template_labels", "template_rows", "templates_info",
           "transaction", "unjoined_pairs", "write_rows"]

#: A turn before the live one is a few-shot example when it sits at the same position, with the same
#: text, in at least this share of its template's requests (formats.md §12 suggests 80%)…
FEWSHOT_SHARE = 0.8
#: …and the template has at least this many requests: with fewer, repetition proves nothing.
FEWSHOT_MIN_REQUESTS = 5
#: Earlier turns can be told to be examples picked per request (never anyone's output) only where
#: outputs are logged: for at least this share of the version's requests.
DYNAMIC_MIN_LOGGED = 0.5


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
