"""Anthropic Messages: turn one logged ``/v1/messages`` call into a :class:`Request` in OpenAI Chat shape.

The segmenter reads OpenAI Chat messages, so the top-level ``system`` becomes a system message,
``tool_use`` blocks become ``tool_calls`` and ``tool_result`` blocks become ``tool`` messages
(formats.md §4). ``input_tokens`` excludes cache reads and writes, so the reported prompt is the sum
of the three (§10). Message
Batches lines are :mod:`anthropic_batch`'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..errors import BadRecord
from ..models import RawRecord, Request
from .common import (
    as_int,
    content_id,
    header,
    maybe_json,
    number,
    sample_rate,
    service_tier,
)
from .context import ReadContext

NAME = "anthropic-messages"
DESCRIPTION = ("Anthropic Messages: a `/v1/messages` request (`max_tokens`, `messages`, top-level `system`) and "
               "its `message` response, bare or wrapped as request/response or a recorded HTTP exchange")

_ANTHROPIC_BLOCKS = {"text", "tool_use", "tool_result", "image", "document", "thinking", "redacted_thinking"}
# Keys, part types and roles only OpenAI Chat has: a body with one is never an Anthropic request.
_OPENAI_KEYS = {"response_format", "max_completion_tokens", "n", "logprobs", "frequency_penalty",
                "presence_penalty", "seed", "stream_options", "functions", "parallel_tool_calls"}
_OPENAI_PARTS = {"image_url", "input_audio", "file", "refusal"}
_OPENAI_ROLES = {"tool", "developer", "function"}
# Thinking is the model's earlier reasoning replayed under a signature, not prompt anyone wrote, and
# older models drop it from the context: it is left out of the prompt and of the output text.
_SKIPPED = {"thinking", "redacted_thinking"}


def detect(data: Any, ctx: ReadContext) -> bool:
    """An Anthropic Messages call, by URL, by response type, or (bare body) by Anthropic-only fields."""
    exchange = ctx.unwrap(data)
    if exchange is None or not isinstance(exchange.request, dict):
        return False
    url, body, response = exchange.url or "", exchange.request, exchange.response
    if "/count_tokens" in url or "/batches" in url:
        return False
    if "/v1/messages" in url:
        return True
    if isinstance(response, dict):
        if response.get("object") or "choices" in response:  # chat.completion and other OpenAI objects
            return False
        error = response.get("error")
        if response.get("type") == "message" or (
                response.get("type") == "error" and isinstance(error, dict) and "type" in error):
            return True
    if isinstance(response, str) and '"message_start"' in response:  # a recorded Anthropic stream
        return True
    if url or response is not None or "max_tokens" not in body or _looks_openai(body):
        return False
    return "system" in body or "anthropic_version" in body or bool(_ANTHROPIC_BLOCKS & _block_types(body))


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Request]:
    """Turn one record into a :class:`Request`.

    Raises:
        BadRecord: the record lacks what a request needs (model, messages).
    """
    exchange = ctx.unwrap(record.data)
    if exchange is None or not isinstance(exchange.request, dict):
        raise BadRecord("no Anthropic Messages request in record")
    body, response = exchange.request, exchange.response
    if isinstance(response, str) and "message_start" in response:
        response = _from_stream(response)
    response = response if isinstance(response, dict) else None
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
        raise BadRecord("`messages` is not a list of messages with a role")
    model = (response or {}).get("model") or body.get("model")  # Bedrock bodies name no model
    if not model:
        raise BadRecord("no model in request or response")
    wrapper = exchange.wrapper
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    request = Request(
        model=str(model),
        requested_model=body.get("model"),
        messages=_system(body.get("system")) + [m for turn in messages for m in chat_messages(turn)],
        tools=[_tool(t) for t in body.get("tools") or [] if isinstance(t, dict)],
        response_format=_response_format(body),
        timestamp=exchange.time(ctx.naive_zone),
        user=metadata.get("user_id"),
        session_id=wrapper.get("session_id"),
        sample_rate=sample_rate(wrapper),
        latency_ms=number(wrapper.get("latency_ms") or wrapper.get("durationMs")),
        tool_choice=_tool_choice(body.get("tool_choice")),
    )
    if response is not None and "error" in response:  # {"type": "error", "error": {"type", "message"}}
        error = response["error"]
        request.status, request.error = "error", str(error.get("message") if isinstance(error, dict) else error)
    elif response is not None:
        request.output = _output(response.get("content"))
        if isinstance(response.get("usage"), dict):
            request.raw_usage = response["usage"]
            request.service_tier = service_tier(response["usage"].get("service_tier"))
            for key, value in normalise_usage(response["usage"]).items():
                setattr(request, key, value)
    if exchange.status_code and exchange.status_code >= 400 and request.status != "error":
        request.status, request.error = "error", f"HTTP {exchange.status_code}"
    found = response or {}  # a message has its msg_… id, an error body its req_… request_id
    request.request_id = (found.get("id") or found.get("request_id")
                          or header(exchange.response_headers, "request-id") or content_id(body, response))
    yield request


def normalise_usage(usage: dict[str, Any]) -> dict[str, int | None]:
    """Anthropic ``usage`` as :class:`Request` fields: the prompt is input + cache writes + cache reads.

    A call whose context was compacted on the server reports ``usage.iterations``, one usage per
    sampling step: the compaction step (it reads the whole conversation the request sent, mostly as
    a cache write or read) and the message step (the summary and what follows it). The top-level
    fields are the message steps' alone; the call is billed for every step, so the sum over them is
    what was billed. An advisor step (``advisor_message``, with a ``model`` of its own) is another
    model's call, billed at that model's prices: it is left out, as the top-level fields leave it.
    """
    details = usage.get("output_tokens_details") if isinstance(usage.get("output_tokens_details"), dict) else {}
    steps = [s for s in usage.get("iterations") or () if isinstance(s, dict)
             and s.get("type") != "advisor_message" and not s.get("model")]
    fresh, written, read, output = (_usage_sum([usage] if not steps else steps, f"{kind}_tokens")
                                    for kind in ("input", "cache_creation_input", "cache_read_input", "output"))
    present = [n for n in (fresh, written, read) if n is not None]  # a missing part counts as 0
    return {"reported_prompt_tokens": sum(present) if present else None, "reported_cached_tokens": read,
            "reported_cache_write_tokens": written, "reported_output_tokens": output,
            "reported_reasoning_tokens": as_int(details.get("thinking_tokens"))}


def _usage_sum(usages: list[dict[str, Any]], key: str) -> int | None:
    """The sum of one usage field over the steps that have it; None when none has it."""
    values = [n for n in (as_int(u.get(key)) for u in usages) if n is not None]
    return sum(values) if values else None


def _looks_openai(body: dict[str, Any]) -> bool:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    return bool(_OPENAI_KEYS & body.keys() or _OPENAI_PARTS & _block_types(body)
                or any(m.get("role") in _OPENAI_ROLES or "tool_calls" in m for m in messages)
                or any(isinstance(t, dict) and "function" in t for t in body.get("tools") or []))


def _block_types(body: dict[str, Any]) -> set[Any]:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    return {b.get("type") for m in messages if isinstance(m.get("content"), list)
            for b in m["content"] if isinstance(b, dict)}


def _system(system: Any) -> list[dict[str, Any]]:
    # The API reads the blocks as one prompt, split only to place cache breakpoints: one message, so
    # the per-message overhead is counted once and the template key sees the same text either way.
    if isinstance(system, list):
        system = "\n\n".join(b.get("text", "") for b in system if isinstance(b, dict) and b.get("type") == "text")
    return [{"role": "system", "content": system}] if system else []


def _part(block: Any) -> dict[str, Any]:
    if not isinstance(block, dict):
        raise BadRecord(f"content block is not an object: {block!r:.60}")
    if block.get("type") == "text":
        return {"type": "text", "text": str(block.get("text") or "")}  # without cache_control, citations
    return block  # image, document, server-tool blocks: kept as non-text parts, not counted yet


def _call(block: dict[str, Any]) -> dict[str, Any]:
    arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
    return {"id": block.get("id"), "type": "function", "function": {"name": block.get("name"), "arguments": arguments}}


def chat_messages(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One Anthropic message as OpenAI Chat messages: tool results split out as ``tool`` messages, in order."""
    role, content = message["role"], message.get("content")
    if not isinstance(content, list):
        return [{"role": role, "content": content}]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_use":
            calls.append(_call(block))
        elif kind == "tool_result":
            if parts:  # text before a tool result stays before it
                out.append({"role": role, "content": parts})
                parts = []
            result = block.get("content")
            result = [_part(b) for b in result] if isinstance(result, list) else result
            out.append({"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": result})
        elif kind not in _SKIPPED:
            parts.append(_part(block))
    if parts or calls or not out:  # a turn of thinking only still marks where the turn was
        out.append({"role": role, "content": parts, **({"tool_calls": calls} if calls else {})})
    return out


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    if "input_schema" not in tool and tool.get("type") not in (None, "custom"):
        # A server tool (web_search_20250305, code_execution_…): Anthropic defines it, only its name is sent.
        return {"type": tool["type"], "function": {"name": tool.get("name")}}
    function = {"name": tool.get("name"), "parameters": tool.get("input_schema") or {}}
    function.update({key: tool[key] for key in ("description", "input_examples") if key in tool})
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> str | None:
    """``{"type": "auto"|"any"|"tool"|"none"}`` as its type."""
    kind = choice.get("type") if isinstance(choice, dict) else None
    return kind if kind in ("auto", "any", "tool", "none") else None


