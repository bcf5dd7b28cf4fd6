"""Streamed OpenAI calls (Chat chunks, Responses events): reassembled, then read like plain ones.

Hand-written cases follow formats.md §1 (chunks; usage only in an extra final chunk with empty
choices), §2 (Responses events; ``response.completed`` carries the final object) and §9 (a VCR
cassette keeps the stream as SSE text); golden cases check every streamed body in the real cassettes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pytest

from analyzer import api, parsers
from analyzer.models import RawRecord, Request
from analyzer.parsers import anthropic_messages, openai_chat, openai_responses, streams
from analyzer.segmenting import segment
from analyzer.tokenizing import Counter

from .conftest import write_jsonl

CHAT_BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Capital of France?"}],
             "stream": True, "stream_options": {"include_usage": True}}
USAGE = {"prompt_tokens": 13, "completion_tokens": 3, "total_tokens": 16,
         "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0},
         "completion_tokens_details": {"reasoning_tokens": 1}}
RESP_BODY = {"model": "gpt-4o", "instructions": "Be brief.", "input": "Hi", "stream": True}
RESP_USAGE = {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2,
              "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 22}


def chunk(delta=None, *, finish=None, usage=None, choices=None, index=0):
    """One ``chat.completion.chunk`` as OpenAI streams it (usage null except in the final one)."""
    if choices is None:
        choices = [{"index": index, "delta": delta or {}, "finish_reason": finish}]
    return {"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1727346142,
            "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_1", "choices": choices, "usage": usage}


CHUNKS = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Par"}), chunk({"content": "is."}),
          chunk(finish="stop"), chunk(choices=[], usage=USAGE)]


def sse(events, named=False) -> str:
    """Events as server-sent-event text, as a VCR cassette records the body (formats.md §9)."""
    blocks = [(f"event: {e['type']}\n" if named else "") + f"data: {json.dumps(e)}\n\n" for e in events]
    return "".join(blocks) + ("" if named else "data: [DONE]\n\n")


def vcr(body, text, url="https://api.openai.com/v1/chat/completions"):
    return {"request": {"method": "POST", "uri": url, "body": json.dumps(body)},
            "response": {"status": {"code": 200}, "headers": {"openai-processing-ms": ["250"]},
                         "body": {"string": text}}}


def parse_chat(data) -> Request:
    assert openai_chat.detect(data, parsers.context())
    [request] = openai_chat.parse(RawRecord("f.jsonl", 1, data), parsers.context())
    return request


def parse_responses(data) -> Request:
    assert openai_responses.detect(data, parsers.context()) and not openai_chat.detect(data, parsers.context())
    [request] = openai_responses.parse(RawRecord("f.jsonl", 1, data), parsers.context())
    return request


# --- Chat Completions chunks --------------------------------------------------------------------

@pytest.mark.parametrize("wrap", [
    lambda body, chunks: {"request": body, "response": chunks},                      # list of chunk objects
    lambda body, chunks: {"req": json.dumps(body), "resp": json.dumps(chunks)},      # the list as a JSON string
    lambda body, chunks: {"request": body, "response": sse(chunks)},                 # SSE text
    lambda body, chunks: vcr(body, sse(chunks)),                                     # VCR body.string
])
def test_chunk_shapes_reassemble_into_one_completion(wrap):
    request = parse_chat(wrap(CHAT_BODY, CHUNKS))
    assert request.output == {"role": "assistant", "content": "Paris."}
    assert request.model == "gpt-4o-mini-2024-07-18" and request.requested_model == "gpt-4o-mini"
    assert request.request_id == "chatcmpl-9" and request.status == "ok"
    assert request.timestamp == datetime.fromtimestamp(1727346142, tz=UTC)  # the chunks' `created`
    assert request.raw_usage == USAGE
    assert (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_output_tokens,
            request.reported_reasoning_tokens) == (13, 4, 3, 1)
    assert request.messages == CHAT_BODY["messages"]


def test_wrapper_time_and_vcr_latency_still_apply():
    request = parse_chat({"request": CHAT_BODY, "response": CHUNKS, "timestamp": "2026-10-01T10:00:00Z"})
    assert request.timestamp == datetime(2026, 10, 1, 10, tzinfo=UTC)
    assert parse_chat(vcr(CHAT_BODY, sse(CHUNKS))).latency_ms == 250


def test_tool_call_deltas_merge_by_index_across_chunks():
    def call(index, **fields):
        return {"tool_calls": [{"index": index, **fields}]}

    chunks = [
        chunk({"role": "assistant", "content": None,
               **call(0, id="call_a", type="function", function={"name": "get_capital", "arguments": ""})}),
        chunk(call(0, function={"arguments": '{"coun'})),
        chunk(call(1, id="call_b", type="function", function={"name": "get_time", "arguments": '{"tz'})),
        chunk(call(0, function={"arguments": 'try": "UK"}'})),   # parallel calls interleave
        chunk(call(1, function={"arguments": '": "GMT"}'})),
        chunk(finish="tool_calls"), chunk(choices=[], usage=USAGE),
    ]
    request = parse_chat({"request": CHAT_BODY, "response": chunks})
    assert request.output == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "get_capital", "arguments": '{"country": "UK"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": '{"tz": "GMT"}'}},
    ]}
    assert segment(request, Counter(request.model)).output_kind == "tool_call"


def test_stream_without_usage_keeps_output_and_leaves_usage_to_the_count():
    # No stream_options.include_usage: no final usage chunk (formats.md §1).
    body = {k: v for k, v in CHAT_BODY.items() if k != "stream_options"}
    request = parse_chat({"request": body, "response": sse(CHUNKS[:-1])})
    assert request.output == {"role": "assistant", "content": "Paris."}
    assert request.raw_usage is None and request.reported_prompt_tokens is None
    assert request.reported_output_tokens is None and request.reported_cached_tokens is None
    assert segment(request, Counter(request.model)).output > 0  # the counted output stands in


def test_usage_is_the_final_chunks_even_when_a_later_chunk_says_null():
    # OpenAI's moderation extension sends one more chunk after the usage one, with usage null.
    request = parse_chat({"request": CHAT_BODY, "response": [*CHUNKS, chunk(choices=[], usage=None)]})
    assert request.raw_usage == USAGE


def test_several_choices_refusal_and_legacy_function_call():
    chunks = [chunk({"role": "assistant", "content": "A"}, index=0),
              chunk({"role": "assistant", "content": "B"}, index=1), chunk({"refusal": "I can't"}, index=2),
              chunk({"function_call": {"name": "f", "arguments": "{}"}}, index=3)]
    completion = streams.chat_completion(chunks)
    assert [c["message"].get("content") for c in completion["choices"]] == ["A", "B", None, None]
    assert completion["choices"][2]["message"]["refusal"] == "I can't"
    assert completion["choices"][3]["message"]["function_call"] == {"name": "f", "arguments": "{}"}
    assert parse_chat({"request": CHAT_BODY, "response": chunks}).output == {"role": "assistant", "content": "A"}


def test_a_stream_cut_by_an_error_is_failed_with_its_output_kept():
    chunks = [*CHUNKS[:2], {"error": {"message": "server overloaded", "type": "server_error"}}]
    request = parse_chat({"request": CHAT_BODY, "response": sse(chunks)})
    assert request.status == "error" and request.error == "server overloaded"
    assert request.output == {"role": "assistant", "content": "Par"}


def test_plain_completions_and_error_bodies_read_as_before():
    plain = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1727346142, "model": "gpt-4o",
             "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}]}
    assert streams.chat_completion(plain) is None
    assert parse_chat({"request": CHAT_BODY, "response": plain}).output == {"role": "assistant", "content": "Hi"}
    failed = parse_chat({"request": CHAT_BODY, "response": {"error": {"message": "bad key"}}})
    assert failed.status == "error" and failed.error == "bad key" and failed.output is None


@pytest.mark.parametrize("body", [None, "plain text answer", "", [], [1, 2], [{"foo": 1}], {"choices": []},
                                  "data: [DONE]\n\n", ": keep-alive\n\n"])
def test_what_is_no_stream_is_left_alone(body):
    assert streams.chat_completion(body) is None and streams.response_object(body) is None


def test_sse_text_is_split_per_spec():
    # Data over two lines; a comment line; CRLF; no blank line between the last events.
    text = (": OPENROUTER PROCESSING\n\nevent: response.created\ndata: {\"response\": {\"id\": \"r\"},\n"
            "data: \"n\": 1}\n\ndata: {\"type\": \"x\"}\r\ndata: [DONE]")
    assert streams.events(text) == [{"type": "response.created", "response": {"id": "r"}, "n": 1}, {"type": "x"}]


# --- Responses events -----------------------------------------------------------------------------

def _final(text="Hello", usage=RESP_USAGE, status="completed"):
    return {"id": "resp_1", "object": "response", "created_at": 1759223041, "status": status,
            "model": "gpt-4o-2024-08-06", "usage": usage,
            "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}] if text else []}


def _events(final=None):
    start = {**_final(text=None, usage=None, status="in_progress")}
    item = {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}
    events = [{"type": "response.created", "response": start, "sequence_number": 0},
              {"type": "response.output_item.added", "output_index": 0, "item": item},
              {"type": "response.content_part.added", "output_index": 0, "content_index": 0,
               "part": {"type": "output_text", "text": ""}},
              {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Hel"},
              {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "lo"}]
    return events + ([{"type": "response.completed", "response": final}] if final else [])


@pytest.mark.parametrize("wrap", [
    lambda events: {"request": RESP_BODY, "response": events},
    lambda events: {"request": RESP_BODY, "response": sse(events, named=True)},
    lambda events: vcr(RESP_BODY, sse(events, named=True), url="https://api.openai.com/v1/responses"),
])
def test_responses_stream_is_read_through_its_completed_object(wrap):
    request = parse_responses(wrap(_events(final=_final())))
    assert request.output == {"role": "assistant", "content": "Hello"}
    assert request.model == "gpt-4o-2024-08-06" and request.request_id == "resp_1"
    assert request.raw_usage == RESP_USAGE and request.reported_prompt_tokens == 20
    assert request.reported_output_tokens == 2 and request.timestamp == datetime.fromtimestamp(1759223041, tz=UTC)
    assert request.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


def test_responses_stream_cut_before_completed_is_rebuilt_from_its_deltas_without_usage():
    call = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "lookup", "arguments": ""}
    events = [*_events(), {"type": "response.output_item.added", "output_index": 1, "item": call},
              {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '{"q": '},
              {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '"x"}'}]
    request = parse_responses({"request": RESP_BODY, "response": events})
    assert request.output == {"role": "assistant", "content": "Hello", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}]}
    assert request.raw_usage is None and request.reported_prompt_tokens is None and request.status == "ok"
    assert events[1]["item"]["content"] == []  # the logged events are not changed


def test_responses_stream_failures():
    failed = parse_responses({"request": RESP_BODY, "response": [
        *_events(), {"type": "response.failed", "response": {**_final(text=None, usage=None, status="failed"),
                                                             "error": {"code": "server_error", "message": "boom"}}}]})
    assert failed.status == "error" and failed.error == "boom"
    assert failed.output == {"role": "assistant", "content": "Hello"}  # what streamed before it failed
    errored = parse_responses({"request": RESP_BODY, "response": sse(
        [*_events(), {"type": "error", "code": "rate_limit_exceeded", "message": "slow down"}], named=True)})
    assert errored.status == "error" and errored.error == "slow down"


def test_instructions_only_body_is_confirmed_by_a_responses_stream():
    body = {"model": "gpt-4o", "instructions": "Say hi."}
    assert parse_responses({"request": body, "response": _events(final=_final())}).output["content"] == "Hello"
    assert not openai_responses.detect({"request": body, "response": CHUNKS}, parsers.context())


def test_detection_routes_streams_to_their_format_and_no_other():
    chat = [{"request": CHAT_BODY, "response": CHUNKS}, {"request": CHAT_BODY, "response": sse(CHUNKS)},
            vcr(CHAT_BODY, sse(CHUNKS))]
    responses = [{"request": RESP_BODY, "response": _events(_final())},
                 vcr(RESP_BODY, sse(_events(_final()), named=True), url="https://api.openai.com/v1/responses")]
    for record in chat:
        assert parsers.detect(record).name == "openai-chat"
        assert not openai_responses.detect(record, parsers.context()) and not anthropic_messages.detect(record, parsers.context())
    for record in responses:
        assert parsers.detect(record).name == "openai-responses"
        assert not openai_chat.detect(record, parsers.context()) and not anthropic_messages.detect(record, parsers.context())


def test_streamed_records_ingest_with_usage(tmp_path):
    path = write_jsonl(tmp_path / "logs" / "streams.jsonl", [
        {"request": CHAT_BODY, "response": CHUNKS},
        {"request": CHAT_BODY, "response": sse(CHUNKS[:-1]), "timestamp": "2026-10-01T10:00:00Z", "id": "x"},
        {"request": RESP_BODY, "response": sse(_events(_final()), named=True)},
    ])
    result = api.ingest([str(path)], db=str(tmp_path / "x.duckdb"))
    assert result.total("records") == result.total("stored") + result.total("duplicates") + result.total("rejected")
    with duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT format, model, reported_prompt_tokens, reported_output_tokens, output_tokens "
                           "FROM requests ORDER BY line").fetchall()
    # The second chat record has no usage chunk and the same id: a duplicate of the first.
    assert rows[0][:4] == ("openai-chat", "gpt-4o-mini-2024-07-18", 13, 3) and rows[0][4] > 0
    assert rows[-1][:4] == ("openai-responses", "gpt-4o-2024-08-06", 20, 2)


# --- golden: every streamed body in the real cassettes ------------------------------------------

def _streamed(corpus, folder):
    yaml = pytest.importorskip("yaml")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted((corpus / "pydantic-ai-cassettes/tests/models/cassettes" / folder).glob("*.yaml")):
        cassette = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        for number, interaction in enumerate(cassette["interactions"]):
            body = (interaction["response"].get("body") or {}) if "parsed_body" not in interaction["response"] else {}
            text = body.get("string") if isinstance(body, dict) else None
            if isinstance(text, str) and "data:" in text and interaction["request"].get("method") == "POST":
                yield f"{path.name}#{number}", interaction, [json.loads(line[5:]) for line in text.splitlines()
                                                            if line.startswith("data: {")]


def test_real_streamed_chat_completions(corpus):
    seen = 0
    for name, interaction, chunks in (s for folder in ("test_openai", "test_openai_responses")
                                      for s in _streamed(corpus, folder)):
        if not interaction["request"]["uri"].endswith("/chat/completions"):
            continue
        assert parsers.detect(interaction).name == "openai-chat", name
        request = parse_chat(interaction)
        usage = [c["usage"] for c in chunks if c.get("usage")]
        assert request.model == chunks[0]["model"] and request.request_id == chunks[0]["id"], name
        assert request.output["content"] or request.output.get("tool_calls"), name
        assert request.raw_usage == (usage[-1] if usage else None), name
        if usage:
            assert request.reported_prompt_tokens == usage[-1]["prompt_tokens"], name
            assert request.reported_output_tokens == usage[-1]["completion_tokens"], name
        assert request.timestamp == datetime.fromtimestamp(chunks[0]["created"], tz=UTC), name
        seen += 1
    assert seen >= 3, f"only {seen} streamed chat completions in the corpus"  # 3 recorded


def test_real_streamed_responses(corpus):
    seen = 0
    for name, interaction, events in (s for folder in ("test_openai", "test_openai_responses")
                                      for s in _streamed(corpus, folder)):
        if not interaction["request"]["uri"].endswith("/responses"):
            continue
        assert parsers.detect(interaction).name == "openai-responses", name
        request = parse_responses(interaction)
        [final] = [e["response"] for e in events if e.get("type") == "response.completed"]
        assert request.model == final["model"] and request.request_id == final["id"], name
        assert request.output["content"] or request.output.get("tool_calls"), name
        assert request.raw_usage == final["usage"], name
        assert request.reported_prompt_tokens == final["usage"]["input_tokens"], name
        assert request.reported_output_tokens == final["usage"]["output_tokens"], name
        seen += 1
    assert seen >= 22, f"only {seen} streamed Responses calls in the corpus"  # 20 + OpenRouter's + one in test_openai
