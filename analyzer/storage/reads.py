"""The reads the report, ``templates`` and ``prices`` need: the database's figures as frames and dicts.

Each read returns what :mod:`analyzer.api` hands to the cost model or a renderer, unchanged;
what the figures mean is decided there and in :mod:`analyzer.costs`.
"""

from __future__ import annotations

import duckdb
import polars as pl

from .arrow import frame
from .connection import MEMORY_LIMIT, Connection


def request_costs(con: Connection, columns: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Every request with its billed tokens, prices and cost (the ``request_costs`` view), or only ``columns`` of it."""
    names = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    return frame(con, f"SELECT {names} FROM request_costs")


def template_labels(con: Connection) -> dict[str, str]:
    """Each template's label."""
    return dict(con.execute("SELECT template_id, label FROM templates").fetchall())


def templates_info(con: Connection) -> dict[str, dict]:
    """Per template: its versions, days from its latest version's first request to the logs' end, example pairs."""
    rows = con.execute("""
        WITH pairs AS (SELECT template_id, fewshot_turns / 2 AS n FROM requests),
             latest AS (SELECT template_id, max(first_seen) AS since FROM template_versions GROUP BY ALL)
        SELECT t.template_id, t.versions, date_diff('day', l.since, (SELECT max(ts) FROM requests)),
               (SELECT median(n) FROM pairs p WHERE p.template_id = t.template_id)
        FROM templates t JOIN latest l USING (template_id)""").fetchall()
    info = {tid: {"versions": versions, "latest_version_days": days, "fewshot_pairs": float(pairs or 0)}
            for tid, versions, days, pairs in rows}
    for tid, *figures in con.execute(_COUNTED_VS_BILLED).fetchall():
        info.setdefault(tid, {})["counted_vs_billed"] = dict(zip(_COUNTED_VS_BILLED_KEYS, figures, strict=True))
    return info


_COUNTED_VS_BILLED_KEYS = ("requests", "exact_share", "median_abs_error", "p95_abs_error",
                           "calibrated_median_abs_error", "calibrated_p95_abs_error")
# Per template, over its successful requests with usage whose prompt was counted (not derived from
# the bill): the figures of queries/counted_vs_billed_by_template.sql, which tests hold equal.
_COUNTED_VS_BILLED = """
    WITH c AS (
        SELECT r.template_id, r.prompt_tokens AS counted, r.reported_prompt_tokens AS billed,
               r.prompt_tokens * coalesce(m.scale, 1.0) AS calibrated
        FROM requests r LEFT JOIN model_calibration m USING (model)
        WHERE r.status = 'ok' AND r.reported_prompt_tokens > 0 AND r.prompt_tokens > 0 AND NOT r.input_derived)
    SELECT template_id, count(*), round(avg((counted = billed)::INTEGER), 4),
           round(median(abs(counted - billed) / billed), 4),
           round(quantile_cont(abs(counted - billed) / billed, 0.95), 4),
           round(median(abs(calibrated - billed) / billed), 4),
           round(quantile_cont(abs(calibrated - billed) / billed, 0.95), 4)
    FROM c GROUP BY template_id"""


def calibration(con: Connection) -> list[dict]:
    """Counted against billed prompt tokens per model, most requests first, rounded for the report."""
    return frame(con, """
        SELECT model, exact_tokenizer, requests, round(exact_share, 4) AS exact_share,
               round(median_error, 4) AS median_error, round(p95_abs_error, 4) AS p95_abs_error,
               round(scale, 4) AS scale
        FROM model_calibration ORDER BY requests DESC""").to_dicts()


def template_rows(con: Connection, versions: bool = False) -> pl.DataFrame:
    """Each template (with ``versions``, each version) with its requests, models, share of spend and anatomy.

    ``static_cached_share`` is the mean share of the static prefix (system, few-shot, tools) that
    the provider reported reading from its cache. Rows are in no particular order.
    """
    return frame(con, f"""
        SELECT t.template_id, {'v.version, v.label, v.prompt_version,' if versions else 't.label, t.versions,'}
               t.prompt_id, count(*) AS requests, string_agg(DISTINCT r.model, ', ') AS models,
               round(sum(r.cost_usd / coalesce(r.sample_rate, 1.0))
                     / sum(sum(r.cost_usd / coalesce(r.sample_rate, 1.0))) OVER (), 4) AS share_of_spend,
               round(avg(system_tokens))::BIGINT AS system, round(avg(fewshot_tokens))::BIGINT AS fewshot,
               round(avg(tools_tokens))::BIGINT AS tools, round(avg(history_tokens))::BIGINT AS history,
               round(avg(input_tokens))::BIGINT AS input, round(avg(output_tokens))::BIGINT AS output,
               -- Providers cache a prompt's prefix, and the static part comes first: cached tokens
               -- go to it up to its size, the rest to the history behind it.
               round(avg(least(coalesce(reported_cached_tokens, 0), system_tokens + fewshot_tokens + tools_tokens)
                         / nullif(system_tokens + fewshot_tokens + tools_tokens, 0)), 4) AS static_cached_share,
               min(r.ts)::DATE AS first_seen, max(r.ts)::DATE AS last_seen
        FROM request_costs r JOIN templates t ON t.template_id = r.template_id
             JOIN template_versions v ON v.version_id = r.version_id
        GROUP BY ALL""")


def models(con: Connection) -> list[str]:
    """The models the requests were answered by, by name."""
    return [row[0] for row in con.execute("SELECT DISTINCT model FROM requests ORDER BY 1").fetchall()]


def prices_used(con: Connection, model: str | None = None) -> pl.DataFrame:
    """The list prices the requests were costed at: one row per model, tier and rate, with the days it applied."""
    return frame(con, """
        SELECT p.model, p.tier, min(p.day) AS first_day, max(p.day) AS last_day, sum(n.requests)::BIGINT AS requests,
               p.input, p.cached_input, p.cache_write, p.output, p.source
        FROM prices p JOIN (SELECT model, ts::DATE AS day, coalesce(service_tier, 'standard') AS tier,
                                   count(*) AS requests FROM requests GROUP BY ALL) n USING (model, day, tier)
        WHERE $model = '' OR p.model = $model
        GROUP BY p.model, p.tier, p.input, p.cached_input, p.cache_write, p.output, p.source
        ORDER BY p.model, p.tier, first_day""", {"model": model or ""})


#: DuckDB's buffer pool while it picks an export's rows: the window over a template's requests then
#: spills to disk instead of holding a quarter of a gigabyte beside the export's own arrays (at a
#: million requests, 330 MB at the peak instead of 490). Where that is too little, the usual pool.
EXPORT_MEMORY_LIMIT = "96MB"


def export_candidates(con: Connection, template_id: str, version: int | None = None) -> pl.DataFrame:
    """A template's successful requests with an output, one per distinct live turn and output, with
    where each came from (``batch``: a batch request, built from two lines); ``dropped`` on every row
    counts the duplicates left out."""
    query = """
        WITH c AS (
            SELECT r.request_id, r.file, r.line, r.ts, r.input_hash, r.output_kind, v.version,
                   r.system_tokens, r.tools_tokens, r.input_tokens, r.output_tokens,
                   coalesce(r.service_tier = 'batch', false) AS batch,
                   row_number() OVER (PARTITION BY coalesce(r.exchange_hash, r.request_id)
                                      ORDER BY r.ts, r.file, r.line) AS nth
            FROM requests r JOIN template_versions v ON v.version_id = r.version_id
            WHERE r.template_id = $template AND r.status = 'ok' AND r.output_kind <> 'none'
              AND ($version IS NULL OR v.version = $version))
        SELECT * EXCLUDE (nth), (SELECT count(*) FROM c WHERE nth > 1) AS dropped
        FROM c WHERE nth = 1 ORDER BY file, line"""
    params = {"template": template_id, "version": version}
    con.execute(f"SET memory_limit = '{EXPORT_MEMORY_LIMIT}'")
    try:
        return frame(con, query, params)
    except (duckdb.OutOfMemoryException, pl.exceptions.ComputeError):
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        return frame(con, query, params)
    finally:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")


def file_fingerprints(con: Connection) -> dict[str, int]:
    """Each log file's size when it was last read."""
    return dict(con.execute("SELECT path, arg_max(size, ingested_at) FROM files GROUP BY path").fetchall())


def production_by_day(con: Connection, template_id: str, version: int | None = None) -> dict[str, float]:
    """A template's requests each day with sample rates undone (the traffic an export follows), by ISO day."""
    return {str(day): float(n) for day, n in con.execute("""
        SELECT CAST(r.ts AS DATE) AS day, sum(1.0 / coalesce(r.sample_rate, 1.0)) AS n
        FROM requests r JOIN template_versions v ON v.version_id = r.version_id
        WHERE r.template_id = $template AND ($version IS NULL OR v.version = $version)
        GROUP BY day ORDER BY day""", {"template": template_id, "version": version}).fetchall()}


def training_basis(con: Connection, template_id: str, kept_tokens: float,
                   sample_rate: float) -> tuple[float | None, str | None]:
    """What a template's training figure is made of, aggregated in the database: the volume-weighted
    mean tokens of one training example, and the model most of its requests went to.

    The same figures :func:`analyzer.options.finetune` takes from the report's rows (counts scaled
    to the model's own tokens, the system prompt cut to ``kept_tokens``, weights ``1 / sample_rate``
    with ``sample_rate`` where the logs give none), without holding a row per request.
    """
    mean, = con.execute("""
        WITH x AS (
            SELECT 1.0 / coalesce(sample_rate, $rate) AS w,
                   least(system_tokens * token_scale, $kept)
                   + (tools_tokens + history_tokens + input_tokens + output_tokens) * token_scale AS tokens
            FROM request_costs WHERE template_id = $template)
        SELECT sum(w * tokens) / sum(w) FILTER (WHERE tokens IS NOT NULL) FROM x""",
        {"template": template_id, "kept": kept_tokens, "rate": sample_rate}).fetchone()
    model = con.execute("""
        SELECT model FROM requests WHERE template_id = $template AND model IS NOT NULL
        GROUP BY model ORDER BY count(*) DESC, model LIMIT 1""", {"template": template_id}).fetchone()
    return (float(mean) if mean is not None else None), (model[0] if model else None)
