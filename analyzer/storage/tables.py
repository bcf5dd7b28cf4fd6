"""The one declaration of each table and view: its columns, their DuckDB types and what they hold.

Migrations (:mod:`.migrations`) build the schema step by step and never change once shipped; these
declarations say what the steps add up to. The polars schemas of the rows ingest writes, the
README's schema section and the check that migrations and declarations agree (``tests``) are all
derived from here, so adding a column means a migration and a line below.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


@functools.cache
def polars_types() -> dict[str, pl.DataType]:
    """The polars type that carries each DuckDB type across the Arrow stream; JSON travels as text.

    Imported on first use: a worker process of ingest builds rows as JSON lines and has no use for polars.
    """
    import polars as pl

    return {"VARCHAR": pl.Utf8, "JSON": pl.Utf8, "INTEGER": pl.Int32, "BIGINT": pl.Int64, "HUGEINT": pl.Int128,
            "DOUBLE": pl.Float64, "BOOLEAN": pl.Boolean, "TIMESTAMP": pl.Datetime("us"), "DATE": pl.Date}


@dataclass(frozen=True)
class Column:
    """One column: its name, DuckDB type, whether it may be null, and a line saying what it holds."""

    name: str
    type: str
    description: str
    not_null: bool = False
    #: Filled by the database or the final pass, never by the rows a file is read into.
    derived: bool = False

    @property
    def dtype(self) -> pl.DataType:
        """The polars type of this column in the frames written to it."""
        return polars_types()[self.type]


def col(name: str, spec: str, description: str, derived: bool = False) -> Column:
    """A column from a SQL-like spec: ``"VARCHAR"`` or ``"VARCHAR NOT NULL"``."""
    type_, _, constraint = spec.partition(" ")
    return Column(name, type_, description, constraint == "NOT NULL", derived)


@dataclass(frozen=True)
class Table:
    """A table: its columns in their order in the database, and its primary key (empty: none)."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    def schema(self) -> dict[str, pl.DataType]:
        """The polars schema of the rows ingest writes to this table (derived columns left out)."""
        return {c.name: c.dtype for c in self.columns if not c.derived}

    def written(self) -> tuple[Column, ...]:
        """The columns of the rows ingest writes to this table (derived columns left out)."""
        return tuple(c for c in self.columns if not c.derived)


@dataclass(frozen=True)
class View:
    """A view: the columns of ``base`` (a table, if any) followed by its own."""

    name: str
    description: str
    columns: tuple[Column, ...]
    base: str | None = None


