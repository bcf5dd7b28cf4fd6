"""Google Gemini: a ``generateContent`` call (Gemini API or Vertex AI) into a :class:`Request` in OpenAI Chat shape.

Two spellings of one request reach logs: the REST body (``contents``, ``systemInstruction``,
``tools[].functionDeclarations``, ``generationConfig``), as recorded HTTP exchanges keep it, and the
Python SDK's call (``model``, ``contents``, ``config{system_instruction, tools, response_schema}``),
as tracing wrappers keep it. ``contents`` is a bare string, a list of strings, or turns
``{role: user|model, parts[]}``. A part is ``text``, ``function_call``, ``function_response``, or a
medium (``inline_data``, ``file_data``), which no tiktoken rule prices: it is billed from the
reported usage, like other unpriced media (:mod:`analyzer.segmenting`). Thought parts are the
model's reasoning replayed, left out like Anthropic's thinking.

``usageMetadata``: ``promptTokenCount`` includes ``cachedContentTokenCount``;
``candidatesTokenCount`` excludes ``thoughtsTokenCount``, which is billed as output, so the
reported output is their sum and the thoughts are its reasoning (as OpenAI reports it).
A streamed call (``streamGenerateContent``, SSE) is rebuilt from its chunks first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from ..errors import BadRecord
from ..models import RawRecord, Request
from .common import TIME_KEYS, Exchange, as_int, content_id, maybe_json, number, sample_rate
from .context import ReadContext

NAME = "gemini"
DESCRIPTION = ("Google Gemini / Vertex AI `generateContent`: a request with `contents` (REST or the Python "
               "SDK's `model`/`contents`/`config`) and its `candidates` + `usageMetadata` response, bare, "
               "wrapped as request/response or a recorded HTTP exchange (streams too)")

# `models/gemini-2.5-flash`, `publishers/google/models/gemini-2.5-flash`, a tuned model's
# `projects/…/locations/…/endpoints/…`: the model is what follows the last `models/`.
_MODEL_IN_PATH = re.compile(r"models/([^/:?]+)")


def detect(data: Any, ctx: ReadContext) -> bool:
    """A Gemini call: by its URL, or by a body with ``contents`` and no OpenAI or Anthropic ``messages``."""
    exchange = _exchange(data, ctx)
    if exchange is None:
        return False
    url = exchange.url or ""
    if url:
        return ":generateContent" in url or ":streamGenerateContent" in url
    body = exchange.request
    return isinstance(body, dict) and "contents" in body and "messages" not in body


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Request]:
    """Turn one record into a :class:`Request`.

    Raises:
        BadRecord: the record lacks what a request needs (model, well-formed contents).
    """
    exchange = _exchange(record.data, ctx)
    if exchange is None or not isinstance(exchange.request, dict):
        raise BadRecord("no Gemini request in record")
    body, response = exchange.request, _response(exchange.response)
    config = _config(body)
    model = model_name((response or {}).get("modelVersion") or (response or {}).get("model_version")
                       or body.get("model") or _model_in_url(exchange.url))
    if not model:
        raise BadRecord("no model in request, response or URL")
    wrapper = exchange.wrapper
    request = Request(
        model=model,
        requested_model=model_name(body.get("model") or _model_in_url(exchange.url)) or None,
        messages=_system(_get(config, "system_instruction")) + _messages(body.get("contents")),
        tools=[t for tool in _get(config, "tools") or [] if isinstance(tool, dict) for t in _tools(tool)],
        response_format=_response_format(config),
        timestamp=exchange.time(ctx.naive_zone) or ctx.time((response or {}).get("createTime")),
        user=_labels(body).get("user"),
        session_id=wrapper.get("session_id"),
        sample_rate=sample_rate(wrapper),
        latency_ms=number(wrapper.get("latency_ms") or wrapper.get("durationMs")),
    )
    if response is not None:
        _read_response(request, response)
    if exchange.status_code and exchange.status_code >= 400 and request.status != "error":
        request.status, request.error = "error", f"HTTP {exchange.status_code}"
    found = response or {}
    request.request_id = found.get("responseId") or found.get("response_id") or content_id(body, exchange.response)
    yield request


def model_name(value: Any) -> str:
    """A Gemini model as priced: ``projects/p/locations/l/publishers/google/models/gemini-2.5-flash`` \