def _response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    # Structured outputs (output_config.format; before it the beta output_format), in the OpenAI
    # shape the segmenter counts with the tools.
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt.get("schema")}}
    return None


def _output(content: Any) -> dict[str, Any]:
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    # Citations split one answer into several text blocks: joined with no separator they are the text.
    text = "".join(str(b.get("text") or "") for b in blocks if b.get("type") == "text")
    calls = [_call(b) for b in blocks if b.get("type") == "tool_use"]
    return {"role": "assistant", "content": text or None, **({"tool_calls": calls} if calls else {})}


def _from_stream(text: str) -> dict[str, Any] | None:
    """The final message of a recorded server-sent-event stream, rebuilt from its events."""
    message: dict[str, Any] | None = None
    for line in text.splitlines():
        event = maybe_json(line[5:].strip()) if line.startswith("data:") else None
        event = event if isinstance(event, dict) else {}
        kind, delta = event.get("type"), event.get("delta") or {}
        if kind == "message_start":
            message = {**(event.get("message") or {}), "content": []}
        elif message is None:
            continue
        elif kind == "content_block_start":
            message["content"].append(dict(event.get("content_block") or {}))
        elif kind == "content_block_delta" and message["content"]:
            block = message["content"][-1]  # blocks stream one after another: a delta is the last one's
            if "text" in delta:
                block["text"] = block.get("text", "") + str(delta["text"])
            if "partial_json" in delta:
                block["_json"] = block.get("_json", "") + str(delta["partial_json"])
                parsed = maybe_json(block["_json"])
                block["input"] = parsed if isinstance(parsed, dict) else block.get("input")
        elif kind == "message_delta":
            # Its usage is cumulative: output_tokens (and any input fields sent) replace the start's.
            message["usage"] = {**(message.get("usage") or {}), **(event.get("usage") or {})}
            message.update(delta)
    return message