TABLES = {t.name: t for t in (
    Table("requests",
          "One row per logged request: time, model, template, segment tokens, counted and reported usage.", (
        col("request_id", "VARCHAR NOT NULL", "provider id (chatcmpl-…), else sha256 of the record"),
        col("file", "VARCHAR NOT NULL", "the log file it was read from"),
        col("line", "INTEGER NOT NULL", "its line (record) in that file"),
        col("format", "VARCHAR NOT NULL", "the log format that read it"),
        col("ts", "TIMESTAMP NOT NULL", "when it was sent, UTC"),
        col("model", "VARCHAR NOT NULL", "the model that answered (response), else the one asked"),
        col("requested_model", "VARCHAR", "the model asked for"),
        col("encoding", "VARCHAR NOT NULL", "tiktoken encoding used to count"),
        col("exact_tokenizer", "BOOLEAN NOT NULL", "false: the model's tokenizer is not tiktoken's (estimate)"),
        col("template_id", "VARCHAR NOT NULL", "the template its version belongs to"),
        col("status", "VARCHAR NOT NULL", "ok | error"),
        col("error", "VARCHAR", "the error returned, if any"),
        col("sample_rate", "DOUBLE", "share of calls the logger kept, when the record says"),
        col("user_id", "VARCHAR", "the end user, when logged"),
        col("session_id", "VARCHAR", "the conversation or session, when logged"),
        col("latency_ms", "DOUBLE", "as logged"),
        col("system_hash", "VARCHAR", "the system text's hash (segments.hash)"),
        col("tools_hash", "VARCHAR", "the tool definitions' hash (segments.hash)"),
        col("system_tokens", "INTEGER NOT NULL", "system and developer instructions"),
        col("fewshot_tokens", "INTEGER NOT NULL", "few-shot examples: named, inline, and turns the final pass found"),
        col("tools_tokens", "INTEGER NOT NULL", "tool and function definitions, response schemas"),
        col("history_tokens", "INTEGER NOT NULL", "earlier turns of a real conversation"),
        col("input_tokens", "INTEGER NOT NULL", "the live turn and the reply priming"),
        col("output_tokens", "INTEGER NOT NULL", "what the model returned, counted"),
        col("input_hash", "VARCHAR NOT NULL", "hash of the live turn"),
        col("output_kind", "VARCHAR NOT NULL", "label | json | tool_call | text | none"),
        col("prompt_tokens", "INTEGER NOT NULL", "counted: the sum of the five prompt segments"),
        col("fewshot_named_tokens", "INTEGER NOT NULL",
            "few-shot one request shows alone: example_* names, inline blocks"),
        col("middle_tokens", "INTEGER NOT NULL", "turns before the live one: fewshot + history"),
        col("reported_prompt_tokens", "INTEGER", "usage as the provider reported it"),
        col("reported_cached_tokens", "INTEGER", "prompt tokens the provider read from its cache"),
        col("reported_output_tokens", "INTEGER", "output tokens the provider billed"),
        col("reported_reasoning_tokens", "INTEGER", "of which reasoning"),
        col("raw_usage", "JSON", "the usage object as logged"),
        col("reported_cache_write_tokens", "INTEGER", "prompt tokens written to the cache (Anthropic)"),
        col("service_tier", "VARCHAR", "standard | batch | flex | priority; null (not logged) is priced as standard"),
        col("version_id", "VARCHAR", "the exact static part it was sent with (template_versions)"),
        col("prompt_id", "VARCHAR", "provider prompt id, when logged"),
        col("prompt_version", "VARCHAR", "provider prompt version, when logged"),
        col("exchange_hash", "VARCHAR", "its live turn and output, hashed: recognised when sent back as history"),
        col("input_derived", "BOOLEAN NOT NULL", "input tokens taken from the bill, not tokenized"),
        col("output_derived", "BOOLEAN NOT NULL", "output tokens taken from the bill, not tokenized"),
        col("middle_id", "VARCHAR", "the run of turns before the live one (middle_turns)"),
        col("fewshot_turns", "INTEGER NOT NULL", "how many of those turns the final pass found few-shot", derived=True),
    ), key=("request_id",)),
    Table("middle_turns", "Each distinct run of turns before the live one, stored once.", (
        col("middle_id", "VARCHAR NOT NULL", "the run (requests.middle_id)"),
        col("position", "INTEGER NOT NULL", "the turn's place in the request's messages"),
        col("role", "VARCHAR NOT NULL", "user | assistant | …"),
        col("hash", "VARCHAR NOT NULL", "the turn's text, hashed"),
        col("tokens", "INTEGER NOT NULL", "its tokens, message overhead included"),
        col("exchange_hash", "VARCHAR", "an assistant turn: the turns it answered and it, hashed"),
    ), key=("middle_id", "position")),
    Table("segments", "Each distinct static text, counted once per encoding.", (
        col("hash", "VARCHAR NOT NULL", "the text's hash"),
        col("encoding", "VARCHAR NOT NULL", "tiktoken encoding it was counted with"),
        col("kind", "VARCHAR NOT NULL", "system | fewshot | tools"),
        col("tokens", "INTEGER NOT NULL", "its tokens"),
        col("text", "VARCHAR", "the text"),
    ), key=("hash", "encoding")),
    Table("templates", "Each prompt template, derived from its versions after every ingest.", (
        col("template_id", "VARCHAR NOT NULL", "the template"),
        col("label", "VARCHAR NOT NULL", "a readable name: that of the version most requests were sent with"),
        col("system_hash", "VARCHAR", "the system text of the version live last"),
        col("tools_hash", "VARCHAR", "the tool definitions of the version live last"),
        col("requests", "BIGINT NOT NULL", "requests sent with it"),
        col("first_seen", "TIMESTAMP NOT NULL", "its first request"),
        col("last_seen", "TIMESTAMP NOT NULL", "its last request"),
        col("versions", "INTEGER", "how many versions it had"),
        col("prompt_id", "VARCHAR", "provider prompt id, when logged"),
    ), key=("template_id",)),
    Table("template_versions", "Each version of a template (an exact static part) and when it was live.", (
        col("version_id", "VARCHAR NOT NULL", "the version"),
        col("template_id", "VARCHAR NOT NULL", "the template it is a version of"),
        col("version", "INTEGER NOT NULL", "1, 2, … in the order they were first seen"),
        col("label", "VARCHAR NOT NULL", "a readable name"),
        col("system_hash", "VARCHAR", "its system text (segments.hash)"),
        col("tools_hash", "VARCHAR", "its tool definitions (segments.hash)"),
        col("prompt_id", "VARCHAR", "provider prompt id (Responses prompt.id, Langfuse promptName…)"),
        col("prompt_version", "VARCHAR", "provider prompt version"),
        col("requests", "BIGINT NOT NULL", "requests sent with it"),
        col("first_seen", "TIMESTAMP NOT NULL", "its first request"),
        col("last_seen", "TIMESTAMP NOT NULL", "its last request"),
    ), key=("version_id",)),
    Table("files", "Each log file read, and what became of its records.", (
        col("path", "VARCHAR NOT NULL", "as given on the command line, resolved"),
        col("size", "BIGINT NOT NULL", "bytes read and hashed"),
        col("content_hash", "VARCHAR NOT NULL", "sha256 of the bytes read"),
        col("formats", "VARCHAR", "the formats detected, comma-separated"),
        col("records", "INTEGER NOT NULL", "read = stored + duplicates + rejected + pending + ignored"),
        col("stored", "INTEGER NOT NULL", "requests stored"),
        col("duplicates", "INTEGER NOT NULL", "requests already stored, or logged twice"),
        col("rejected", "INTEGER NOT NULL", "records that could not be read (see rejects)"),
        col("ingested_at", "TIMESTAMP NOT NULL", "when it was read"),
        col("lines_read", "INTEGER", "whole lines read, to read on from there when it grows"),
        col("bytes_read", "BIGINT", "the offset after them (null for gzip)"),
        col("pending", "INTEGER", "batch lines waiting for their other half"),
        col("mtime_ns", "BIGINT", "its modification time when read: same size and time, not hashed again"),
        col("etag", "VARCHAR", "an object's version in object storage (ETag, generation): same size and version, "
            "not read again; null for a local file"),
        col("ignored", "INTEGER", "records with nothing to count (an OTel event span of a call already stored)"),
    ), key=("path", "content_hash")),
    Table("rejects", "What could not be read, and why.", (
        col("file", "VARCHAR NOT NULL", "the log file"),
        col("line", "INTEGER NOT NULL", "the line (record); 0 for the whole file"),
        col("reason", "VARCHAR NOT NULL", "why it was rejected"),
        col("excerpt", "VARCHAR", "the start of the record"),
        col("rejected_at", "TIMESTAMP NOT NULL", "when"),
    )),
    Table("batch_parts", "Batch request and result lines, joined or waiting for their other half.", (
        col("provider", "VARCHAR NOT NULL", "openai | anthropic"),
        col("half", "VARCHAR NOT NULL", "request | result"),
        col("custom_id", "VARCHAR NOT NULL", "what joins the two halves, within one batch"),
        col("file", "VARCHAR NOT NULL", "the batch input or output file"),
        col("line", "INTEGER NOT NULL", "its line"),
        col("file_time", "TIMESTAMP", "the file's modification time (UTC): dates what has no time"),
        col("data", "VARCHAR NOT NULL", "the line, JSON"),
        col("joined", "BOOLEAN NOT NULL", "its other half has been read and the request built"),
    )),
    Table("prices", "List prices per model, day and service tier, USD per 1M tokens, from genai-prices.", (
        col("model", "VARCHAR NOT NULL", "the model as logged"),
        col("day", "DATE NOT NULL", "the day priced"),
        col("tier", "VARCHAR NOT NULL", "standard | batch | flex | priority"),
        col("input", "DOUBLE", "uncached input"),
        col("cached_input", "DOUBLE", "input read from the cache"),
        col("cache_write", "DOUBLE", "input written to the cache"),
        col("output", "DOUBLE", "output"),
        col("source", "VARCHAR NOT NULL", "'genai-prices <version> (<provider>/<model id>)', or why none"),
    ), key=("model", "day", "tier")),
    Table("meta", "Tool, tokenizer and price-data versions, and whether the final pass ran.", (
        col("key", "VARCHAR NOT NULL",
            "package name, finetune_prices, final_pass, or application (crossover's marker)"),
        col("value", "VARCHAR NOT NULL", "its version, or pending | done"),
    ), key=("key",)),
    Table("comparisons", "What `crossover compare` measured per template: a candidate model on its eval set.", (
        col("template_id", "VARCHAR NOT NULL", "the template; its latest compare replaces the one before"),
        col("compared_at", "TIMESTAMP NOT NULL", "when, UTC"),
        col("eval_set", "VARCHAR NOT NULL", "the eval.jsonl the calls were matched to"),
        col("logs", "VARCHAR NOT NULL", "the candidate's log paths, a JSON list"),
        col("models", "VARCHAR NOT NULL", "the candidate's models, most calls first"),
        col("output_kind", "VARCHAR NOT NULL", "the commonest production answer: label | json | tool_call | text"),
        col("eval_examples", "INTEGER NOT NULL", "examples in the eval set"),
        col("calls", "INTEGER NOT NULL", "calls read from the logs"),
        col("matched", "INTEGER NOT NULL", "calls matched to an example by their live turn, and scored"),
        col("unmatched_calls", "INTEGER NOT NULL", "calls whose live turn is no example's"),
        col("repeated_calls", "INTEGER NOT NULL", "further calls for an example already answered (the first counts)"),
        col("failed_calls", "INTEGER NOT NULL", "calls for an example that returned an error or no answer"),
        col("missing_examples", "INTEGER NOT NULL", "examples no successful call answered"),
        col("agreement", "DOUBLE", "the headline share for output_kind, as agreement_measure says"),
        col("agreement_measure", "VARCHAR NOT NULL", "exact label match | every field matches | word overlap F1 …"),
        col("decisive", "BOOLEAN NOT NULL", "false for free text: overlap is weak evidence"),
        col("cost_per_request", "DOUBLE", "USD: mean over the priced matched calls"),
        col("priced_calls", "INTEGER NOT NULL", "matched calls with a price"),
        col("price_sources", "VARCHAR NOT NULL", "where their prices came from, a JSON list"),
        col("by_kind", "JSON NOT NULL", "per kind: agreement, confusion table or per-field shares, length ratios"),
    ), key=("template_id",)),
    Table("comparison_calls", "Each call `crossover compare` read, how it was matched and scored, and its cost.", (
        col("template_id", "VARCHAR NOT NULL", "the template compared"),
        col("file", "VARCHAR NOT NULL", "the candidate's log file"),
        col("line", "INTEGER NOT NULL", "its line"),
        col("request_id", "VARCHAR", "the call's id, when logged"),
        col("model", "VARCHAR NOT NULL", "the model that answered"),
        col("status", "VARCHAR NOT NULL", "matched | unmatched | repeated | failed"),
        col("example", "INTEGER", "its example's line in eval.jsonl, from 0"),
        col("kind", "VARCHAR", "the kind of the production answer"),
        col("agree", "BOOLEAN", "same label, or every field the same; null for free text"),
        col("score", "DOUBLE", "1/0 for a label, share of fields for JSON, word F1 for text"),
        col("prompt_tokens", "INTEGER NOT NULL", "billed (reported, else counted)"),
        col("cached_tokens", "INTEGER NOT NULL", "reported cached, else 0"),
        col("output_tokens", "INTEGER NOT NULL", "billed (reported, else counted)"),
        col("cost_usd", "DOUBLE", "at its model's price on its day; null without one"),
    )),
    Table("_migrations", "The migrations applied, each once.", (
        col("name", "VARCHAR NOT NULL", "the migration (analyzer/storage/migrations.py)"),
        col("applied_at", "TIMESTAMP NOT NULL", "when"),
    ), key=("name",)),
)}

