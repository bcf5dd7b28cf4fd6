"""Amazon Bedrock: a Converse / ConverseStream call, or InvokeModel with an Anthropic body, into a :class:`Request`.

Converse (``/model/{id}/converse``): ``messages[].content[]`` of blocks keyed by kind (``text``,
``image``, ``document``, ``toolUse``, ``toolResult``, ``reasoningContent``, ``cachePoint``),
``system[]``, ``toolConfig.tools[].toolSpec``; the response's ``output.message`` and ``usage``, whose
``inputTokens`` exclude ``cacheReadInputTokens`` and ``cacheWriteInputTokens``: the reported prompt is
the sum of the three, as Anthropic's. The model is the id in the URL (``us.amazon.nova-micro-v1:0``,
an inference profile), which :mod:`analyzer.pricing` prices at Bedrock's rates. A stream is logged as
boto3's event dicts (``messageStart``, ``contentBlockDelta``, ``metadata``…) or, in recorded HTTP
exchanges, as the binary AWS event stream; both are rebuilt into one response.

InvokeModel (``/model/{id}/invoke``) with an ``anthropic_version`` body is the Messages API on
Bedrock: read by :mod:`anthropic_messages`, with the model taken from the URL.
"""

from __future__ import annotations

import ast
import json
import struct
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from ..errors import BadRecord
from ..models import RawRecord, Request
from . import anthropic_messages
from .common import Exchange, as_int, content_id, header, number, sample_rate
from .context import ReadContext

NAME = "bedrock"
DESCRIPTION = ("Amazon Bedrock: Converse / ConverseStream (`messages[].content[]` blocks, `system[]`, "
               "`toolConfig`, `usage.inputTokens`) and InvokeModel with Anthropic bodies, bare, wrapped "
               "or as a recorded HTTP exchange")

_BLOCK_KINDS = {"text", "image", "document", "video", "toolUse", "toolResult", "reasoningContent", "cachePoint",
                "guardContent"}


def detect(data: Any, ctx: ReadContext) -> bool:
    """A Bedrock runtime call: by its URL, else by Converse-only request or response fields."""
    exchange = ctx.unwrap(data)
    if exchange is None:
        return False
    url = exchange.url or ""
    if url:
        return "bedrock-runtime" in url and (url.endswith(("/converse", "/converse-stream"))
                                             or _is_invoke_anthropic(url, exchange.request))
    body, response = exchange.request, exchange.response
    if isinstance(response, dict) and isinstance(response.get("output"), dict) and "message" in response["output"]:
        return True
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return False
    if "inferenceConfig" in body or "toolConfig" in body:
        return True
    # Blocks without a `type`, keyed by their kind: only Converse writes content this way. Every chat
    # record ahead of openai-chat passes here, so the first typed block ends the look.
    seen = False
    for m in body["messages"]:
        if isinstance(m, dict) and isinstance(m.get("content"), list):
            for b in m["content"]:
                if not (isinstance(b, dict) and "type" not in b and b.keys() & _BLOCK_KINDS):
                    return False
                seen = True
    return seen


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Any]:
    """Turn one record into a :class:`Request`.

    Raises:
        BadRecord: the record lacks what a request needs (model, well-formed messages).
    """
    exchange = ctx.unwrap(record.data)
    if exchange is None or not isinstance(exchange.request, dict):
        raise BadRecord("request body is not a JSON object (cut short?)"
                        if exchange and isinstance(exchange.request, str)
                        else "no Bedrock request in record")
    model = model_id(exchange.url) or exchange.request.get("modelId") or exchange.request.get("model")
    if exchange.url and _is_invoke_anthropic(exchange.url, exchange.request):
        yield from _invoke_anthropic(record, exchange, model, ctx)
        return
    body, response = exchange.request, _response(exchange.response)
    if not model:
        raise BadRecord("no model id in URL or request")
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
        raise BadRecord("`messages` is not a list of messages with a role")
    wrapper = exchange.wrapper
    tool_config = body.get("toolConfig") if isinstance(body.get("toolConfig"), dict) else {}
    request = Request(
        model=str(model),
        requested_model=str(model),
        messages=_system(body.get("system")) + [m for turn in messages for m in _turn(turn)],
        tools=[_tool(t["toolSpec"]) for t in tool_config.get("tools") or []
               if isinstance(t, dict) and isinstance(t.get("toolSpec"), dict)],
        timestamp=exchange.time(ctx.naive_zone),
        session_id=wrapper.get("session_id"),
        sample_rate=sample_rate(wrapper),
        latency_ms=number(wrapper.get("latency_ms") or ((response or {}).get("metrics") or {}).get("latencyMs")),
        # toolChoice is {"auto": {}}, {"any": {}} or {"tool": {"name": …}}: the key is the choice.
        tool_choice=next((k for k in ("auto", "any", "tool") if k in (tool_config.get("toolChoice") or {})), None),
    )
    if response is not None:
        _read_response(request, response)
    if exchange.status_code and exchange.status_code >= 400 and request.status != "error":
        request.status, request.error = "error", f"HTTP {exchange.status_code}"
    # A Converse response has no id of its own: AWS's request id is in a header, or the logger's.
    request.request_id = (header(exchange.response_headers, "x-amzn-requestid") or wrapper.get("request_id")
                          or content_id(body, response))
    yield request


