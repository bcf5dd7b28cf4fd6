"""OpenAI Responses API: a ``/v1/responses`` request (``input``, ``instructions``) and its ``response``.

Its one job is to restate a Responses call in Chat Completions shape, so the segmenter and the
counter read it like any other request (formats.md §2): ``instructions`` become a leading system
message, input items become messages, flat function tools become nested ones and
``text.format`` becomes ``response_format``. Wrappers are those of openai_chat (formats.md §9),
plus a bare request body. Usage is normalised per formats.md §10: ``input_tokens`` includes cached
tokens, ``output_tokens`` includes reasoning tokens. A streamed call (its events as a list or as SSE
text) is read through its final ``response`` object, which ``response.completed`` carries whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from ..errors import BadRecord
from ..models import RawRecord, Request
from . import streams
from .common import (
    REQUEST_KEYS,
    Exchange,
    as_int,
    content_id,
    header,
    number,
    sample_rate,
    service_tier,
)
from .context import ReadContext

NAME = "openai-responses"
DESCRIPTION = (
    "OpenAI Responses API: a request with `input` and/or `instructions` (bare, wrapped as "
    "request/response, or a recorded HTTP exchange to /v1/responses) and its `response` object"
)

_FAILED = ("failed", "cancelled", "incomplete")


def _exchange(data: Any, ctx: ReadContext) -> Exchange | None:
    exchange = ctx.unwrap(data)
    # common.unwrap only recognises a bare Chat body (by `messages`); a bare Responses body has `input`,
    # and `model` too, which tells it from tracing exports' generic `{input, output}` records.
    if exchange is None and isinstance(data, dict) and isinstance(data.get("input"), str | list) and data.get("model"):
        exchange = Exchange(data, None, None)
    return exchange


def detect(data: Any, ctx: ReadContext) -> bool:
    """A record whose request is a Responses ``create`` body (not a token count, compaction or retrieval)."""
    exchange = _exchange(data, ctx)
    if exchange is None or not isinstance(exchange.request, dict):
        return False
    body, response = exchange.request, exchange.response
    if isinstance(body.get("messages"), list):  # Chat Completions or Anthropic Messages
        return False
    url = exchange.url or exchange.wrapper.get("url")  # the wrapper's url: Batch API input lines
    raw = next((exchange.wrapper[k] for k in REQUEST_KEYS if isinstance(exchange.wrapper.get(k), dict)), {})
    method = raw.get("method") if exchange.url else None  # a recorded HTTP exchange: GET is a retrieval
    if isinstance(url, str) and not urlparse(url).path.rstrip("/").endswith("/responses"):
        # Also refuses /responses/input_tokens, /responses/compact and /responses/<id>[/…].
        return False
    if isinstance(method, str) and method.upper() != "POST":
        return False
    if isinstance(response, dict) and "object" in response and response["object"] != "response":
        return False
    if isinstance(body.get("input"), str | list):
        return True
    # `input` is optional: an instructions-only call is claimed only when the URL or response says so.
    confirmed = isinstance(url, str) or (isinstance(response, dict) and response.get("object") == "response") or (
        streams.response_object(response) is not None)  # a stream of `response.*` events
    return isinstance(body.get("instructions"), str | list) and confirmed


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Request]:
    """Turn one record into a :class:`Request`.

    Raises:
        BadRecord: no Responses request, no model, or input items that are not objects.
    """
    exchange = _exchange(record.data, ctx)
    if exchange is None or not isinstance(exchange.request, dict):
        raise BadRecord("no Responses API request in record")
    # Streamed (formats.md §2, §9): read as its final response object.
    exchange = streams.resolved(exchange, streams.response_object)
    body = exchange.request
    response = exchange.response if isinstance(exchange.response, dict) else None
    model = (response or {}).get("model") or body.get("model")
    if not model:
        raise BadRecord("no model in request or response")
    # With `previous_response_id` (or a `conversation`) the earlier turns live server-side and are
    # absent from the log (formats.md §2): the request is counted as logged, without that history.
    # SDKs send `instructions: ""` for none; it adds no system turn (the recorded usage agrees).
    messages = chat_messages(body.get("instructions") or None, default_role="system") + chat_messages(body.get("input"))
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    conversation = body.get("conversation")
    if isinstance(conversation, dict):
        conversation = conversation.get("id")
    request = Request(
        model=str(model),
        requested_model=body.get("model"),
        messages=messages,
        tools=[chat_tool(t) for t in body.get("tools") or [] if isinstance(t, dict)],
        response_format=chat_response_format(body.get("text")),
        api="responses",
        timestamp=exchange.time(ctx.naive_zone),
        user=body.get("user") or body.get("safety_identifier"),
        session_id=metadata.get("session_id") or (conversation if isinstance(conversation, str) else None)
        or exchange.wrapper.get("session_id"),
        sample_rate=sample_rate(exchange.wrapper),
        latency_ms=number(exchange.wrapper.get("latency_ms") or exchange.wrapper.get("durationMs"))
        or number(header(exchange.response_headers, "openai-processing-ms")),
    )
    # A stored prompt (`prompt: {id, version, variables}`) is the template itself; its text lives
    # server-side, so the logged request shows only the variables.
    prompt = body.get("prompt") if isinstance(body.get("prompt"), dict) else {}
    if prompt.get("id"):
        request.prompt_id = str(prompt["id"])
        request.prompt_version = str(prompt["version"]) if prompt.get("version") is not None else None
    if response is not None:
        _read_response(request, response)
    if exchange.status_code and exchange.status_code >= 400 and request.status == "ok":
        request.status, request.error = "error", f"HTTP {exchange.status_code}"
    request.request_id = (
        (response or {}).get("id")
        or header(exchange.response_headers, "x-request-id")
        or content_id(body, response)
    )
    yield request


def chat_messages(value: Any, default_role: str = "user") -> list[dict[str, Any]]:
    """Chat messages from a string or a list of Responses input items."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": default_role, "content": value}]
    if not isinstance(value, list):
        raise BadRecord(f"input is neither a string nor a list: {type(value).__name__}")
    messages: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, dict):
            raise BadRecord("an input item is not an object")
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            messages.append({"role": item.get("role") or default_role, "content": _content(item.get("content"))})
        elif kind == "function_call":
            call = {"id": item.get("call_id"), "type": "function",
                    "function": {"name": item.get("name"), "arguments": item.get("arguments")}}
            last = messages[-1] if messages else {}
            if last.get("role") == "assistant" and last.get("tool_calls") and last.get("content") is None:
                last["tool_calls"].append(call)  # parallel calls: one assistant turn, as in Chat
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"),
                             "content": _content(item.get("output"))})
        # Skipped: `reasoning` (encrypted or summary, not re-read as prompt text), `item_reference`
        # and built-in tool call/result items (web search, MCP, compaction…), whose billed size the
        # request does not show in a countable form.
    return messages


