"""The database schema, grown by ordered migrations, each recorded in ``_migrations`` once applied.

Never edit a migration that has shipped: add the next one, and bring the table's declaration in
:mod:`.tables` up to date (the README's schema section is generated from it; the tests run these
migrations against an in-memory database and check that the two agree).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

MIGRATIONS: list[tuple[str, Callable[[duckdb.DuckDBPyConnection], None]]] = []


def migration(fn: Callable[[duckdb.DuckDBPyConnection], None]) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """Register a migration; the order of definition is the order of application."""
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(con: duckdb.DuckDBPyConnection) -> None:
    """The tables of DESIGN.md."""
    con.execute("""
        CREATE TABLE files (
            path VARCHAR NOT NULL,         -- as given on the command line, resolved
            size BIGINT NOT NULL,
            content_hash VARCHAR NOT NULL, -- sha256 of the bytes on disk
            formats VARCHAR,               -- the formats detected, comma-separated
            records INTEGER NOT NULL,      -- read = stored + duplicates + rejected
            stored INTEGER NOT NULL,
            duplicates INTEGER NOT NULL,
            rejected INTEGER NOT NULL,
            ingested_at TIMESTAMP NOT NULL,
            PRIMARY KEY (path, content_hash)
        )""")
    con.execute("""
        CREATE TABLE requests (
            request_id VARCHAR PRIMARY KEY, -- provider id (chatcmpl-…), else sha256 of the record
            file VARCHAR NOT NULL,
            line INTEGER NOT NULL,
            format VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL,          -- UTC
            model VARCHAR NOT NULL,         -- the model that answered (response), else the one asked
            requested_model VARCHAR,
            encoding VARCHAR NOT NULL,      -- tiktoken encoding used to count
            exact_tokenizer BOOLEAN NOT NULL, -- false: the model's tokenizer is not tiktoken's (estimate)
            template_id VARCHAR NOT NULL,
            status VARCHAR NOT NULL,        -- ok | error
            error VARCHAR,
            sample_rate DOUBLE,             -- share of calls the logger kept, when the record says
            user_id VARCHAR,
            session_id VARCHAR,
            latency_ms DOUBLE,
            system_hash VARCHAR,
            tools_hash VARCHAR,
            system_tokens INTEGER NOT NULL,
            fewshot_tokens INTEGER NOT NULL,
            tools_tokens INTEGER NOT NULL,
            history_tokens INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            input_hash VARCHAR NOT NULL,    -- hash of the live turn
            output_kind VARCHAR NOT NULL,   -- label | json | tool_call | text | none
            prompt_tokens INTEGER NOT NULL, -- counted: the sum of the five prompt segments
            fewshot_named_tokens INTEGER NOT NULL, -- the part of fewshot marked name=example_*
            middle_tokens INTEGER NOT NULL,        -- turns before the live one: fewshot + history
            reported_prompt_tokens INTEGER,        -- usage as the provider reported it
            reported_cached_tokens INTEGER,
            reported_output_tokens INTEGER,
            reported_reasoning_tokens INTEGER,
            raw_usage JSON
        )""")
    con.execute("""
        CREATE TABLE request_messages (  -- turns before the live one, to tell few-shot from history
            request_id VARCHAR NOT NULL,
            position INTEGER NOT NULL,
            role VARCHAR NOT NULL,
            hash VARCHAR NOT NULL,
            tokens INTEGER NOT NULL,
            is_fewshot BOOLEAN NOT NULL DEFAULT false,
            PRIMARY KEY (request_id, position)
        )""")
    con.execute("""
        CREATE TABLE segments (  -- each distinct static text, counted once per encoding
            hash VARCHAR NOT NULL,
            encoding VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            tokens INTEGER NOT NULL,
            text VARCHAR,
            PRIMARY KEY (hash, encoding)
        )""")
    con.execute("""
        CREATE TABLE templates (
            template_id VARCHAR PRIMARY KEY,
            label VARCHAR NOT NULL,
            system_hash VARCHAR,
            tools_hash VARCHAR,
            requests BIGINT NOT NULL,
            first_seen TIMESTAMP NOT NULL,
            last_seen TIMESTAMP NOT NULL
        )""")
    con.execute("""
        CREATE TABLE rejects (
            file VARCHAR NOT NULL,
            line INTEGER NOT NULL,
            reason VARCHAR NOT NULL,
            excerpt VARCHAR,
            rejected_at TIMESTAMP NOT NULL
        )""")
    con.execute("""
        CREATE TABLE prices (  -- list prices per model and day, USD per 1M tokens, from genai-prices
            model VARCHAR NOT NULL,
            day DATE NOT NULL,
            input DOUBLE,
            cached_input DOUBLE,
            output DOUBLE,
            source VARCHAR NOT NULL,  -- 'genai-prices <version> (<provider>/<model id>)', or why none
            PRIMARY KEY (model, day)
        )""")
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")


@migration
def m002_request_costs(con: duckdb.DuckDBPyConnection) -> None:
    """What each request cost at the list price of its model on its day.

    Billed tokens are the reported ones where the provider reported usage, else the counted ones.
    Cached input is charged at the cached price (OpenAI's ``prompt_tokens`` includes cached tokens).
    """
    con.execute("""
        CREATE VIEW request_costs AS
        SELECT r.*,
               coalesce(r.reported_prompt_tokens, r.prompt_tokens) AS billed_prompt_tokens,
               coalesce(r.reported_cached_tokens, 0) AS billed_cached_tokens,
               coalesce(r.reported_output_tokens, r.output_tokens) AS billed_output_tokens,
               p.input AS price_input, p.cached_input AS price_cached_input, p.output AS price_output,
               p.source AS price_source,
               ((coalesce(r.reported_prompt_tokens, r.prompt_tokens) - coalesce(r.reported_cached_tokens, 0)) * p.input
                 + coalesce(r.reported_cached_tokens, 0) * coalesce(p.cached_input, p.input)
                 + coalesce(r.reported_output_tokens, r.output_tokens) * p.output) / 1e6 AS cost_usd
        FROM requests r LEFT JOIN prices p ON p.model = r.model AND p.day = r.ts::DATE
        """)


@migration
def m003_cache_writes(con: duckdb.DuckDBPyConnection) -> None:
    """Tokens written to the provider's cache, and their price.

    Anthropic bills cache writes at 1.25× (5-minute) or 2× (1-hour) the input price, and its
    ``input_tokens`` excludes both cache reads and writes; the billed prompt is their sum. Prices
    are derived data: emptied here so that the next ingest fills them with the new column.
    """
    con.execute("ALTER TABLE requests ADD COLUMN reported_cache_write_tokens INTEGER")
    con.execute("ALTER TABLE prices ADD COLUMN cache_write DOUBLE")
    con.execute("DELETE FROM prices")
    con.execute("""
        CREATE OR REPLACE VIEW request_costs AS
        SELECT r.*,
               coalesce(r.reported_prompt_tokens, r.prompt_tokens) AS billed_prompt_tokens,
               coalesce(r.reported_cached_tokens, 0) AS billed_cached_tokens,
               coalesce(r.reported_cache_write_tokens, 0) AS billed_cache_write_tokens,
               coalesce(r.reported_output_tokens, r.output_tokens) AS billed_output_tokens,
               p.input AS price_input, p.cached_input AS price_cached_input, p.cache_write AS price_cache_write,
               p.output AS price_output, p.source AS price_source,
               ((coalesce(r.reported_prompt_tokens, r.prompt_tokens) - coalesce(r.reported_cached_tokens, 0)
                  - coalesce(r.reported_cache_write_tokens, 0)) * p.input
                 + coalesce(r.reported_cached_tokens, 0) * coalesce(p.cached_input, p.input)
                 + coalesce(r.reported_cache_write_tokens, 0) * coalesce(p.cache_write, p.input)
                 + coalesce(r.reported_output_tokens, r.output_tokens) * p.output) / 1e6 AS cost_usd
        FROM requests r LEFT JOIN prices p ON p.model = r.model AND p.day = r.ts::DATE
        """)


@migration
def m004_read_positions(con: duckdb.DuckDBPyConnection) -> None:
    """How far each file was read, so that a log that grew is read on from there.

    ``lines_read`` whole lines; ``bytes_read`` the offset after them in a plain file (null for
    gzip, which is decompressed again and its first lines passed over). Rows from before this
    migration have neither, and a changed file among them is read again whole.
    """
    con.execute("ALTER TABLE files ADD COLUMN lines_read INTEGER")
    con.execute("ALTER TABLE files ADD COLUMN bytes_read BIGINT")


@migration
def m005_batches_and_tiers(con: duckdb.DuckDBPyConnection) -> None:
    """Batch lines staged until joined, and prices per service tier.

    A batch request is two lines in two files (request and result); each is kept in
    ``batch_parts`` until its other half is read, and counted in its file as ``pending`` meanwhile.
    Batch requests are billed at the batch tier (half price at OpenAI and Anthropic), flex and
    priority at theirs, so ``prices`` is keyed by tier too. It is derived data: rebuilt empty, and
    filled again with the tiers on the next ingest. List rates are now found by pricing 1,000 tokens,
    not 1M, which priced Anthropic's long-context models at their over-200k rate.
    """
    con.execute("""
        CREATE TABLE batch_parts (
            provider VARCHAR NOT NULL,   -- openai | anthropic
            half VARCHAR NOT NULL,       -- request | result
            custom_id VARCHAR NOT NULL,
            file VARCHAR NOT NULL,
            line INTEGER NOT NULL,
            file_time TIMESTAMP,         -- the file's modification time (UTC): dates what has no time
            data VARCHAR NOT NULL,       -- the line, JSON
            joined BOOLEAN NOT NULL      -- its other half has been read and the request built
        )""")
    con.execute("ALTER TABLE files ADD COLUMN pending INTEGER DEFAULT 0")
    con.execute("ALTER TABLE requests ADD COLUMN service_tier VARCHAR")
    con.execute("DROP VIEW request_costs")
    con.execute("DROP TABLE prices")
    con.execute("""
        CREATE TABLE prices (  -- list prices per model, day and service tier, USD per 1M tokens
            model VARCHAR NOT NULL,
            day DATE NOT NULL,
            tier VARCHAR NOT NULL,    -- standard | batch | flex | priority
            input DOUBLE,
            cached_input DOUBLE,
            cache_write DOUBLE,
            output DOUBLE,
            source VARCHAR NOT NULL,  -- 'genai-prices <version> (<provider>/<model id>)', or why none
            PRIMARY KEY (model, day, tier)
        )""")
    con.execute("""
        CREATE VIEW request_costs AS
        SELECT r.*,
               coalesce(r.reported_prompt_tokens, r.prompt_tokens) AS billed_prompt_tokens,
               coalesce(r.reported_cached_tokens, 0) AS billed_cached_tokens,
               coalesce(r.reported_cache_write_tokens, 0) AS billed_cache_write_tokens,
               coalesce(r.reported_output_tokens, r.output_tokens) AS billed_output_tokens,
               p.input AS price_input, p.cached_input AS price_cached_input, p.cache_write AS price_cache_write,
               p.output AS price_output, p.source AS price_source,
               ((coalesce(r.reported_prompt_tokens, r.prompt_tokens) - coalesce(r.reported_cached_tokens, 0)
                  - coalesce(r.reported_cache_write_tokens, 0)) * p.input
                 + coalesce(r.reported_cached_tokens, 0) * coalesce(p.cached_input, p.input)
                 + coalesce(r.reported_cache_write_tokens, 0) * coalesce(p.cache_write, p.input)
                 + coalesce(r.reported_output_tokens, r.output_tokens) * p.output) / 1e6 AS cost_usd
        FROM requests r LEFT JOIN prices p
          ON p.model = r.model AND p.day = r.ts::DATE AND p.tier = coalesce(r.service_tier, 'standard')
        """)


@migration
def m006_template_versions(con: duckdb.DuckDBPyConnection) -> None:
    """Versions of a template, linked rather than split.

    A request's ``version_id`` is the exact static part it was sent with (or its provider prompt id
    and version); its ``template_id`` is the template that version belongs to, decided across all
    versions once the requests are in. ``template_versions`` records each version and when it was
    live; ``templates`` is derived from it. Existing requests start as one version per template.
    """
    con.execute("ALTER TABLE requests ADD COLUMN version_id VARCHAR")
    con.execute("ALTER TABLE requests ADD COLUMN prompt_id VARCHAR")
    con.execute("ALTER TABLE requests ADD COLUMN prompt_version VARCHAR")
    con.execute("UPDATE requests SET version_id = template_id")
    con.execute("""
        CREATE TABLE template_versions (
            version_id VARCHAR PRIMARY KEY,
            template_id VARCHAR NOT NULL,  -- the template it is a version of
            version INTEGER NOT NULL,      -- 1, 2, … in the order they were first seen
            label VARCHAR NOT NULL,
            system_hash VARCHAR,
            tools_hash VARCHAR,
            prompt_id VARCHAR,             -- provider prompt id (Responses prompt.id, Langfuse promptName…)
            prompt_version VARCHAR,
            requests BIGINT NOT NULL,
            first_seen TIMESTAMP NOT NULL,
            last_seen TIMESTAMP NOT NULL
        )""")
    con.execute("""
        INSERT INTO template_versions BY NAME
        SELECT template_id AS version_id, template_id, 1 AS version, label, system_hash, tools_hash, requests,
               first_seen, last_seen
        FROM templates""")
    con.execute("ALTER TABLE templates ADD COLUMN versions INTEGER DEFAULT 1")
    con.execute("ALTER TABLE templates ADD COLUMN prompt_id VARCHAR")


@migration
def m007_calibration(con: duckdb.DuckDBPyConnection) -> None:
    """Counted against billed prompt tokens per model, and the scale that reconciles them.

    For a model tiktoken has the tokenizer of, counts are exact (scale 1) and the figures show how
    close. For any other model (Anthropic, Gemini, …) the o200k count is an estimate; its scale is
    the median billed ÷ counted over the model's successful requests billed within half to twice
    their count (1 when there are none), so that scaled segments add up to what the typical request
    was billed. A view, so it always reflects every request stored.
    """
    con.execute("""
        CREATE VIEW model_calibration AS
        SELECT model,
               any_value(encoding) AS encoding,
               bool_and(exact_tokenizer) AS exact_tokenizer,
               count(*) AS requests,
               sum(prompt_tokens) AS counted,
               sum(reported_prompt_tokens) AS reported,
               avg((prompt_tokens = reported_prompt_tokens)::INTEGER) AS exact_share,
               median((prompt_tokens - reported_prompt_tokens) / reported_prompt_tokens) AS median_error,
               median(abs(prompt_tokens - reported_prompt_tokens) / reported_prompt_tokens) AS median_abs_error,
               quantile_cont(abs(prompt_tokens - reported_prompt_tokens) / reported_prompt_tokens, 0.95) \
