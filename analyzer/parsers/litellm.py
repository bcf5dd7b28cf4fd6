"""LiteLLM logs: turn a StandardLoggingPayload or a ``LiteLLM_SpendLogs`` row into a :class:`Request`.

Both shapes are LiteLLM's own records of one call (formats.md §5): the StandardLoggingPayload (§5a)
that callbacks and the bucket loggers write, bare or nested as ``{"standard_logging_object": …}``
or ``kwargs.standard_logging_object``, and the SpendLogs table export (§5b), whose ``metadata``,
``request_tags``, ``messages`` and ``response`` are often JSON held in strings. LiteLLM takes
requests in OpenAI Chat shape and returns an OpenAI ``ModelResponse``, so messages and output need
no conversion; only usage does, because LiteLLM's rewrite of Anthropic usage changed across versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import BadRecord
from ..models import RawRecord, Request
from .common import as_int, content_id, maybe_json, number, sample_rate
from .context import ReadContext

NAME = "litellm"
DESCRIPTION = ("LiteLLM: a StandardLoggingPayload (bare, or under `standard_logging_object`) or a "
               "`LiteLLM_SpendLogs` row export, with `call_type`, `startTime` and OpenAI-shaped messages")

NO_PROMPT = "SpendLogs row without messages (store_prompts_in_spend_logs is off)"
# Keys only LiteLLM writes; with `call_type` and camelCase `startTime` they keep detection strict.
_SLP_KEYS = {"model_parameters", "hidden_params", "model_map_information", "response_cost", "saved_cache_cost"}
_SPEND_KEYS = {"spend", "api_key", "cache_key"}
_OUTPUT_KEYS = ("role", "content", "tool_calls", "function_call", "refusal")


def _kind(payload: Any) -> str | None:
    """"slp", "spend" or None for a record that is neither."""
    if not isinstance(payload, dict) or "call_type" not in payload or "startTime" not in payload:
        return None
    if "request_id" in payload and _SPEND_KEYS & payload.keys():
        return "spend"
    if "status" in payload and _SLP_KEYS & payload.keys():
        return "slp"
    return None


def _payload(data: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The LiteLLM record inside ``data`` (bare, or nested as a callback hands it over) and its kind."""
    if not isinstance(data, dict):
        return None, None
    kwargs = data.get("kwargs") if isinstance(data.get("kwargs"), dict) else {}
    nested = data.get("standard_logging_object", kwargs.get("standard_logging_object"))
    payload = maybe_json(nested) if nested is not None else data
    kind = _kind(payload)
    return (payload, kind) if kind else (None, None)


def detect(data: Any, ctx: ReadContext) -> bool:
    """A StandardLoggingPayload or a SpendLogs row: ``call_type`` + ``startTime`` + LiteLLM-only keys."""
    return _payload(data)[1] is not None


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Request | BadRecord]:
    """Turn one LiteLLM record into a :class:`Request`, or a BadRecord when it holds no prompt.

    Raises:
        BadRecord: not a LiteLLM record, no model, or messages that are not chat messages.
    """
    p, kind = _payload(record.data)
    if p is None:
        raise BadRecord("no LiteLLM StandardLoggingPayload or SpendLogs row in record")
    metadata = _dict(p.get("metadata"))
    response = _dict(p.get("response"))
    body = _request_body(p, metadata) if kind == "spend" else {"messages": p.get("messages")}
    if kind == "spend" and body is None:
        yield BadRecord(NO_PROMPT)
        return
    params = _dict(p.get("model_parameters")) if kind == "slp" else body
    messages = _messages(body.get("messages"), p.get("call_type"))
    hidden = _dict(p.get("hidden_params"))
    model = (response.get("model") or p.get("model") or hidden.get("litellm_model_name")
             or _dict(p.get("model_map_information")).get("model_map_key"))
    if not model:
        raise BadRecord("no model in LiteLLM record or its response")
    start, end = ctx.time(p.get("startTime")), ctx.time(p.get("endTime"))
    latency = number(p.get("request_duration_ms"))  # SpendLogs only; else the wall time of the call
    if latency is None and start and end and end >= start:
        latency = (end - start).total_seconds() * 1000
    tools = [t for t in params.get("tools") or [] if isinstance(t, dict)]
    tools += [{"type": "function", "function": f} for f in params.get("functions") or [] if isinstance(f, dict)]
    request = Request(
        model=str(model),
        requested_model=p.get("model_group") or p.get("model") or None,  # model_group: the alias the client named
        messages=messages,
        tools=tools,
        response_format=params.get("response_format") if isinstance(params.get("response_format"), dict) else None,
        timestamp=start or end or ctx.time(response.get("created")),
        request_id=p.get("request_id" if kind == "spend" else "id") or content_id(messages, response or None),
        # SpendLogs `user` is the key's owner; `end_user` is the customer the call was made for (§5a, §5b).
        user=(p.get("end_user") or metadata.get("user_api_key_end_user_id") or p.get("user")
              or metadata.get("user_api_key_user_id") or None),
        session_id=(p.get("session_id") or metadata.get("session_id") or p.get("trace_id")
                    or metadata.get("trace_id") or None),
        latency_ms=latency,
        sample_rate=sample_rate(record.data) if isinstance(record.data, dict) else None,
    )
    if p.get("status") == "failure":
        info = _dict(p.get("error_information") or metadata.get("error_information"))
        request.status = "error"
        request.error = str(p.get("error_str") or info.get("error_message") or info.get("error_class") or "failure")
    request.output = _output(response)
    _usage(request, p, metadata, response)
    yield request


