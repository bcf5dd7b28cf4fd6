"""The LiteLLM parser: StandardLoggingPayload and SpendLogs rows, built field by field from formats.md §5.

There are no real LiteLLM logs in ../shared/corpus; the SLP and SpendLogs cases follow LiteLLM's
own fixtures (`tests/logging_callback_tests/gcs_pub_sub_body/*.json`) and the traps §5 lists.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import duckdb
import pytest

from analyzer import api, parsers
from analyzer.errors import BadRecord
from analyzer.models import RawRecord, Request
from analyzer.parsers import (
    anthropic_messages,
    litellm,
    openai_chat,
    openai_responses,
    vcr,
)

from .conftest import write_jsonl

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello, world!"}]
TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
SCHEMA = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}

# The shape of LiteLLM's standard_logging_payload.json fixture (naive string times, OpenAI model).
SLP = {
    "id": "chatcmpl-2299b6a2", "trace_id": None, "call_type": "acompletion", "cache_hit": None, "stream": True,
    "status": "success", "custom_llm_provider": "openai", "saved_cache_cost": 0.0,
    "startTime": "2025-01-24 09:20:46.847371", "endTime": "2025-01-24 09:20:46.851954",
    "completionStartTime": "2025-01-24 09:20:46.851954", "response_time": 0.0074, "model": "gpt-4o",
    "metadata": {"user_api_key_hash": None, "user_api_key_user_id": None, "user_api_key_end_user_id": None,
                 "spend_logs_metadata": None, "requester_metadata": None, "applied_guardrails": []},
    "cache_key": None, "response_cost": 0.000225, "total_tokens": 30, "prompt_tokens": 10, "completion_tokens": 20,
    "request_tags": [], "end_user": "", "api_base": "", "model_group": "", "model_id": "",
    "messages": MESSAGES,
    "response": {"id": "chatcmpl-2299b6a2", "created": 1742855151, "model": "gpt-4o", "object": "chat.completion",
                 "choices": [{"finish_reason": "stop", "index": 0,
                              "message": {"content": "hi", "role": "assistant", "tool_calls": None,
                                          "function_call": None, "provider_specific_fields": None}}],
                 "usage": {"completion_tokens": 20, "prompt_tokens": 10, "total_tokens": 30,
                           "completion_tokens_details": None, "prompt_tokens_details": None}},
    "model_parameters": {},
    "hidden_params": {"model_id": None, "api_base": "https://api.openai.com", "litellm_model_name": "gpt-4o"},
    "model_map_information": {"model_map_key": "gpt-4o", "model_map_value": {}},
    "error_str": None,
    "error_information": {"error_code": "", "error_class": "", "llm_provider": "", "traceback": "", "error_message": ""},
}

# The shape of LiteLLM's spend_logs_payload.json fixture: metadata and request_tags JSON in strings,
# messages and response "{}" because store_prompts_in_spend_logs is off.
SPEND_META = {"applied_guardrails": [], "usage_object": None, "additional_usage_values":
              {"completion_tokens_details": None, "prompt_tokens_details": None},
              "user_api_key_user_id": None, "status": None, "error_information": None}
SPEND = {
    "request_id": "chatcmpl-2283081b", "session_id": "1234567890", "call_type": "acompletion", "api_key": "",
    "cache_hit": "None", "startTime": "2025-01-24 09:20:46.847371", "endTime": "2025-01-24 09:20:46.851954",
    "completionStartTime": "2025-01-24 09:20:46.851954", "model": "gpt-4o", "user": "", "team_id": "",
    "organization_id": "", "metadata": json.dumps(SPEND_META), "cache_key": "Cache OFF", "spend": 0.000225,
    "total_tokens": 30, "prompt_tokens": 10, "completion_tokens": 20, "request_tags": "[]", "end_user": "",
    "api_base": "", "model_group": "", "model_id": "", "requester_ip_address": None, "custom_llm_provider": "openai",
    "messages": "{}", "response": "{}", "proxy_server_request": "{}", "status": "success",
    "mcp_namespaced_tool_name": None, "agent_id": None,
}


def slp(**changes) -> dict:
    return {**copy.deepcopy(SLP), **changes}


def spend(metadata: dict | None = None, **changes) -> dict:
    row = {**copy.deepcopy(SPEND), **changes}
    if metadata is not None:
        row["metadata"] = json.dumps({**SPEND_META, **metadata})
    return row


def anthropic_response(usage: dict) -> dict:
    return {"id": "chatcmpl-a1", "created": 1742855151, "model": "claude-sonnet-4-5-20250929", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}}],
            "usage": usage}


def parse_all(data) -> list:
    assert litellm.detect(data, parsers.context()), "not detected as LiteLLM"
    return list(litellm.parse(RawRecord("f.jsonl", 1, data), parsers.context()))


def parse_one(data) -> Request:
    [item] = parse_all(data)
    assert isinstance(item, Request), item
    return item


@pytest.fixture
def registry():
    """The built-in registry, which tries LiteLLM before the formats that would take its records."""
    names = [f.name for f in parsers.formats()]
    assert names.index("litellm") < names.index("anthropic-messages") and names.index("litellm") < names.index("openai-chat"), names
    return parsers.REGISTRY


# --- StandardLoggingPayload (§5a) ---------------------------------------------------------------------------------


def test_slp_fixture_shape_maps_field_by_field():
    request = parse_one(SLP)
    assert request.model == "gpt-4o" and request.requested_model == "gpt-4o"
    assert request.request_id == "chatcmpl-2299b6a2"
    assert request.messages == MESSAGES
    assert request.output == {"role": "assistant", "content": "hi"}  # LiteLLM's null fields dropped
    assert request.timestamp == datetime(2025, 1, 24, 9, 20, 46, 847371, tzinfo=UTC)  # naive = UTC
    assert request.latency_ms == pytest.approx(4.583)  # endTime − startTime, not response_time (TTFT)
    assert (request.reported_prompt_tokens, request.reported_output_tokens) == (10, 20)
    assert request.reported_cached_tokens is None and request.reported_cache_write_tokens is None
    assert request.raw_usage == SLP["response"]["usage"]
    assert request.status == "ok" and request.error is None
    assert request.user is None and request.session_id is None  # "" and null are not ids
    assert request.tools == [] and request.response_format is None


def test_epoch_float_times_tools_response_format_user_and_session():
    record = slp(startTime=1737710446.5, endTime=1737710448.75, end_user="customer-7", trace_id="trace-1",
                 model_group="my-gpt", model_parameters={"temperature": 0, "tools": [TOOL], "response_format": SCHEMA,
                                                         "functions": [{"name": "legacy", "parameters": {}}]})
    request = parse_one(record)
    assert request.timestamp == datetime(2025, 1, 24, 9, 20, 46, 500000, tzinfo=UTC)
    assert request.latency_ms == pytest.approx(2250.0)
    assert request.tools == [TOOL, {"type": "function", "function": {"name": "legacy", "parameters": {}}}]
    assert request.response_format == SCHEMA
    assert request.user == "customer-7" and request.session_id == "trace-1"
    assert request.requested_model == "my-gpt" and request.model == "gpt-4o"  # the alias asked for, the model that answered


def test_user_and_session_fall_back_to_metadata():
    record = slp(metadata={"user_api_key_user_id": "alice", "session_id": "sess-9"}, trace_id="trace-1")
    request = parse_one(record)
    assert request.user == "alice" and request.session_id == "sess-9"
    record["metadata"]["user_api_key_end_user_id"] = "customer-3"
    assert parse_one(record).user == "customer-3"


@pytest.mark.parametrize("wrap", [
    lambda p: {"standard_logging_object": p},
    lambda p: {"standard_logging_object": json.dumps(p)},
    lambda p: {"kwargs": {"model": "gpt-4o", "standard_logging_object": p}, "response_obj": {}, "start_time": 1},
])
def test_nested_payloads(wrap):
    request = parse_one(wrap(SLP))
    assert request.request_id == "chatcmpl-2299b6a2" and request.reported_prompt_tokens == 10


def test_json_held_in_strings():
    record = slp(messages=json.dumps(MESSAGES), response=json.dumps(SLP["response"]),
                 model_parameters=json.dumps({"tools": [TOOL]}), metadata=json.dumps({"session_id": "s1"}))
    request = parse_one(record)
    assert request.messages == MESSAGES and request.output["content"] == "hi"
    assert request.tools == [TOOL] and request.session_id == "s1"


def test_output_keeps_tool_calls():
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"SF\"}"}}
    record = slp()
    record["response"]["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
    assert parse_one(record).output == {"role": "assistant", "tool_calls": [call]}


def test_failure_is_an_error_with_its_text_and_no_usage():
    record = slp(status="failure", response=None, prompt_tokens=0, completion_tokens=0, total_tokens=0,
                 error_str="litellm.RateLimitError: 429 quota exceeded",
                 error_information={"error_code": "429", "error_class": "RateLimitError", "llm_provider": "openai",
                                    "traceback": "…", "error_message": "quota exceeded"})
    request = parse_one(record)
    assert request.status == "error" and request.error == "litellm.RateLimitError: 429 quota exceeded"
    assert request.output is None and request.messages == MESSAGES
    assert request.reported_prompt_tokens is None and request.raw_usage is None  # LiteLLM's 0 defaults, not counts
    record["error_str"] = None
    assert parse_one(record).error == "quota exceeded"
    record["error_information"] = None
    assert parse_one(record).error == "failure"


def test_minimal_payload_missing_optional_fields():
    record = {"call_type": "completion", "status": "success", "startTime": 1737710446.0, "model": "gpt-4o-mini",
              "messages": [{"role": "user", "content": "Hi"}], "response_cost": 0.0}
    request = parse_one(record)
    assert request.model == "gpt-4o-mini" and request.output is None and request.latency_ms is None
    assert request.request_id.startswith("sha256:") and request.reported_prompt_tokens is None
    assert request.timestamp == datetime(2025, 1, 24, 9, 20, 46, tzinfo=UTC)


def test_model_falls_back_to_hidden_params_then_model_map_key_else_bad_record():
    record = slp(model="", response={})
    assert parse_one(record).model == "gpt-4o"  # hidden_params.litellm_model_name
    record["hidden_params"] = {}
    record["model_map_information"] = {"model_map_key": "azure/gpt-4o"}
    assert parse_one(record).model == "azure/gpt-4o"
    record["model_map_information"] = None
    with pytest.raises(BadRecord, match="no model"):
        parse_all(record)


def test_text_completion_prompt_and_choice_text():
    record = slp(call_type="atext_completion", messages="Say hi",
                 response={"model": "gpt-3.5-turbo-instruct", "choices": [{"index": 0, "text": "hi"}]})
    request = parse_one(record)
    assert request.messages == [{"role": "user", "content": "Say hi"}]
    assert request.output == {"role": "assistant", "content": "hi"} and request.model == "gpt-3.5-turbo-instruct"


def test_non_chat_calls_are_rejected_with_the_call_type():
    with pytest.raises(BadRecord, match="'aembedding'"):
        parse_all(slp(call_type="aembedding", messages=[["a", "b"]], response={}))


# --- usage arithmetic (§5a, §10) ---------------------------------------------------------------------------------


@pytest.mark.parametrize("usage, expected", [
    # OpenAI: cached_tokens is inside prompt_tokens; reasoning inside completion_tokens.
    ({"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300,
      "prompt_tokens_details": {"cached_tokens": 1536}, "completion_tokens_details": {"reasoning_tokens": 128}},
     (2000, 1536, None, 300, 128)),
    # Anthropic, current LiteLLM: prompt_tokens = input 3 + write 100 + read 9511; the explicit fields say which.
    ({"prompt_tokens": 9614, "completion_tokens": 1944, "total_tokens": 11558, "cache_creation_input_tokens": 100,
      "cache_read_input_tokens": 9511, "prompt_tokens_details": {"cached_tokens": 9511, "cache_creation_tokens": 100}},
     (9614, 9511, 100, 1944, None)),
    # Anthropic, a version that added only the read: 3 + 9511 < read + write, so the write goes back in, once.
    ({"prompt_tokens": 9514, "completion_tokens": 1944, "total_tokens": 11458, "cache_creation_input_tokens": 100,
      "cache_read_input_tokens": 9511, "prompt_tokens_details": {"cached_tokens": 9511}},
     (9614, 9511, 100, 1944, None)),
    # Cache details only in prompt_tokens_details (no top-level Anthropic fields).
    ({"prompt_tokens": 500, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 0, "cache_creation_tokens": 400}},
     (500, 0, 400, 5, None)),
    # Zero cache fields leave the total alone.
    ({"prompt_tokens": 12, "completion_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
     (12, 0, 0, 1, None)),
])
def test_usage_is_never_double_counted(usage, expected):
    request = parse_one(slp(model="claude-sonnet-4-5", response=anthropic_response(usage)))
    got = (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_cache_write_tokens,
           request.reported_output_tokens, request.reported_reasoning_tokens)
    assert got == expected
    assert request.raw_usage == usage and request.model == "claude-sonnet-4-5-20250929"


def test_usage_falls_back_to_metadata_usage_object_then_top_level_counts():
    usage_object = {"prompt_tokens": 40, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 32}}
    record = slp(response={"model": "gpt-4o", "choices": []}, metadata={"usage_object": usage_object})
    request = parse_one(record)
    assert (request.reported_prompt_tokens, request.reported_cached_tokens) == (40, 32)
    record["metadata"] = {}
    request = parse_one(record)
    assert (request.reported_prompt_tokens, request.reported_output_tokens) == (10, 20)
    assert request.raw_usage == {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}


def test_a_usage_field_that_is_not_a_number_is_a_bad_record():
    record = slp()
    record["response"]["usage"]["prompt_tokens"] = "many"
    with pytest.raises(BadRecord, match="not a number"):
        parse_all(record)


# --- SpendLogs rows (§5b) ----------------------------------------------------------------------------------------


def test_spend_logs_row_without_prompts_is_a_bad_record_not_an_empty_request():
    assert parse_all(SPEND)[0].reason == litellm.NO_PROMPT == (
        "SpendLogs row without messages (store_prompts_in_spend_logs is off)")
    assert parse_all(spend(messages={}, response={}, proxy_server_request=None))[0].reason == litellm.NO_PROMPT


def test_spend_logs_row_with_stored_prompts():
    usage_extra = {"prompt_tokens_details": {"cached_tokens": 8}, "completion_tokens_details": {"reasoning_tokens": 4},
                   "cache_read_input_tokens": None}
    row = spend(metadata={"additional_usage_values": usage_extra, "user_api_key_user_id": "key-owner"},
                messages=json.dumps(MESSAGES), response=json.dumps({**SLP["response"], "usage": None}),
                user="key-owner", end_user="customer-1", request_tags='["prod"]',
                startTime="2025-01-24T09:20:46.847Z", endTime="2025-01-24T09:20:47.347Z")
    request = parse_one(row)
    assert request.request_id == "chatcmpl-2283081b" and request.session_id == "1234567890"
    assert request.messages == MESSAGES and request.output == {"role": "assistant", "content": "hi"}
    assert request.user == "customer-1"  # end_user before the key owner
    assert request.timestamp == datetime(2025, 1, 24, 9, 20, 46, 847000, tzinfo=UTC)
    assert request.latency_ms == pytest.approx(500.0)
    # Cached and reasoning tokens live only in metadata.additional_usage_values.
    assert (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_output_tokens,
            request.reported_reasoning_tokens) == (10, 8, 20, 4)
    assert request.raw_usage == {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30, **usage_extra}


def test_spend_logs_prompt_from_the_stored_proxy_request_body():
    body = {"model": "my-gpt", "messages": MESSAGES, "tools": [TOOL], "response_format": SCHEMA}
    for row in (spend(proxy_server_request=json.dumps(body)),
                spend(metadata={"proxy_server_request": json.dumps(body)})):
        request = parse_one(row)
        assert request.messages == MESSAGES and request.tools == [TOOL] and request.response_format == SCHEMA
        assert request.output is None and request.reported_prompt_tokens == 10


def test_spend_logs_usage_object_duration_and_user_column():
    usage_object = {"prompt_tokens": 9614, "completion_tokens": 7, "cache_creation_input_tokens": 100,
                    "cache_read_input_tokens": 9511}
    row = spend(metadata={"usage_object": usage_object}, messages=MESSAGES, request_duration_ms=812,
                user="key-owner", model="claude-sonnet-4-5", model_group="claude")
    request = parse_one(row)
    assert (request.reported_prompt_tokens, request.reported_cached_tokens,
            request.reported_cache_write_tokens) == (9614, 9511, 100)
    assert request.latency_ms == 812 and request.user == "key-owner"
    assert request.model == "claude-sonnet-4-5" and request.requested_model == "claude"


def test_spend_logs_failure():
    row = spend(metadata={"status": "failure", "error_information": {"error_class": "BadRequestError",
                                                                    "error_message": "context too long"}},
                status="failure", messages=json.dumps(MESSAGES), prompt_tokens=0, completion_tokens=0, total_tokens=0)
    request = parse_one(row)
    assert request.status == "error" and request.error == "context too long"
    assert request.reported_prompt_tokens is None


# --- detection ---------------------------------------------------------------------------------------------------

CHAT_BODY = {"model": "gpt-4o", "messages": MESSAGES}
CHAT_RESPONSE = SLP["response"]
RESPONSES_BODY = {"model": "gpt-4o", "input": "Hi", "instructions": "Be brief."}
RESPONSES_RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1759223041.0, "model": "gpt-4o", "output": []}
ANTHROPIC_BODY = {"model": "claude-sonnet-4-5", "max_tokens": 64, "system": "Be brief.",
                  "messages": [{"role": "user", "content": "Hi"}]}
ANTHROPIC_RESPONSE = {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                      "content": [{"type": "text", "text": "Hi"}], "usage": {"input_tokens": 3, "output_tokens": 1}}
OTHERS = [
    CHAT_BODY, {"request": CHAT_BODY, "response": CHAT_RESPONSE, "timestamp": "2025-01-24T09:20:46Z"},
    RESPONSES_BODY, {"request": RESPONSES_BODY, "response": RESPONSES_RESPONSE},
    ANTHROPIC_BODY, {"request": ANTHROPIC_BODY, "response": ANTHROPIC_RESPONSE},
    {"interactions": []},
    # Near misses: LiteLLM-like keys without the rest.
    {"call_type": "acompletion", "messages": MESSAGES, "model": "gpt-4o"},
    {"request_id": "r1", "startTime": "2025-01-24 09:20:46", "spend": 0.1},
    {"request_id": "r1", "call_type": "acompletion", "startTime": "2025-01-24 09:20:46", "model": "gpt-4o"},
]
OURS = [SLP, {"standard_logging_object": SLP}, {"kwargs": {"standard_logging_object": SLP}}, SPEND,
        spend(messages=json.dumps(MESSAGES)), spend(messages=MESSAGES)]


@pytest.mark.parametrize("data", OTHERS)
def test_detect_refuses_other_formats(data):
    assert not litellm.detect(data, parsers.context())


@pytest.mark.parametrize("data", OURS)
def test_other_formats_refuse_litellm_records(data):
    for module in (vcr, anthropic_messages, openai_responses):
        assert not module.detect(data, parsers.context()), module.NAME
    # openai-chat claims a record with a top-level `messages` list as a bare Chat body: the bare SLP
    # and a SpendLogs row whose messages column was exported as JSON (not a string). LiteLLM is
    # registered first for that reason; the nested and string-encoded shapes collide with nothing.
    bare_list = isinstance(data.get("messages"), list)
    assert openai_chat.detect(data, parsers.context()) == bare_list


@pytest.mark.parametrize("data", OURS)
def test_registered_first_litellm_wins(registry, data):
    assert parsers.detect(data).name == "litellm"


@pytest.mark.parametrize("data", OTHERS[:7])
def test_registered_first_litellm_leaves_the_others_alone(registry, data):
    assert parsers.detect(data).name != "litellm"


# --- end to end --------------------------------------------------------------------------------------------------


def test_ingest_end_to_end(registry, tmp_path):
    anthropic = slp(id="chatcmpl-a1", model="claude-sonnet-4-5", startTime=1737710446.0, endTime=1737710447.0,
                    response=anthropic_response({"prompt_tokens": 9514, "completion_tokens": 7, "total_tokens": 9521,
                                                 "cache_creation_input_tokens": 100, "cache_read_input_tokens": 9511}))
    failed = slp(id="chatcmpl-f1", status="failure", response={}, error_str="boom")
    stored = spend(messages=json.dumps(MESSAGES), request_id="chatcmpl-s1",
                   metadata={"additional_usage_values": {"prompt_tokens_details": {"cached_tokens": 4}}})
    lines = [SLP, {"standard_logging_object": anthropic}, failed, stored, SPEND, SLP]  # SPEND: rejected; SLP twice
    path = write_jsonl(tmp_path / "litellm.jsonl", lines)
    result = api.ingest([path], db=tmp_path / "x.duckdb")
    [f] = result.files
    assert (f.records, f.stored, f.duplicates, f.rejected) == (6, 4, 1, 1)
    with duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True) as con:
        rows = con.execute("""SELECT request_id, format, model, ts, status, reported_prompt_tokens, reported_cached_tokens,
                                     reported_cache_write_tokens, reported_output_tokens FROM requests ORDER BY request_id""").fetchall()
        assert rows == [
            ("chatcmpl-2299b6a2", "litellm", "gpt-4o", datetime(2025, 1, 24, 9, 20, 46, 847371), "ok", 10, None, None, 20),
            ("chatcmpl-a1", "litellm", "claude-sonnet-4-5-20250929", datetime(2025, 1, 24, 9, 20, 46), "ok",
             9614, 9511, 100, 7),
            ("chatcmpl-f1", "litellm", "gpt-4o", datetime(2025, 1, 24, 9, 20, 46, 847371), "error",
             None, None, None, None),
            ("chatcmpl-s1", "litellm", "gpt-4o", datetime(2025, 1, 24, 9, 20, 46, 847371), "ok", 10, 4, None, 20),
        ]
        assert con.execute("SELECT reason FROM rejects").fetchall() == [(litellm.NO_PROMPT,)]
        assert con.execute("SELECT records, stored + duplicates + rejected, formats FROM files").fetchone() == (6, 6, "litellm")
