"""The format registry and the OpenAI Chat parser: wrapper shapes, times, usage, golden corpus cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from analyzer import parsers
from analyzer.errors import BadRecord, UnknownFormat
from analyzer.models import RawRecord, Request
from analyzer.parsers.common import parse_time

from .conftest import chat_line

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
RESPONSE = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1727346142, "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22,
                      "prompt_tokens_details": {"cached_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0}}}


def parse_one(data) -> Request:
    fmt = parsers.detect(data)
    assert fmt is not None, "no format detected"
    items = list(fmt.parse(RawRecord("f.jsonl", 1, data), parsers.context()))
    assert len(items) == 1
    return items[0]


def test_registry_lists_builtins_and_refuses_unknown_names():
    names = [f.name for f in parsers.formats()]
    assert names == ["llm-logs", "vcr-cassette", "openai-batch", "anthropic-batch", "otel-genai", "helicone",
                     "openpipe", "litellm", "langfuse", "bedrock", "gemini", "anthropic-messages", "openai-responses",
                     "openai-chat", "openai-completions"]
    assert all(f.description for f in parsers.formats())
    with pytest.raises(UnknownFormat, match="known: llm-logs, vcr-cassette, openai-batch, anthropic-batch, otel-genai"):
        parsers.get("nope")


@pytest.mark.parametrize("wrap", [
    lambda req, resp: {"request": req, "response": resp, "timestamp": "2024-09-26T10:22:22Z"},
    lambda req, resp: {"req": json.dumps(req), "resp": json.dumps(resp), "ts": 1727346142},
    lambda req, resp: {"reqPayload": req, "respPayload": resp, "requestedAt": 1727346142000, "statusCode": 200},
    lambda req, resp: {"reqPayload": req, "respPayload": resp},  # payloads alone: the generic wrapper
    lambda req, resp: {"request_body": req, "response_body": resp, "logged_at": "2024-09-26 10:22:22"},
    lambda req, resp: {"request": {"method": "POST", "uri": "https://api.openai.com/v1/chat/completions",
                                   "body": json.dumps(req)},
                       "response": {"status": {"code": 200}, "headers": {"date": ["Thu, 26 Sep 2024 10:22:22 GMT"]},
                                    "body": {"string": json.dumps(resp)}}},
])
def test_wrapper_shapes(wrap):
    request = parse_one(wrap({"model": "gpt-4o", "messages": MESSAGES}, RESPONSE))
    assert request.model == "gpt-4o-2024-08-06" and request.requested_model == "gpt-4o"
    assert request.request_id == "chatcmpl-1"
    assert request.reported_prompt_tokens == 20 and request.reported_output_tokens == 2
    assert request.output == {"role": "assistant", "content": "Hello"}
    assert request.timestamp.date().isoformat() == "2024-09-26"


def test_time_falls_back_to_created_and_id_to_content_hash():
    response = {k: v for k, v in RESPONSE.items() if k != "id"}
    request = parse_one({"request": {"model": "gpt-4o", "messages": MESSAGES}, "response": response})
    assert request.timestamp == datetime.fromtimestamp(1727346142, tz=UTC)
    again = parse_one({"request": {"model": "gpt-4o", "messages": MESSAGES}, "response": response})
    assert request.request_id.startswith("sha256:") and request.request_id == again.request_id


def test_error_response_is_a_failed_request():
    request = parse_one({"request": {"model": "gpt-4o", "messages": MESSAGES}, "timestamp": 1727346142,
                         "response": {"error": {"message": "Rate limit", "type": "requests"}}})
    assert request.status == "error" and request.error == "Rate limit" and request.output is None


def test_legacy_functions_and_response_format_are_kept():
    body = {"model": "gpt-4", "messages": MESSAGES, "functions": [{"name": "f", "parameters": {}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}}
    request = parse_one({"request": body, "response": RESPONSE})
    assert request.tools == [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    assert request.response_format["json_schema"]["name"] == "x"


@pytest.mark.parametrize("bad", [
    {"request": {"model": "gpt-4o", "messages": "not a list"}},
    {"request": {"model": "gpt-4o", "messages": [{"content": "no role"}]}},
    {"request": {"messages": MESSAGES}},
])
def test_bad_requests_raise_bad_record(bad):
    fmt = parsers.get("openai-chat")
    with pytest.raises(BadRecord):
        list(fmt.parse(RawRecord("f", 1, bad), parsers.context()))


def test_sample_rate_and_session():
    line = chat_line(messages=MESSAGES, sample_rate=0.02, metadata={"session_id": "s1"}, user="u1")
    request = parse_one(line)
    assert request.sample_rate == 0.02 and request.session_id == "s1" and request.user == "u1"
    with pytest.raises(BadRecord, match="sample_rate"):
        parse_one({**line, "sample_rate": 3})


@pytest.mark.parametrize(("value", "expected"), [
    (1727346142, "2024-09-26T10:22:22"), (1727346142123, "2024-09-26T10:22:22.123000"),
    (1727346142123456789, "2024-09-26T10:22:22.123457"), ("1727346142", "2024-09-26T10:22:22"),
    ("2024-09-26T10:22:22Z", "2024-09-26T10:22:22"), ("2024-09-26T12:22:22+02:00", "2024-09-26T10:22:22"),
    ("2024-09-26 10:22:22.1234567", "2024-09-26T10:22:22.123456"), ("2024-09-26T10:22:22", "2024-09-26T10:22:22"),
    ("Thu, 26 Sep 2024 10:22:22 GMT", "2024-09-26T10:22:22"),
])
def test_times(value, expected):
    assert parse_time(value).replace(tzinfo=None).isoformat() == expected


def test_unparseable_times_are_none():
    assert parse_time("yesterday") is None and parse_time(None) is None and parse_time(True) is None


def test_vcr_cassette_yields_each_interaction():
    chat = {"request": {"method": "POST", "uri": "https://api.openai.com/v1/chat/completions",
                        "parsed_body": {"model": "gpt-4o", "messages": MESSAGES}},
            "response": {"status": {"code": 200}, "parsed_body": RESPONSE}}
    other = {"request": {"method": "GET", "uri": "https://example.com/image.png", "body": None},
             "response": {"status": {"code": 200}, "body": {"string": "binary"}}}
    items = list(parsers.get("vcr-cassette").parse(RawRecord("c.json", 1, {"interactions": [chat, other]}), parsers.context()))
    assert isinstance(items[0], Request) and items[0].request_id == "chatcmpl-1" and items[0].format == "openai-chat"
    assert isinstance(items[1], BadRecord) and "interaction 2" in items[1].reason


# Golden cases on real recorded traffic -----------------------------------------------------------

def _cassette_chat_pairs(corpus):
    yaml = pytest.importorskip("yaml")
    for path in sorted((corpus / "pydantic-ai-cassettes/tests/models/cassettes/test_openai").glob("*.yaml")):
        for number, interaction in enumerate(yaml.safe_load(path.read_text())["interactions"], start=1):
            if interaction["request"].get("uri", "").endswith("/chat/completions"):
                yield path.name, number, interaction


def test_golden_openai_chat_cassettes(corpus):
    """Every recorded chat interaction parses, and its fields are the ones recorded."""
    seen = 0
    for name, number, interaction in _cassette_chat_pairs(corpus):
        body = interaction["request"]["parsed_body"]
        response = interaction["response"].get("parsed_body")
        fmt = parsers.detect(interaction)
        assert fmt is not None and fmt.name == "openai-chat", (name, number)
        [request] = list(fmt.parse(RawRecord(name, number, interaction), parsers.context()))
        assert request.messages == body["messages"]
        assert request.requested_model == body["model"]
        if isinstance(response, dict) and "usage" in response:
            assert request.model == response["model"]
            assert request.request_id == response["id"]
            assert request.reported_prompt_tokens == response["usage"]["prompt_tokens"]
            usage = response["usage"]
            # Gemini's OpenAI-compatible endpoint counts its thinking only in total_tokens.
            hidden = max(0, (usage.get("total_tokens") or 0) - usage["prompt_tokens"] - usage["completion_tokens"])
            assert request.reported_output_tokens == usage["completion_tokens"] + hidden
            cached = (response["usage"].get("prompt_tokens_details") or {}).get("cached_tokens")
            assert request.reported_cached_tokens == cached
        seen += 1
    assert seen >= 50, f"only {seen} chat interactions found in the corpus"


@pytest.mark.parametrize(("zone", "expected"), [
    ("Europe/Paris", "2024-09-26T08:22:22"), ("+02:00", "2024-09-26T08:22:22"), ("-0500", "2024-09-26T15:22:22"),
    ("UTC", "2024-09-26T10:22:22"),
])
def test_naive_times_in_a_chosen_zone(zone, expected):
    from analyzer.parsers import common

    ctx = parsers.context(common.zone_named(zone))
    assert ctx.time("2024-09-26 10:22:22").replace(tzinfo=None).isoformat() == expected
    assert ctx.time("2024-09-26T10:22:22Z").replace(tzinfo=None).isoformat() == "2024-09-26T10:22:22"
    assert ctx.time(1727346142).replace(tzinfo=None).isoformat() == "2024-09-26T10:22:22"
    # The zone is the context's, not the process's: a default read still takes naive times as UTC.
    assert parse_time("2024-09-26 10:22:22").replace(tzinfo=None).isoformat() == "2024-09-26T10:22:22"


def test_mistral_cache_reads_and_gemini_hidden_thinking():
    mistral = {**RESPONSE, "usage": {"prompt_tokens": 70, "completion_tokens": 12, "total_tokens": 82, "num_cached_tokens": 69}}
    request = parse_one({"request": {"model": "mistral-large-latest", "messages": MESSAGES}, "response": mistral})
    assert request.reported_cached_tokens == 69 and request.reported_output_tokens == 12
    gemini = {**RESPONSE, "usage": {"prompt_tokens": 35, "completion_tokens": 12, "total_tokens": 109}}
    request = parse_one({"request": {"model": "gemini-2.5-pro", "messages": MESSAGES}, "response": gemini})
    assert (request.reported_output_tokens, request.reported_reasoning_tokens) == (74, 62)