→ ``gemini-2.5-flash``."""
    if not isinstance(value, str) or not value:
        return ""
    found = _MODEL_IN_PATH.findall(value)
    return found[-1] if found else value


def _exchange(data: Any, ctx: ReadContext) -> Exchange | None:
    exchange = ctx.unwrap(data)
    if exchange is None and isinstance(data, dict) and "contents" in data:
        # The SDK's call as a tracer logs it: the request's fields with its response and time beside them.
        body = {k: v for k, v in data.items() if k not in ("response", *TIME_KEYS)}
        return Exchange(body, maybe_json(data.get("response")), data)
    return exchange


def _model_in_url(url: str | None) -> str:
    return unquote(url) if url and "models/" in url else ""


def _get(mapping: Any, snake: str) -> Any:
    """A field in either spelling: the SDK's ``system_instruction`` or REST's ``systemInstruction``."""
    if not isinstance(mapping, dict):
        return None
    if snake in mapping:
        return mapping[snake]
    head, *rest = snake.split("_")
    return mapping.get(head + "".join(word.title() for word in rest))


def _config(body: dict[str, Any]) -> dict[str, Any]:
    """Everything that configures the call, in one dict: the SDK nests it in ``config``, REST splits it
    between top-level fields and ``generationConfig``."""
    found: dict[str, Any] = {}
    for part in (_get(body, "generation_config"), body.get("config"), body):
        if isinstance(part, dict):
            found.update(part)
    return found


def _labels(body: dict[str, Any]) -> dict[str, Any]:
    labels = _get(body.get("config"), "labels") or body.get("labels")
    return labels if isinstance(labels, dict) else {}


def _system(instruction: Any) -> list[dict[str, Any]]:
    # A string, a Content {parts: [...]}, or a list of parts/strings: one system message, its texts joined.
    if isinstance(instruction, dict):
        instruction = instruction.get("parts")
    if isinstance(instruction, list):
        instruction = "\n".join(p if isinstance(p, str) else str(p.get("text") or "")
                                for p in instruction if isinstance(p, str | dict))
    return [{"role": "system", "content": instruction}] if isinstance(instruction, str) and instruction else []


def _messages(contents: Any) -> list[dict[str, Any]]:
    if isinstance(contents, str):
        return [{"role": "user", "content": contents}]
    if not isinstance(contents, list):
        raise BadRecord("`contents` is neither a string nor a list")
    messages: list[dict[str, Any]] = []
    loose: list[Any] = []  # the SDK takes a list of strings and parts as one user turn
    for item in contents:
        if isinstance(item, dict) and "parts" in item:
            if loose:
                messages += _turn("user", loose)
                loose = []
            messages += _turn(item.get("role") or "user", item.get("parts"))
        else:
            loose.append(item)
    return messages + (_turn("user", loose) if loose else [])


def _turn(role: str, parts: Any) -> list[dict[str, Any]]:
    """One Gemini turn as OpenAI Chat messages: function responses split out as ``tool`` messages."""
    if isinstance(parts, dict | str):
        parts = [parts]
    if not isinstance(parts, list):
        raise BadRecord("`parts` of a turn is not a list")
    role = "assistant" if role == "model" else str(role)
    out: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, str):
            content.append({"type": "text", "text": part})
            continue
        if not isinstance(part, dict):
            raise BadRecord(f"content part is not an object: {part!r:.60}")
        if part.get("thought"):
            continue
        call, result = _get(part, "function_call"), _get(part, "function_response")
        if "text" in part:
            content.append({"type": "text", "text": str(part.get("text") or "")})
        elif isinstance(call, dict):
            calls.append(_call(call))
        elif isinstance(result, dict):
            out.append({"role": "tool", "tool_call_id": result.get("id") or result.get("name"),
                        "content": json.dumps(result.get("response"), ensure_ascii=False)})
        elif _get(part, "inline_data") or _get(part, "file_data"):
            medium = _get(part, "inline_data") or _get(part, "file_data")
            content.append({"type": "file", "file": {"mime_type": _get(medium, "mime_type")}})
        # Other parts (a bare thoughtSignature, executable code results) carry no prompt text.
    if content or calls or not out:
        out.append({"role": role, "content": _plain(content), **({"tool_calls": calls} if calls else {})})
    return out


def _plain(content: list[dict[str, Any]]) -> str | list[dict[str, Any]] | None:
    # One text part is a string, as the other formats give it, so that the fast path reads it.
    if len(content) == 1 and content[0]["type"] == "text":
        return content[0]["text"]
    return content or None


def _call(call: dict[str, Any]) -> dict[str, Any]:
    arguments = json.dumps(call.get("args") or {}, ensure_ascii=False)
    return {"id": call.get("id"), "type": "function", "function": {"name": call.get("name"), "arguments": arguments}}


def _tools(tool: dict[str, Any]) -> list[dict[str, Any]]:
    declarations = _get(tool, "function_declarations")
    if isinstance(declarations, list):
        return [{"type": "function", "function": {
            "name": d.get("name"), "description": d.get("description"),
            "parameters": _get(d, "parameters_json_schema") or d.get("parameters") or {}}}
            for d in declarations if isinstance(d, dict)]
    # Built-in tools (google_search, code_execution, url_context…): Google defines them, only the name is sent.
    return [{"type": name, "function": {"name": name}} for name in tool]


def _response_format(config: dict[str, Any]) -> dict[str, Any] | None:
    schema = _get(config, "response_json_schema") or _get(config, "response_schema")
    if isinstance(schema, dict):
        return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    return None


def _response(response: Any) -> dict[str, Any] | None:
    """A response body, or the whole response a stream of chunks stands for."""
    chunks = _chunks(response)
    if chunks is not None:
        return _merged(chunks)
    return response if isinstance(response, dict) else None


def _chunks(body: Any) -> list[dict[str, Any]] | None:
    if isinstance(body, list) and body and all(isinstance(c, dict) for c in body):
        return body
    if isinstance(body, str) and body.lstrip().startswith("data:"):
        events = [maybe_json(line[5:].strip()) for line in body.splitlines() if line.startswith("data:")]
        return [e for e in events if isinstance(e, dict)] or None
    return None


def _merged(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """A stream's chunks as one response: the parts in order, the last usage and finish reason."""
    parts: list[dict[str, Any]] = []
    merged: dict[str, Any] = {}
    for chunk in chunks:
        for key, value in chunk.items():
            if key != "candidates":
                merged[key] = value  # usage is cumulative: the last chunk's is the call's
        candidates = chunk.get("candidates")
        if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
            content = candidates[0].get("content") or {}
            parts += [p for p in content.get("parts") or [] if isinstance(p, dict)]
    merged["candidates"] = [{"content": {"role": "model", "parts": parts}}]
    return merged