def _content(content: Any) -> Any:
    """Message content with ``input_text``/``output_text`` parts as Chat ``text`` parts; others kept."""
    if not isinstance(content, list):
        return content
    return [{"type": "text", "text": p.get("text")} if isinstance(p, dict) and p.get("type") in
            ("input_text", "output_text") else p for p in content]


def chat_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A Responses tool in Chat shape: flat function tools nested, built-in tools named by their type."""
    if tool.get("type") == "function":
        fn = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
        return {"type": "function", "function": fn}
    # Built-in tools (web_search, file_search, mcp…) have no schema here; their name still counts.
    return {"type": tool.get("type"), "function": {"name": tool.get("type")}}


def chat_response_format(text: Any) -> dict[str, Any] | None:
    """A Responses ``text.format`` json_schema as a Chat ``response_format``; None for plain text."""
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None  # "text" and "json_object" add no schema tokens
    schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
    return {"type": "json_schema", "json_schema": schema}


def _read_response(request: Request, response: dict[str, Any]) -> None:
    error, status = response.get("error"), response.get("status")
    if error or status in _FAILED:
        request.status = "error"
        reason = (response.get("incomplete_details") or {}).get("reason")
        request.error = (error.get("message") if isinstance(error, dict) else error and str(error)) or (
            f"{status}: {reason}" if reason else str(status))
    # Queued/in-progress (background) responses carry no output yet; the later GET is not a request.
    text, calls, seen = [], [], False
    for item in response.get("output") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "message":
            seen = True
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") in ("output_text", "refusal"):
                    text.append(part.get("text") or part.get("refusal") or "")
        elif item.get("type") == "function_call":
            calls.append({"id": item.get("call_id"), "type": "function",
                          "function": {"name": item.get("name"), "arguments": item.get("arguments")}})
    if seen or calls:
        request.output = {"role": "assistant", "content": "".join(text) if seen else None}
        if calls:
            request.output["tool_calls"] = calls
    request.service_tier = service_tier(response.get("service_tier"))
    usage = response.get("usage")
    if isinstance(usage, dict):
        cached = usage.get("input_tokens_details") or {}
        request.raw_usage = usage
        request.reported_prompt_tokens = as_int(usage.get("input_tokens"))
        request.reported_cached_tokens = as_int(cached.get("cached_tokens"))
        request.reported_cache_write_tokens = as_int(cached.get("cache_write_tokens"))
        request.reported_output_tokens = as_int(usage.get("output_tokens"))
        request.reported_reasoning_tokens = as_int((usage.get("output_tokens_details") or {}).get("reasoning_tokens"))