AS p95_abs_error,
               -- The median ratio of the requests billed within half to twice their count: a tokenizer
               -- differs by less; larger gaps are server tools (web search adds thousands of prompt
               -- tokens), context compaction or media the request does not show.
               count(*) FILTER (WHERE reported_prompt_tokens / prompt_tokens BETWEEN 0.5 AND 2) AS fitted_on,
               CASE WHEN bool_and(exact_tokenizer) THEN 1.0
                    ELSE coalesce(median(reported_prompt_tokens / prompt_tokens)
                                  FILTER (WHERE reported_prompt_tokens / prompt_tokens BETWEEN 0.5 AND 2), 1.0)
               END AS scale
        FROM requests
        WHERE status = 'ok' AND reported_prompt_tokens > 0 AND prompt_tokens > 0
        GROUP BY model""")
    con.execute("""
        CREATE OR REPLACE VIEW request_costs AS
        SELECT r.*,
               coalesce(r.reported_prompt_tokens, r.prompt_tokens) AS billed_prompt_tokens,
               coalesce(r.reported_cached_tokens, 0) AS billed_cached_tokens,
               coalesce(r.reported_cache_write_tokens, 0) AS billed_cache_write_tokens,
               coalesce(r.reported_output_tokens, r.output_tokens) AS billed_output_tokens,
               coalesce(c.scale, 1.0) AS token_scale,
               p.input AS price_input, p.cached_input AS price_cached_input, p.cache_write AS price_cache_write,
               p.output AS price_output, p.source AS price_source,
               ((coalesce(r.reported_prompt_tokens, r.prompt_tokens) - coalesce(r.reported_cached_tokens, 0)
                  - coalesce(r.reported_cache_write_tokens, 0)) * p.input
                 + coalesce(r.reported_cached_tokens, 0) * coalesce(p.cached_input, p.input)
                 + coalesce(r.reported_cache_write_tokens, 0) * coalesce(p.cache_write, p.input)
                 + coalesce(r.reported_output_tokens, r.output_tokens) * p.output) / 1e6 AS cost_usd
        FROM requests r
        LEFT JOIN prices p
          ON p.model = r.model AND p.day = r.ts::DATE AND p.tier = coalesce(r.service_tier, 'standard')
        LEFT JOIN model_calibration c ON c.model = r.model
        """)


@migration
def m008_exchange_hashes(con: duckdb.DuckDBPyConnection) -> None:
    """Each request's exchange (its live turn and what it returned), to recognise it when sent back.

    A conversation sends its earlier exchanges back as history; examples picked per request were
    never anyone's exchange. An output alone would not do: a label task returns the same few
    labels its examples show. ``request_messages.exchange_hash`` is the same hash for each earlier
    assistant turn and the turns before it. Rows stored before have none (null).
    """
    con.execute("ALTER TABLE requests ADD COLUMN exchange_hash VARCHAR")
    con.execute("ALTER TABLE request_messages ADD COLUMN exchange_hash VARCHAR")


@migration
def m009_derived_counts(con: duckdb.DuckDBPyConnection) -> None:
    """Whether a request's live input and output tokens were derived from its usage, not tokenized.

    :mod:`analyzer.deriving` takes them from the bill where a checked sample of the same template,
    model and file shows the two agree; the tokenizer's error is measured on counted requests only.
    Rows stored before were all counted.
    """
    con.execute("ALTER TABLE requests ADD COLUMN input_derived BOOLEAN NOT NULL DEFAULT false")
    con.execute("ALTER TABLE requests ADD COLUMN output_derived BOOLEAN NOT NULL DEFAULT false")
    # The calibration's error figures come from the counted requests: a derived prompt matches its
    # bill by construction. `requests` stays every request with usage; `derived` says how many of
    # them the figures leave out.
    con.execute("""
        CREATE OR REPLACE VIEW model_calibration AS
        SELECT model,
               any_value(encoding) AS encoding,
               bool_and(exact_tokenizer) AS exact_tokenizer,
               count(*) AS requests,
               sum(prompt_tokens) FILTER (WHERE NOT input_derived) AS counted,
               sum(reported_prompt_tokens) FILTER (WHERE NOT input_derived) AS reported,
               avg((prompt_tokens = reported_prompt_tokens)::INTEGER) FILTER (WHERE NOT input_derived) AS exact_share,
               median((prompt_tokens - reported_prompt_tokens) / reported_prompt_tokens)
                   FILTER (WHERE NOT input_derived) AS median_error,
               median(abs(prompt_tokens - reported_prompt_tokens) / reported_prompt_tokens)
                   FILTER (WHERE NOT input_derived) AS median_abs_error,
               quantile_cont(abs(prompt_tokens - reported_prompt_tokens) / reported_prompt_tokens, 0.95)
                   FILTER (WHERE NOT input_derived) AS p95_abs_error,
               count(*) FILTER (WHERE reported_prompt_tokens / prompt_tokens BETWEEN 0.5 AND 2
                                AND NOT input_derived) AS fitted_on,
               CASE WHEN bool_and(exact_tokenizer) THEN 1.0
                    ELSE coalesce(median(reported_prompt_tokens / prompt_tokens)
                                  FILTER (WHERE reported_prompt_tokens / prompt_tokens BETWEEN 0.5 AND 2
                                          AND NOT input_derived), 1.0)
               END AS scale,
               count(*) FILTER (WHERE input_derived) AS derived
        FROM requests
        WHERE status = 'ok' AND reported_prompt_tokens > 0 AND prompt_tokens > 0
        GROUP BY model""")


@migration
def m010_middle_runs(con: duckdb.DuckDBPyConnection) -> None:
    """Each distinct run of turns before the live one stored once, not once per request.

    A template's few-shot pairs are the same turns in every request: a row per turn per request grew
    with the month (16 per classifier call). ``requests.middle_id`` names the run a request sent;
    ``middle_turns`` holds each run's turns once; ``requests.fewshot_turns`` is how many of them the
    final pass found to be few-shot. Rows of ``request_messages`` are carried over.
    """
    con.execute("""
        CREATE TABLE middle_turns (  -- each distinct run of turns before the live one, once
            middle_id VARCHAR NOT NULL,
            position INTEGER NOT NULL,
            role VARCHAR NOT NULL,
            hash VARCHAR NOT NULL,
            tokens INTEGER NOT NULL,
            exchange_hash VARCHAR,     -- an assistant turn: the turns it answered and it, hashed
            PRIMARY KEY (middle_id, position)
        )""")
    con.execute("ALTER TABLE requests ADD COLUMN middle_id VARCHAR")
    con.execute("ALTER TABLE requests ADD COLUMN fewshot_turns INTEGER NOT NULL DEFAULT 0")
    con.execute("""
        CREATE TEMP TABLE _runs AS
        SELECT request_id, md5(string_agg(concat_ws(chr(31), position, role, hash, tokens, coalesce(exchange_hash, '')),
                                          chr(30) ORDER BY position)) AS middle_id,
               count(*) FILTER (WHERE is_fewshot) AS fewshot_turns
        FROM request_messages GROUP BY request_id""")
    con.execute("""
        INSERT INTO middle_turns
        SELECT DISTINCT ON (r.middle_id, m.position) r.middle_id, m.position, m.role, m.hash, m.tokens, m.exchange_hash
        FROM request_messages m JOIN _runs r USING (request_id)""")
    con.execute("""
        UPDATE requests SET middle_id = r.middle_id, fewshot_turns = r.fewshot_turns
        FROM _runs r WHERE requests.request_id = r.request_id""")
    con.execute("DROP TABLE _runs")
    con.execute("DROP TABLE request_messages")


@migration
def m011_file_times(con: duckdb.DuckDBPyConnection) -> None:
    """Each file's modification time when read: a file of the same size and time is not hashed again."""
    con.execute("ALTER TABLE files ADD COLUMN mtime_ns BIGINT")


