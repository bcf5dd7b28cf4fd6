"""One directory mixing every format (batch files and an llm logs.db too), read without flags, end to end."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import duckdb

from analyzer import api, storage

from .conftest import write_jsonl
from .test_llm_logs import make_db, row

MSGS = [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Colour of the sky?"}]
CHAT_RESPONSE = {"id": "chatcmpl-mix1", "object": "chat.completion", "created": 1790000000, "model": "gpt-4o-2024-08-06",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "Blue"}, "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 26, "completion_tokens": 1, "total_tokens": 27}}

RECORDS = {
    "openai-chat": {"timestamp": "2026-10-02T08:00:00Z", "request": {"model": "gpt-4o", "messages": MSGS},
                    "response": CHAT_RESPONSE},
    "openai-responses": {"timestamp": "2026-10-02T09:00:00Z",
                         "request": {"model": "gpt-4.1", "instructions": "Answer in one word.", "input": "Colour of grass?"},
                         "response": {"id": "resp_mix2", "object": "response", "created_at": 1790000100.0,
                                      "status": "completed", "model": "gpt-4.1-2025-04-14",
                                      "output": [{"type": "message", "role": "assistant",
                                                  "content": [{"type": "output_text", "text": "Green"}]}],
                                      "usage": {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 0},
                                                "output_tokens": 1, "output_tokens_details": {"reasoning_tokens": 0},
                                                "total_tokens": 21}}},
    "anthropic-messages": {"timestamp": "2026-10-02T10:00:00Z",
                           "request": {"model": "claude-sonnet-4-5", "max_tokens": 10, "system": "Answer in one word.",
                                       "messages": [{"role": "user", "content": "Colour of snow?"}]},
                           "response": {"id": "msg_mix3", "type": "message", "role": "assistant",
                                        "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": "White"}],
                                        "stop_reason": "end_turn",
                                        "usage": {"input_tokens": 5, "cache_read_input_tokens": 1000,
                                                  "cache_creation_input_tokens": 20, "output_tokens": 2}}},
    "litellm": {"id": "chatcmpl-mix4", "call_type": "acompletion", "status": "success", "custom_llm_provider": "openai",
                "model": "gpt-4o-mini", "startTime": "2026-10-02 11:00:00.000000", "endTime": "2026-10-02 11:00:00.500000",
                "messages": MSGS, "model_parameters": {}, "response_cost": 0.00001, "prompt_tokens": 26,
                "completion_tokens": 1, "total_tokens": 27,
                "response": {**CHAT_RESPONSE, "id": "chatcmpl-mix4", "model": "gpt-4o-mini-2024-07-18"}},
    "langfuse": {"id": "obs-mix5", "traceId": "trace-5", "type": "GENERATION", "startTime": "2026-10-02T12:00:00.000Z",
                 "endTime": "2026-10-02T12:00:01.000Z", "model": "gpt-4o-mini", "input": json.dumps(MSGS),
                 "output": json.dumps({"role": "assistant", "content": "Blue"}),
                 "usageDetails": {"input": 16, "input_cached_tokens": 10, "output": 1, "total": 27}, "level": "DEFAULT"},
    "otel-genai": {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "x"}, "spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat gpt-4o",
        "startTimeUnixNano": "1790053200000000000", "endTimeUnixNano": "1790053200800000000",
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
            {"key": "gen_ai.response.id", "value": {"stringValue": "chatcmpl-mix6"}},
            {"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Colour of the sky?"}]}])}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "14"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "1"}}]}]}]}]},
    "helicone": {"request_id": "0b7c9d4e-1111-4000-8000-000000000007", "request_created_at": "2026-10-02T14:00:00Z",
                 "request_path": "/v1/chat/completions", "request_body": {"model": "gpt-4o", "messages": MSGS},
                 "response_status": 200, "response_body": {**CHAT_RESPONSE, "id": "chatcmpl-mix7"}, "delay_ms": 400},
    "openpipe": {"requestedAt": 1790006400000, "reqPayload": {"model": "gpt-4o", "messages": MSGS},
                 "respPayload": {**CHAT_RESPONSE, "id": "chatcmpl-mix8"}, "statusCode": 200, "cacheHit": False,
                 "durationMs": 300},
    "gemini": {"timestamp": "2026-10-02T15:00:00Z",
               "request": {"model": "gemini-2.5-flash", "contents": "Colour of the sky?",
                           "config": {"system_instruction": "Answer in one word."}},
               "response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "Blue"}]}}],
                            "modelVersion": "gemini-2.5-flash", "responseId": "gem-mix13",
                            "usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": 1,
                                              "thoughtsTokenCount": 20, "totalTokenCount": 32}}},
    "bedrock": {"timestamp": "2026-10-02T17:00:00Z", "request_id": "bdrk-mix14",
                "request": {"modelId": "us.amazon.nova-micro-v1:0", "system": [{"text": "Answer in one word."}],
                            "messages": [{"role": "user", "content": [{"text": "Colour of the sky?"}]}]},
                "response": {"output": {"message": {"role": "assistant", "content": [{"text": "Blue"}]}},
                             "stopReason": "end_turn",
                             "usage": {"inputTokens": 12, "outputTokens": 1, "cacheReadInputTokens": 0}}},
    "openai-completions": {"timestamp": "2026-10-02T18:00:00Z",
                           "request": {"model": "gpt-3.5-turbo-instruct", "prompt": "Colour of the sky in one word:"},
                           "response": {"id": "cmpl-mix15", "object": "text_completion", "model": "gpt-3.5-turbo-instruct",
                                        "choices": [{"index": 0, "text": " Blue"}],
                                        "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9}}},
}
# Batch lines: each request line and its result line in the same file here, in no particular order.
BATCH_LINES = [
    {"custom_id": "mix-10", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o", "messages": MSGS}},
    {"custom_id": "mix-11", "result": {"type": "succeeded", "message": {
        **RECORDS["anthropic-messages"]["response"], "id": "msg_mix11"}}},
    {"id": "batch_req_10", "custom_id": "mix-10", "error": None, "response": {"status_code": 200, "body": {
        **CHAT_RESPONSE, "id": "chatcmpl-mix10", "created": 1790100000}}},
    {"custom_id": "mix-11", "params": RECORDS["anthropic-messages"]["request"]},
]
CASSETTE = {"interactions": [{
    "request": {"method": "POST", "uri": "https://api.openai.com/v1/chat/completions",
                "body": json.dumps({"model": "gpt-4o", "messages": MSGS})},
    "response": {"status": {"code": 200, "message": "OK"}, "headers": {"date": ["Fri, 02 Oct 2026 16:00:00 GMT"]},
                 "body": {"string": json.dumps({**CHAT_RESPONSE, "id": "chatcmpl-mix9"})}}}]}

# format: (request id, model, UTC time, billed prompt tokens, cached)
EXPECTED = {
    "openai-chat": ("chatcmpl-mix1", "gpt-4o-2024-08-06", "2026-10-02 08:00:00", 26, None),
    "openai-responses": ("resp_mix2", "gpt-4.1-2025-04-14", "2026-10-02 09:00:00", 20, 0),
    "anthropic-messages": ("msg_mix3", "claude-sonnet-4-5-20250929", "2026-10-02 10:00:00", 1025, 1000),
    "litellm": ("chatcmpl-mix4", "gpt-4o-mini-2024-07-18", "2026-10-02 11:00:00", 26, None),
    "langfuse": ("obs-mix5", "gpt-4o-mini", "2026-10-02 12:00:00", 26, 10),
    "otel-genai": ("chatcmpl-mix6", "gpt-4o", "2026-09-22 05:00:00", 14, None),
    "helicone": ("chatcmpl-mix7", "gpt-4o-2024-08-06", "2026-10-02 14:00:00", 26, None),
    "openpipe": ("chatcmpl-mix8", "gpt-4o-2024-08-06", "2026-09-21 16:00:00", 26, None),
    # The response's own `created` is the provider's time; the HTTP date header is only a fallback.
    "vcr-cassette": ("chatcmpl-mix9", "gpt-4o-2024-08-06", "2026-09-21 14:13:20", 26, None),
    "openai-batch": ("chatcmpl-mix10", "gpt-4o-2024-08-06", "2026-09-22 18:00:00", 26, None),
    # Anthropic batch results carry no time: the file's modification time dates them.
    "anthropic-batch": ("msg_mix11", "claude-sonnet-4-5-20250929", "2026-10-03 00:00:00", 1025, 1000),
    "gemini": ("gem-mix13", "gemini-2.5-flash", "2026-10-02 15:00:00", 11, None),
    "bedrock": ("bdrk-mix14", "us.amazon.nova-micro-v1:0", "2026-10-02 17:00:00", 12, 0),
    "openai-completions": ("cmpl-mix15", "gpt-3.5-turbo-instruct", "2026-10-02 18:00:00", 8, None),
    "llm-logs": ("llm:01mix12", "gpt-4o-mini", "2026-10-01 09:00:00", 26, None),
}


def test_a_directory_mixing_every_format(tmp_path):
    logs = tmp_path / "logs"
    write_jsonl(logs / "mixed.jsonl", [*RECORDS.values(), *BATCH_LINES, "{half a line", {"event": "heartbeat"}])
    modified = datetime(2026, 10, 3, tzinfo=UTC).timestamp()
    os.utime(logs / "mixed.jsonl", (modified, modified))
    write_jsonl(logs / "more" / "again.jsonl.gz", [RECORDS["openai-chat"]], gz=True)  # the same call, logged twice
    (logs / "more" / "cassette.json").write_text(json.dumps(CASSETTE, indent=2))
    make_db(logs / "llm" / "logs.db", [row("01mix12", "Colour of the sky?", system="Answer in one word.", response="Blue",
                                           input_tokens=26, output_tokens=1)])
    result = api.ingest([logs])
    for f in result.files:
        assert f.records == f.stored + f.duplicates + f.rejected + f.pending
    # Each batch request is two lines: one stored, the other its duplicate.
    assert (result.total("records"), result.total("stored"), result.total("duplicates"), result.total("rejected"),
            result.total("pending")) == (20, 15, 3, 2, 0)
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute("""
            SELECT CASE WHEN file LIKE '%cassette.json' THEN 'vcr-cassette' ELSE format END, request_id, model,
                   strftime(ts, '%Y-%m-%d %H:%M:%S'), reported_prompt_tokens, reported_cached_tokens,
                   prompt_tokens = system_tokens + fewshot_tokens + tools_tokens + history_tokens + input_tokens
            FROM requests""").fetchall()}
    assert {name: row[:5] for name, row in rows.items()} == EXPECTED
    assert all(row[5] for row in rows.values())  # segments add up to the counted prompt, every format
    assert api.ingest([logs]).total("records") == 0  # a second run adds nothing


def test_a_chat_record_first_does_not_make_the_next_ones_chat(tmp_path):
    order = ["openai-chat", "anthropic-messages", "openai-chat", "litellm", "openai-chat", "helicone", "openpipe"]
    records = [RECORDS[name] for name in order]
    records[2] = {**records[2], "response": {**CHAT_RESPONSE, "id": "chatcmpl-other"}}
    records[4] = {**records[4], "response": {**CHAT_RESPONSE, "id": "chatcmpl-third"}}
    write_jsonl(tmp_path / "interleaved.jsonl", records)
    api.ingest([tmp_path / "interleaved.jsonl"])
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        formats = [r[0] for r in con.execute("SELECT format FROM requests ORDER BY line").fetchall()]
    assert formats == order


# The shapes issue 12 added, each beside the others in one directory: Azure's stream (empty first
# chunk, deployment model name), Groq's stream usage in x_groq, a Vertex resource-path Gemini model,
# a Responses request with a json_schema format and tools, LlamaIndex's {args: [...]} generation in a
# Langfuse export (prompt in its arguments, in its metadata, or nowhere: a reject), and OTel event
# spans with nothing to count beside a call's own span.
AZURE_STREAM = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in [
    {"id": "", "object": "", "created": 0, "model": "", "choices": [], "prompt_filter_results": []},
    {"id": "chatcmpl-az20", "object": "chat.completion.chunk", "created": 1790000000, "model": "gpt-35-turbo",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Blue"}}]},
    {"id": "chatcmpl-az20", "object": "chat.completion.chunk", "created": 1790000000, "model": "gpt-35-turbo",
     "choices": [], "usage": {"prompt_tokens": 26, "completion_tokens": 1, "total_tokens": 27}}]) + "data: [DONE]\n\n"
LLAMA_MESSAGES = [{"role": "system", "additional_kwargs": {}, "blocks": [{"block_type": "text", "text": "Answer in one word."}]},
                  {"role": "user", "additional_kwargs": {}, "blocks": [{"block_type": "text", "text": "Colour of the sky?"}]}]
FINISH_SPAN = {"traceId": "5b8efff798038103d269b633813fc60d", "spanId": "f1f1f1f1f1f1f1f1", "name": "chat gpt-4o stream",
               "startTimeUnixNano": "1790053201000000000", "endTimeUnixNano": "1790053201000000000",
               "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                              {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}]}
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["colour"],
          "properties": {"colour": {"type": "string"}}}


def _langfuse(obs_id: str, hour: int, raw_input: dict, metadata: dict) -> dict:
    return {"id": obs_id, "traceId": "trace-li", "type": "GENERATION", "startTime": f"2026-10-04T{hour:02}:00:00.000Z",
            "endTime": f"2026-10-04T{hour:02}:00:01.000Z", "model": "gpt-4o-mini", "input": json.dumps(raw_input),
            "output": json.dumps({"role": "assistant", "content": "Blue"}), "metadata": json.dumps(metadata),
            "usageDetails": {"input": 26, "output": 1, "total": 27}, "level": "DEFAULT"}


NEW_RECORDS = [
    {"request": {"method": "POST", "uri": "https://acme.openai.azure.com/openai/deployments/bot/chat/completions"
                                          "?api-version=2024-10-21",
                 "body": json.dumps({"messages": MSGS, "stream": True, "stream_options": {"include_usage": True}})},
     "response": {"status": {"code": 200}, "headers": {"date": ["Sun, 04 Oct 2026 01:00:00 GMT"]},
                  "body": {"string": AZURE_STREAM}}},
    {"timestamp": "2026-10-04T02:00:00Z",
     "request": {"model": "llama-3.3-70b-versatile", "messages": MSGS, "stream": True},
     "response": [{"id": "chatcmpl-gq21", "object": "chat.completion.chunk", "created": 1790100000,
                   "model": "llama-3.3-70b-versatile", "choices": [{"index": 0, "delta": {"content": "Blue"}}]},
                  {"id": "chatcmpl-gq21", "object": "chat.completion.chunk", "created": 1790100000,
                   "model": "llama-3.3-70b-versatile", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                   "x_groq": {"id": "req_gq21", "usage": {"prompt_tokens": 40, "completion_tokens": 1,
                                                          "total_tokens": 41}}}]},
    {"timestamp": "2026-10-04T03:00:00Z",
     "request": {"model": "projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash",
                 "contents": [{"role": "user", "parts": [{"text": "Colour of the sky?"}]}]},
     "response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "Blue"}]}}], "responseId": "gem-vx22",
                  "usageMetadata": {"promptTokenCount": 6, "candidatesTokenCount": 1, "totalTokenCount": 7}}},
    {"timestamp": "2026-10-04T04:00:00Z",
     "request": {"model": "gpt-4o", "input": "Colour of the sky?",
                 "text": {"format": {"type": "json_schema", "name": "Colour", "schema": SCHEMA, "strict": True}},
                 "tools": [{"type": "function", "name": "look_up", "description": "", "strict": False,
                            "parameters": {"type": "object", "properties": {}, "additionalProperties": False}}]},
     "response": {"id": "resp_js23", "object": "response", "created_at": 1790136000.0, "status": "completed",
                  "model": "gpt-4o-2024-08-06",
                  "output": [{"type": "message", "role": "assistant",
                              "content": [{"type": "output_text", "text": "{\"colour\":\"blue\"}"}]}],
                  "usage": {"input_tokens": 60, "output_tokens": 6, "total_tokens": 66}}},
    _langfuse("OpenAI.chat-li24", 5, {"args": [LLAMA_MESSAGES], "kwargs": {}}, {}),
    _langfuse("OpenAI.chat-li25", 6, {"args": [], "kwargs": {}},
              {"attributes": {"llm.input_messages.0.message.role": "user",
                              "llm.input_messages.0.message.content": "Colour of the sky?"}}),
    _langfuse("OpenAI.chat-li26", 7, {"args": [], "kwargs": {"temperature": 0}}, {}),  # no prompt anywhere: a reject
    {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "x"}, "spans": [
        {**RECORDS["otel-genai"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0], "traceId": "5b8efff798038103d269b633813fc60d",
         "attributes": [*RECORDS["otel-genai"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"][:2],
                        {"key": "gen_ai.response.id", "value": {"stringValue": "chatcmpl-ot27"}},
                        *RECORDS["otel-genai"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"][3:]]},
        FINISH_SPAN]}]}]},
    {**FINISH_SPAN, "spanId": "f2f2f2f2f2f2f2f2"},  # a lone event span on its own line
]
# request id: (format, model)
NEW_EXPECTED = {
    "chatcmpl-az20": ("openai-chat", "gpt-35-turbo"),
    "chatcmpl-gq21": ("openai-chat", "llama-3.3-70b-versatile"),
    "gem-vx22": ("gemini", "gemini-2.5-flash"),
    "resp_js23": ("openai-responses", "gpt-4o-2024-08-06"),
    "OpenAI.chat-li24": ("langfuse", "gpt-4o-mini"),
    "OpenAI.chat-li25": ("langfuse", "gpt-4o-mini"),
    "chatcmpl-ot27": ("otel-genai", "gpt-4o"),
}


def test_the_shapes_of_issue_12_mixed_in_one_directory_lose_nothing(tmp_path):
    logs = tmp_path / "logs"
    write_jsonl(logs / "mixed.jsonl", [*RECORDS.values(), *NEW_RECORDS])
    write_jsonl(logs / "more" / "new-only.jsonl.gz", NEW_RECORDS[:4], gz=True)  # logged twice: duplicates
    result = api.ingest([logs])
    for f in result.files:
        assert f.records == f.stored + f.duplicates + f.rejected + f.pending + f.ignored
    # 11 older records and 9 new lines: 7 new requests, 1 reject (no prompt anywhere), 2 ignored spans.
    assert (result.total("records"), result.total("stored"), result.total("duplicates"), result.total("rejected"),
            result.total("ignored")) == (25, 18, 4, 1, 2)
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute("""
            SELECT request_id, format, model,
                   prompt_tokens = system_tokens + fewshot_tokens + tools_tokens + history_tokens + input_tokens,
                   tools_tokens
            FROM requests""").fetchall()}
        reasons = [r[0] for r in con.execute("SELECT reason FROM rejects").fetchall()]
        files = con.execute("SELECT sum(records), sum(stored + duplicates + rejected + coalesce(pending, 0) + ignored), "
                            "sum(ignored) FROM files").fetchone()
    assert {rid: row[:2] for rid, row in rows.items() if rid in NEW_EXPECTED} == NEW_EXPECTED
    assert all(row[2] for row in rows.values())  # segments add up to the counted prompt, every format
    assert rows["resp_js23"][3] > 0  # the schema and the tool are counted
    assert reasons == ["langfuse generation input is LlamaIndex's {args: [...]} wrapper with no prompt in its "
                       "arguments or metadata (no messages, prompt or llm.input_messages.*): nothing to count"]
    assert files == (25, 25, 2)
    assert api.ingest([logs]).total("records") == 0  # a second run adds nothing