def model_id(url: str | None) -> str:
    """The model (or inference profile) a Bedrock runtime URL names: \
``…/model/us.amazon.nova-micro-v1%3A0/converse``."""
    if not url or "/model/" not in url:
        return ""
    name = unquote(url.split("/model/", 1)[1].split("/", 1)[0])
    return name.rsplit("/", 1)[-1]  # an inference-profile ARN ends in the profile's id


def _is_invoke_anthropic(url: str, body: Any) -> bool:
    return "/invoke" in url and isinstance(body, dict) and "anthropic_version" in body


def _invoke_anthropic(record: RawRecord, exchange: Exchange, model: str, ctx: ReadContext) -> Iterator[Any]:
    # The Messages body on Bedrock names no model: the URL does. Read as Anthropic's, with it added.
    wrapped = {"request": {**exchange.request, "model": model}, "response": exchange.response}
    for request in anthropic_messages.parse(RawRecord(record.path, record.line, wrapped), ctx):
        request.model = request.requested_model = model
        request.format = NAME
        request.timestamp = exchange.time(ctx.naive_zone)
        request.sample_rate = sample_rate(exchange.wrapper)
        request.request_id = header(exchange.response_headers, "x-amzn-requestid") or request.request_id
        if exchange.status_code and exchange.status_code >= 400 and request.status != "error":
            request.status, request.error = "error", f"HTTP {exchange.status_code}"
        yield request


def _system(blocks: Any) -> list[dict[str, Any]]:
    if isinstance(blocks, str):
        return [{"role": "system", "content": blocks}] if blocks else []
    texts = [str(b["text"]) for b in blocks or [] if isinstance(b, dict) and "text" in b]
    return [{"role": "system", "content": "\n\n".join(texts)}] if texts else []