VIEWS = {v.name: v for v in (
    View("request_costs",
         "Each request with its billed tokens and what it cost at its model's list price on its day.", (
        col("billed_prompt_tokens", "INTEGER", "reported prompt tokens, else counted"),
        col("billed_cached_tokens", "INTEGER", "reported cached tokens, else 0"),
        col("billed_cache_write_tokens", "INTEGER", "reported cache writes, else 0"),
        col("billed_output_tokens", "INTEGER", "reported output tokens, else counted"),
        col("token_scale", "DOUBLE", "the model's calibration scale (model_calibration.scale)"),
        col("price_input", "DOUBLE", "prices.input of its model, day and tier"),
        col("price_cached_input", "DOUBLE", "prices.cached_input"),
        col("price_cache_write", "DOUBLE", "prices.cache_write"),
        col("price_output", "DOUBLE", "prices.output"),
        col("price_source", "VARCHAR", "prices.source"),
        col("cost_usd", "DOUBLE", "USD: billed tokens × the rates per 1M, cached and written input at their own"),
    ), base="requests"),
    View("model_calibration", "Counted against billed prompt tokens per model, and the scale that reconciles them.", (
        col("model", "VARCHAR", "the model"),
        col("encoding", "VARCHAR", "the tiktoken encoding its requests were counted with"),
        col("exact_tokenizer", "BOOLEAN", "false: counts are estimates"),
        col("requests", "BIGINT", "successful requests with usage, derived ones included"),
        col("counted", "HUGEINT", "prompt tokens counted, over the requests tokenized (as every figure below)"),
        col("reported", "HUGEINT", "prompt tokens billed, over the same requests"),
        col("exact_share", "DOUBLE", "share counted exactly"),
        col("median_error", "DOUBLE", "median (counted − billed) ÷ billed"),
        col("median_abs_error", "DOUBLE", "median of its absolute value"),
        col("p95_abs_error", "DOUBLE", "its 95th percentile"),
        col("fitted_on", "BIGINT", "requests billed within half to twice their count"),
        col("scale", "DOUBLE", "1 when exact, else their median billed ÷ counted"),
        col("derived", "BIGINT", "requests whose input was taken from the bill, left out of the figures"),
    )),
)}