def _dict(value: Any) -> dict[str, Any]:
    value = maybe_json(value)
    return value if isinstance(value, dict) else {}


def _request_body(row: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any] | None:
    """Where a SpendLogs row keeps the prompt: ``messages``, else the stored proxy request body.

    Older versions dump the messages into ``messages``; newer ones leave it ``{}`` and keep the
    whole request body in ``proxy_server_request`` (column, or in ``metadata``), tools included.
    """
    messages = maybe_json(row.get("messages"))
    if isinstance(messages, list) and messages:
        return {"messages": messages}
    for stored in (row.get("proxy_server_request"), metadata.get("proxy_server_request")):
        stored = _dict(stored)
        if isinstance(stored.get("messages"), list) and stored["messages"]:
            return stored
    return None


def _messages(value: Any, call_type: Any) -> list[dict[str, Any]]:
    value = maybe_json(value)
    if isinstance(value, dict) and "messages" in value:
        value = value["messages"]
    if isinstance(value, str) and value:  # a text-completion prompt
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and value and all(isinstance(m, dict) and "role" in m for m in value):
        return value
    # Embeddings, images, speech…: the payload's `messages` holds their input, not a chat.
    raise BadRecord(f"call_type {call_type!r}: `messages` is not a list of chat messages")


def _output(response: dict[str, Any]) -> dict[str, Any] | None:
    choices = response.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    if isinstance(choice.get("message"), dict):
        # Without LiteLLM's null fields and provider_specific_fields, like any other parser's output.
        return {k: choice["message"][k] for k in _OUTPUT_KEYS if choice["message"].get(k) is not None}
    if isinstance(choice.get("text"), str):  # text_completion
        return {"role": "assistant", "content": choice["text"]}
    return None


def _usage(request: Request, p: dict[str, Any], metadata: dict[str, Any], response: dict[str, Any]) -> None:
    """Usage in the :class:`Request` fields, from the richest place the record has it.

    The response's ``usage`` (SLP, stored SpendLogs response), else ``metadata.usage_object``, else
    the top-level counts plus ``metadata.additional_usage_values`` (SpendLogs keeps cached and
    reasoning tokens only there, §5b).
    """
    usage = _dict(response.get("usage")) or _dict(metadata.get("usage_object"))
    if not usage and request.status == "ok" and p.get("prompt_tokens") is not None:
        usage = {k: p[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens") if k in p}
        usage.update(_dict(metadata.get("additional_usage_values")))
    if not usage:
        return  # a failure's counts are LiteLLM's zero defaults, not a measurement
    details = _dict(usage.get("prompt_tokens_details")) or _dict(usage.get("input_tokens_details"))
    prompt = as_int(usage.get("prompt_tokens", usage.get("input_tokens")))
    # Explicit Anthropic cache fields first: LiteLLM keeps them beside the OpenAI-shaped total (§5a).
    read = as_int(usage.get("cache_read_input_tokens"))
    read = read if read is not None else as_int(details.get("cached_tokens"))
    write = as_int(usage.get("cache_creation_input_tokens"))
    if write is None:  # newer LiteLLM: cache_creation_tokens; OpenAI: cache_write_tokens (§10)
        write = as_int(details.get("cache_creation_tokens", details.get("cache_write_tokens")))
    # `prompt_tokens` already holds the cache read, and in most versions the cache write too; never
    # add them again. Only a total smaller than read + write proves a version that left writes out.
    if prompt is not None and write and prompt < (read or 0) + write:
        prompt += write
    output = _dict(usage.get("completion_tokens_details")) or _dict(usage.get("output_tokens_details"))
    request.raw_usage = usage
    request.reported_prompt_tokens = prompt
    request.reported_cached_tokens = read
    request.reported_cache_write_tokens = write
    request.reported_output_tokens = as_int(usage.get("completion_tokens", usage.get("output_tokens")))
    request.reported_reasoning_tokens = as_int(output.get("reasoning_tokens"))