def _turn(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One Converse message as OpenAI Chat messages: tool results split out as ``tool`` messages, in order."""
    role, content = message["role"], message.get("content")
    if not isinstance(content, list):
        return [{"role": role, "content": content}]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        if not isinstance(block, dict):
            raise BadRecord(f"content block is not an object: {block!r:.60}")
        if "text" in block:
            parts.append({"type": "text", "text": str(block["text"] or "")})
        elif isinstance(block.get("toolUse"), dict):
            calls.append(_call(block["toolUse"]))
        elif isinstance(block.get("toolResult"), dict):
            result = block["toolResult"]
            out.append({"role": "tool", "tool_call_id": result.get("toolUseId"), "content": _result_text(result)})
        elif block.keys() & {"image", "document", "video"}:
            parts.append({"type": "file", "file": {}})  # no tiktoken rule prices it: billed from usage
        # reasoningContent is replayed reasoning, cachePoint a marker: no prompt text of their own.
    if parts or calls or not out:
        text_only = len(parts) == 1 and parts[0]["type"] == "text"
        out.append({"role": role, "content": parts[0]["text"] if text_only else (parts or None),
                    **({"tool_calls": calls} if calls else {})})
    return out


def _result_text(result: dict[str, Any]) -> str:
    pieces = []
    for item in result.get("content") or []:
        if isinstance(item, dict) and "text" in item:
            pieces.append(str(item["text"]))
        elif isinstance(item, dict) and "json" in item:
            pieces.append(json.dumps(item["json"], ensure_ascii=False))
    return "\n".join(pieces)


def _call(use: dict[str, Any]) -> dict[str, Any]:
    arguments = use.get("input")
    arguments = arguments if isinstance(arguments, str) else json.dumps(arguments or {}, ensure_ascii=False)
    return {"id": use.get("toolUseId"), "type": "function",
            "function": {"name": use.get("name"), "arguments": arguments}}


def _tool(spec: dict[str, Any]) -> dict[str, Any]:
    schema = spec.get("inputSchema") or {}
    function = {"name": spec.get("name"), "parameters": schema.get("json", schema) if isinstance(schema, dict) else {}}
    if "description" in spec:
        function["description"] = spec["description"]
    return {"type": "function", "function": function}


def _read_response(request: Request, response: dict[str, Any]) -> None:
    if "message" in response and "output" not in response and "usage" not in response:  # an error body
        request.status, request.error = "error", str(response.get("message") or response.get("Message"))
        return
    message = (response.get("output") or {}).get("message")
    if isinstance(message, dict) and isinstance(message.get("content"), list):
        blocks = [b for b in message["content"] if isinstance(b, dict)]
        text = "".join(str(b["text"]) for b in blocks if "text" in b)
        calls = [_call(b["toolUse"]) for b in blocks if isinstance(b.get("toolUse"), dict)]
        request.output = {"role": "assistant", "content": text or None, **({"tool_calls": calls} if calls else {})}
    usage = response.get("usage")
    if isinstance(usage, dict):
        request.raw_usage = usage
        for key, value in normalise_usage(usage).items():
            setattr(request, key, value)


def normalise_usage(usage: dict[str, Any]) -> dict[str, int | None]:
    """Converse ``usage`` as :class:`Request` fields: the prompt is input + cache reads + cache writes."""
    fresh, read, written = (as_int(usage.get(k)) for k in ("inputTokens", "cacheReadInputTokens",
                                                           "cacheWriteInputTokens"))
    present = [n for n in (fresh, read, written) if n is not None]
    return {"reported_prompt_tokens": sum(present) if present else None, "reported_cached_tokens": read,
            "reported_cache_write_tokens": written, "reported_output_tokens": as_int(usage.get("outputTokens"))}


# Streams -----------------------------------------------------------------------------------------

def _response(body: Any) -> dict[str, Any] | None:
    events = _events(body)
    if events is not None:
        return _merged(events)
    return body if isinstance(body, dict) else None


def _events(body: Any) -> list[dict[str, Any]] | None:
    """The events of a logged stream as boto3 yields them (``{"messageStart": {...}}``…); None for a plain body."""
    if isinstance(body, list) and body and all(isinstance(e, dict) for e in body):
        return body
    if isinstance(body, str) and body[:2] in ("b'", 'b"'):  # a cassette keeps the binary stream as its repr
        try:
            body = ast.literal_eval(body)
        except (ValueError, SyntaxError):
            return None
    if isinstance(body, bytes | bytearray):
        return _decode_event_stream(bytes(body))
    return None


def _decode_event_stream(data: bytes) -> list[dict[str, Any]] | None:
    """The events of an AWS event stream: frames of (total length, headers length, CRC, headers, payload, CRC)."""
    events, offset = [], 0
    while offset + 12 <= len(data):
        total, headers_length = struct.unpack_from(">II", data, offset)
        if total < 16 or offset + total > len(data):
            return None  # not an event stream, or cut short
        headers = _frame_headers(data[offset + 12: offset + 12 + headers_length])
        payload = data[offset + 12 + headers_length: offset + total - 4]
        try:
            event = json.loads(payload) if payload else {}
        except ValueError:
            return None
        if headers.get(":message-type") == "event" and isinstance(event, dict):
            event.pop("p", None)  # padding against length side channels, not content
            events.append({headers.get(":event-type", ""): event})
        offset += total
    return events or None


def _frame_headers(raw: bytes) -> dict[str, str]:
    headers, i = {}, 0
    while i < len(raw):
        name_length = raw[i]
        name = raw[i + 1: i + 1 + name_length].decode("utf-8", "replace")
        i += 1 + name_length
        kind = raw[i]
        i += 1
        if kind != 7:  # only string headers matter here; others end the reading of this frame's headers
            break
        (length,) = struct.unpack_from(">H", raw, i)
        headers[name] = raw[i + 2: i + 2 + length].decode("utf-8", "replace")
        i += 2 + length
    return headers


def _merged(events: list[dict[str, Any]]) -> dict[str, Any]:
    """ConverseStream events as one Converse response."""
    blocks: dict[int, dict[str, Any]] = {}
    merged: dict[str, Any] = {}
    for event in events:
        for kind, value in event.items():
            if not isinstance(value, dict):
                continue
            index = value.get("contentBlockIndex", 0)
            if kind == "contentBlockStart":
                start = value.get("start") or {}
                if isinstance(start.get("toolUse"), dict):
                    blocks[index] = {"toolUse": {**start["toolUse"], "input": ""}}
            elif kind == "contentBlockDelta":
                delta = value.get("delta") or {}
                block = blocks.setdefault(index, {})
                if "text" in delta:
                    block["text"] = block.get("text", "") + str(delta["text"])
                if isinstance(delta.get("toolUse"), dict):
                    use = block.setdefault("toolUse", {"input": ""})
                    use["input"] = use.get("input", "") + str(delta["toolUse"].get("input") or "")
            elif kind == "metadata":
                merged.update({k: value[k] for k in ("usage", "metrics") if k in value})
            elif kind == "messageStop":
                merged["stopReason"] = value.get("stopReason")
    merged["output"] = {"message": {"role": "assistant", "content": [blocks[i] for i in sorted(blocks)]}}
    return merged
