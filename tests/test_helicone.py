"""Helicone export rows (formats.md §7), built field by field: no real export is public."""

from __future__ import annotations

import json

import duckdb

from analyzer import api, parsers
from analyzer.errors import BadRecord
from analyzer.models import RawRecord

from .conftest import write_jsonl

CHAT_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."},
                                                  {"role": "user", "content": "Hi"}]}
CHAT_RESPONSE = {"id": "chatcmpl-h1", "object": "chat.completion", "created": 1727346142, "model": "gpt-4o-mini-2024-07-18",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 19, "completion_tokens": 2, "total_tokens": 21}}
ANTHROPIC_BODY = {"model": "claude-sonnet-4-5", "max_tokens": 100, "system": "Be brief.",
                  "messages": [{"role": "user", "content": "Hi"}]}
ANTHROPIC_RESPONSE = {"id": "msg_01h", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                      "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn",
                      "usage": {"input_tokens": 3, "output_tokens": 2, "cache_read_input_tokens": 100,
                                "cache_creation_input_tokens": 10}}


def row(body, response, **extra):
    return {"request_id": "7f3c1a52-0000-4000-8000-000000000001", "request_created_at": "2026-10-03T09:15:00.123Z",
            "request_path": "/v1/chat/completions", "request_body": body, "response_status": 200,
            "response_body": response, "delay_ms": 812, "request_user_id": "u-42", "model": "gpt-4o-mini",
            "provider": "OPENAI", **extra}


def parse(data):
    fmt = parsers.detect(data)
    assert fmt is not None and fmt.name == "helicone"
    return list(fmt.parse(RawRecord("h.jsonl", 1, data), parsers.context()))


def test_openai_row_with_bodies_as_strings():
    [request] = parse(row(json.dumps(CHAT_BODY), json.dumps(CHAT_RESPONSE)))
    assert request.format == "helicone" and request.request_id == "chatcmpl-h1"
    assert request.model == "gpt-4o-mini-2024-07-18" and request.reported_prompt_tokens == 19
    assert request.timestamp.isoformat() == "2026-10-03T09:15:00.123000+00:00"
    assert request.latency_ms == 812 and request.user == "u-42"


def test_anthropic_row_keeps_anthropic_usage_arithmetic():
    [request] = parse(row(ANTHROPIC_BODY, ANTHROPIC_RESPONSE, provider="ANTHROPIC", request_path="/v1/messages"))
    assert request.model == "claude-sonnet-4-5-20250929"
    assert (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_cache_write_tokens) == (113, 100, 10)


def test_helicone_id_when_the_body_has_none_and_http_errors():
    response = {k: v for k, v in CHAT_RESPONSE.items() if k != "id"}
    [request] = parse(row(CHAT_BODY, response, response_status=429))
    assert request.request_id == "7f3c1a52-0000-4000-8000-000000000001" and request.status == "error"


def test_rows_without_bodies_are_rejected_with_the_reason():
    [item] = [i for i in _items(row({}, None))]
    assert isinstance(item, BadRecord) and "--include-body" in item.reason


def _items(data):
    fmt = parsers.get("helicone")
    try:
        return list(fmt.parse(RawRecord("h.jsonl", 1, data), parsers.context()))
    except BadRecord as exc:
        return [exc]


def test_not_claimed_by_other_formats_and_does_not_claim_theirs():
    assert not parsers.get("helicone").detect({"request": CHAT_BODY, "response": CHAT_RESPONSE}, parsers.context())
    assert not parsers.get("helicone").detect(CHAT_BODY, parsers.context())
    assert parsers.detect({"request": CHAT_BODY, "response": CHAT_RESPONSE}).name == "openai-chat"


def test_ingest_end_to_end(tmp_path):
    write_jsonl(tmp_path / "helicone.jsonl", [row(CHAT_BODY, CHAT_RESPONSE), row({}, None), "{cut"])
    [f] = api.ingest([tmp_path / "helicone.jsonl"]).files
    assert (f.records, f.stored, f.duplicates, f.rejected) == (3, 1, 0, 2) and f.formats == {"helicone"}
    with duckdb.connect(str(tmp_path / "crossover.duckdb"), read_only=True) as con:
        assert con.execute("SELECT format, model, reported_prompt_tokens, latency_ms FROM requests").fetchone() == (
            "helicone", "gpt-4o-mini-2024-07-18", 19, 812.0)