def _read_response(request: Request, response: dict[str, Any]) -> None:
    error = response.get("error")
    if error:
        request.status = "error"
        request.error = str(error.get("message") if isinstance(error, dict) else error)
        return
    candidates = response.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        content = candidates[0].get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list):
            blocks = [p for p in parts if isinstance(p, dict) and not p.get("thought")]
            text = "".join(str(p["text"]) for p in blocks if "text" in p)
            calls = [_call(c) for c in (_get(p, "function_call") for p in blocks) if isinstance(c, dict)]
            request.output = {"role": "assistant", "content": text or None, **({"tool_calls": calls} if calls else {})}
    usage = _get(response, "usage_metadata")
    if isinstance(usage, dict):
        request.raw_usage = usage
        for key, value in normalise_usage(usage).items():
            setattr(request, key, value)


def normalise_usage(usage: dict[str, Any]) -> dict[str, int | None]:
    """``usageMetadata`` as :class:`Request` fields (see the module docstring)."""
    prompt, tool_prompt = as_int(_get(usage, "prompt_token_count")), as_int(_get(usage, "tool_use_prompt_token_count"))
    candidates, thoughts = as_int(_get(usage, "candidates_token_count")), as_int(_get(usage, "thoughts_token_count"))
    # Tool-use prompt tokens (what a built-in tool fed back) are billed as input.
    reported_prompt = None if prompt is None and tool_prompt is None else (prompt or 0) + (tool_prompt or 0)
    output = None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    return {"reported_prompt_tokens": reported_prompt,
            "reported_cached_tokens": as_int(_get(usage, "cached_content_token_count")),
            "reported_output_tokens": output, "reported_reasoning_tokens": thoughts}

