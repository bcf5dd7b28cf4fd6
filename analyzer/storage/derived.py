"""The final pass's reads and writes: template versions linked, few-shot told from history, prices filled.

Their rules live in their own modules (:mod:`analyzer.templating`, :mod:`analyzer.examples`,
:mod:`analyzer.pricing`), which call these once all requests are in, inside the pass's transaction.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from .arrow import ArrowStream
from .connection import Connection

# Template versions ------------------------------------------------------------------------------


def refresh_versions(con: Connection) -> None:
    """Drop the versions no request was sent with any more; recount the rest's requests and when they were live."""
    con.execute("DELETE FROM template_versions WHERE version_id NOT IN (SELECT DISTINCT version_id FROM requests)")
    con.execute("""
        UPDATE template_versions AS v SET requests = s.n, first_seen = s.first_seen, last_seen = s.last_seen
        FROM (SELECT version_id, count(*) AS n, min(ts) AS first_seen, max(ts) AS last_seen
              FROM requests GROUP BY ALL) s
        WHERE v.version_id = s.version_id""")


def version_texts(con: Connection) -> list[tuple[str, str | None, str, str]]:
    """(version id, provider prompt id, system text, tools text) of every version, in the order first seen."""
    return con.execute("""
        WITH texts AS (SELECT hash, any_value(text) AS text FROM segments GROUP BY hash)
        SELECT v.version_id, v.prompt_id, coalesce(s.text, ''), coalesce(t.text, '')
        FROM template_versions v LEFT JOIN texts s ON s.hash = v.system_hash LEFT JOIN texts t ON t.hash = v.tools_hash
        ORDER BY v.first_seen, v.version_id""").fetchall()


def set_version_templates(con: Connection, links: dict[str, str]) -> None:
    """Set each version's template (``links``: version id → template id) and its number within it, 1, 2, …
    by when first seen; then each request's template."""
    con.register("_links", ArrowStream(pl.DataFrame({"version_id": list(links), "template_id": list(links.values())},
                                                    schema={"version_id": pl.Utf8, "template_id": pl.Utf8})))
    try:
        con.execute("""
            UPDATE template_versions AS v SET template_id = l.template_id, version = l.version
            FROM (SELECT l.version_id, l.template_id,
                         row_number() OVER (PARTITION BY l.template_id ORDER BY v.first_seen, v.version_id) AS version
                  FROM _links l JOIN template_versions v USING (version_id)) l
            WHERE v.version_id = l.version_id""")
    finally:
        con.unregister("_links")
    con.execute("""
        UPDATE requests AS r SET template_id = v.template_id FROM template_versions v
        WHERE r.version_id = v.version_id AND r.template_id IS DISTINCT FROM v.template_id""")


def rebuild_templates(con: Connection) -> None:
    """Derive ``templates`` from ``template_versions`` again."""
    con.execute("DELETE FROM templates")
    con.execute("""
        INSERT INTO templates BY NAME
        SELECT template_id,
               arg_max(label, requests) AS label,  -- the version most requests were sent with
               arg_max(system_hash, first_seen) AS system_hash,  -- the version live last
               arg_max(tools_hash, first_seen) AS tools_hash,
               sum(requests) AS requests, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
               count(*) AS versions, any_value(prompt_id) AS prompt_id
        FROM template_versions GROUP BY template_id""")


# Few-shot or history ----------------------------------------------------------------------------


def classify_middle_turns(con: Connection, share: float, min_requests: int, min_logged: float) -> None:
    """Flag the turns before the live one as few-shot or history by :func:`analyzer.examples.classify_middle_turns`'s
    rule (``share``, ``min_requests`` and ``min_logged`` are its thresholds), then rewrite the segment totals on
    ``requests`` from the flags and drop the runs no request sends any more."""
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
        {"min_requests": min_requests, "share": share},
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
        {"min_logged": min_logged, "min_requests": min_requests},
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


# Prices -----------------------------------------------------------------------------------------


def unpriced_days(con: Connection) -> list[tuple[str, date, str]]:
    """Every (model, day, service tier) of ``requests`` that ``prices`` has no row for."""
    return con.execute(
        """
        SELECT DISTINCT model, ts::DATE, coalesce(service_tier, 'standard') FROM requests
        WHERE (model, ts::DATE, coalesce(service_tier, 'standard')) NOT IN (SELECT (model, day, tier) FROM prices)
        """
    ).fetchall()


def add_price(con: Connection, model: str, day: date, tier: str, input: float | None, cached_input: float | None,
              cache_write: float | None, output: float | None, source: str) -> None:
    """Store one list rate (USD per 1M tokens) with its source."""
    con.execute(
        "INSERT INTO prices BY NAME SELECT ? AS model, ? AS day, ? AS tier, ? AS input, ? AS cached_input, "
        "? AS cache_write, ? AS output, ? AS source",
        [model, day, tier, input, cached_input, cache_write, output, source],
    )