@migration
def m012_comparisons(con: duckdb.DuckDBPyConnection) -> None:
    """What ``crossover compare`` measured: a candidate model's agreement and cost on a template's eval set.

    Kept apart from ``requests``: the candidate's calls are not production traffic, so they must
    not count as volume, templates or examples.
    """
    con.execute("""
        CREATE TABLE comparisons (
            template_id VARCHAR PRIMARY KEY, -- the latest compare of each template replaces the one before
            compared_at TIMESTAMP NOT NULL,
            eval_set VARCHAR NOT NULL,
            logs VARCHAR NOT NULL,           -- JSON list of the paths read
            models VARCHAR NOT NULL,         -- comma-separated, most calls first
            output_kind VARCHAR NOT NULL,
            eval_examples INTEGER NOT NULL,
            calls INTEGER NOT NULL,
            matched INTEGER NOT NULL,
            unmatched_calls INTEGER NOT NULL,
            repeated_calls INTEGER NOT NULL,
            failed_calls INTEGER NOT NULL,
            missing_examples INTEGER NOT NULL,
            agreement DOUBLE,
            agreement_measure VARCHAR NOT NULL,
            decisive BOOLEAN NOT NULL,
            cost_per_request DOUBLE,
            priced_calls INTEGER NOT NULL,
            price_sources VARCHAR NOT NULL,  -- JSON list
            by_kind JSON NOT NULL
        )""")
    con.execute("""
        CREATE TABLE comparison_calls (
            template_id VARCHAR NOT NULL,
            file VARCHAR NOT NULL,
            line INTEGER NOT NULL,
            request_id VARCHAR,
            model VARCHAR NOT NULL,
            status VARCHAR NOT NULL,         -- matched | unmatched | repeated | failed
            example INTEGER,                 -- its line in eval.jsonl, from 0
            kind VARCHAR,
            agree BOOLEAN,
            score DOUBLE,
            prompt_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cost_usd DOUBLE
        )""")


@migration
def m013_object_versions(con: duckdb.DuckDBPyConnection) -> None:
    """Each object's version as its store names it (S3 or Azure ETag, GCS generation): an object of the same
    size and version is not read again."""
    con.execute("ALTER TABLE files ADD COLUMN etag VARCHAR")


@migration
def m014_ignored_records(con: duckdb.DuckDBPyConnection) -> None:
    """Each file's records read but with nothing to count (a framework's event span of a call already stored)."""
    con.execute("ALTER TABLE files ADD COLUMN ignored INTEGER DEFAULT 0")


def pending(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The migrations a database has not had yet (all of them for one without ``_migrations``)."""
    try:
        done = {row[0] for row in con.execute("SELECT name FROM _migrations").fetchall()}
    except duckdb.CatalogException:
        done = set()
    return [name for name, _ in MIGRATIONS if name not in done]


def apply(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction; return their names."""
    con.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP NOT NULL)")
    done = {row[0] for row in con.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            fn(con)
            con.execute("INSERT INTO _migrations VALUES (?, now()::TIMESTAMP)", [name])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
