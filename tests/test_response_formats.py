"""A json_schema response format counts what OpenAI bills for it, on recorded traffic and by its rule.

The golden test takes every OpenAI request of the corpus (../shared/corpus, pydantic-ai VCR
cassettes) with a ``json_schema`` response format, Chat's ``response_format`` or Responses'
``text.format``, ingests each cassette as a user's log and sets the counted prompt against the
billed one. Skipped, with the reason, where the corpus folder is absent.
"""

from __future__ import annotations

import json
import statistics

import duckdb
import pytest

from analyzer import api, storage
from analyzer.tokenizing import Counter, render_response_format

from .conftest import CORPUS

ROOTS = ("pydantic-ai-cassettes/tests/models/cassettes", "pydantic-ai-providers/tests/models/cassettes")
OPENAI = "api.openai.com/"


def _schema_requests(tmp_path) -> list[tuple[str, int, int, bool]]:
    """(request id, counted, billed, strict) of every ingested OpenAI request with a json_schema format."""
    yaml = pytest.importorskip("yaml")
    strict_of = {}
    files = []
    for path in sorted(p for root in ROOTS for p in (CORPUS / root).rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if "json_schema" not in text or OPENAI not in text:
            continue
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        for interaction in data["interactions"]:
            interaction.setdefault("timestamp", "2026-10-01T12:00:00Z")
            body = interaction["request"].get("parsed_body") or {}
            fmt = body.get("response_format") or (body.get("text") or {}).get("format") or {}
            if OPENAI in interaction["request"]["uri"] and fmt.get("type") == "json_schema":
                answer = interaction["response"].get("parsed_body") or {}
                strict_of[answer.get("id")] = bool((fmt.get("json_schema") or fmt).get("strict"))
        target = tmp_path / f"{path.parent.name}-{path.stem}.json"
        target.write_text(json.dumps(data, default=str), encoding="utf-8")
        files.append(str(target))
    api.ingest(files)
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        rows = con.execute("SELECT request_id, prompt_tokens, reported_prompt_tokens FROM requests").fetchall()
    return [(rid, counted, billed, strict_of[rid]) for rid, counted, billed in rows if rid in strict_of]


def test_recorded_schema_requests_count_within_five_percent_of_the_bill(tmp_path):
    if not CORPUS.is_dir():
        pytest.skip(f"real-traffic corpus not found at {CORPUS} (only beside the project's own checkout)")
    rows = _schema_requests(tmp_path)
    errors = sorted(abs(counted - billed) / billed for _rid, counted, billed, _strict in rows)
    p95 = errors[round(0.95 * (len(errors) - 1))]
    print(f"{len(rows)} OpenAI requests with a json_schema format: {sum(e == 0 for e in errors)} exact, "
          f"median {statistics.median(errors):.1%}, p95 {p95:.1%}")
    # 5 distinct schemas (flat and union-typed), strict and not, Chat and Responses, gpt-4o and gpt-5.4-mini.
    assert len(rows) == 9 and {strict for *_, strict in rows} == {True, False}
    # Each first turn bills its count exactly; the two second turns of Responses tool loops are 2
    # tokens over (a function call and its output sent back as Responses items, not the schema).
    assert sum(e == 0 for e in errors) == 7 and p95 <= 0.05


def test_the_model_reads_the_schema_without_what_decoding_enforces():
    schema = {"type": "object", "additionalProperties": False, "required": ["required"],
              "properties": {"required": {"type": "string"},
                             "extra": {"type": "object", "additionalProperties": {"type": "integer"}}}}
    text = render_response_format({"type": "json_schema", "json_schema": {
        "name": "Answer", "description": "The reply", "schema": schema, "strict": True}})
    assert text == ('# Response Formats\n\n## Answer\n\n// The reply\n'
                    '{"type":"object","properties":{"required":{"type":"string"},'
                    '"extra":{"type":"object","additionalProperties":{"type":"integer"}}}}')
    assert render_response_format({"type": "json_object"}) == render_response_format(None) == ""


def test_a_schema_joining_other_text_costs_the_blank_line_between():
    counter = Counter("gpt-4o")
    fmt = {"type": "json_schema", "json_schema": {"name": "A", "schema": {"type": "object"}}}
    alone = counter.response_format(fmt, joins=False)
    assert alone == counter.text(render_response_format(fmt)) and counter.response_format(fmt) == alone + 1
    assert Counter("gemini-2.5-flash").response_format(fmt) == 0  # Gemini: the schema steers decoding only


def test_responses_tool_block_is_billed_less_on_gpt_4o_only():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    chat, responses = Counter("gpt-4o"), Counter("gpt-4o")
    assert chat.tools(tools, system_message=False) - responses.tools(tools, system_message=False, responses=True) == 6
    assert chat.tools(tools) - responses.tools(tools, responses=True) == 2
    assert Counter("gpt-5").tools(tools, responses=True) == Counter("gpt-5").tools(tools)
