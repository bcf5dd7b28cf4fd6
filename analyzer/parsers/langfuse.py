"""Langfuse exports: turn GENERATION observations into :class:`Request` objects in OpenAI Chat shape.

The parser reads three shapes (formats.md §6): a single observation (one line of an export); a trace
export ``{trace, observations}``, or the API's trace that holds its observations; and a public API page
``{data: [observations], meta}``. Only GENERATION observations are model calls. ``input``, ``output``,
``metadata`` and ``modelParameters`` are often JSON held in strings, sometimes encoded twice. ``input`` is
whatever the integration logged: Chat messages, ``{messages, tools}``, or Responses items and
``{instructions, input, tools}``, or LlamaIndex's ``{args: [...]}`` (the wrapped call's bound
arguments), whose prompt may sit in the arguments or in ``metadata``. :func:`normalise_usage` undoes
Langfuse's usage arithmetic.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from ..errors import BadRecord
from ..models import RawRecord, Request
from ..tokenizing import content_text
from .common import content_id, number
from .context import ReadContext
from .openai_responses import chat_messages as responses_items
from .openai_responses import chat_response_format as responses_format
from .openai_responses import chat_tool as responses_tool

NAME = "langfuse"
DESCRIPTION = ("Langfuse export: `GENERATION` observations, one per line, in a trace export "
               "`{trace, observations}` or in an API list page `{data: [...]}`; LlamaIndex's `{args: [...]}` "
               "inputs read from their arguments or metadata")

# The public API's observation types. No provider body uses this upper-case spelling.
_TYPES = {"GENERATION", "SPAN", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING", "GUARDRAIL"}
# Item and part types that only Responses input has. Chat messages carry a role and no type.
_RESPONSES_ITEMS = {"message", "function_call", "function_call_output", "reasoning", "item_reference"}
_RESPONSES_PARTS = {"input_text", "output_text", "input_image", "input_file"}


def _is_observation(data: Any) -> bool:
    return (isinstance(data, dict) and data.get("type") in _TYPES and isinstance(data.get("id"), str)
            and "startTime" in data)


def detect(data: Any, ctx: ReadContext) -> bool:
    """Accept an observation, a trace export or a page of observations. Matching keys alone are not enough."""
    if _is_observation(data):
        return True
    if not isinstance(data, dict):
        return False
    found = data.get("observations")
    if isinstance(data.get("trace"), dict) and isinstance(found, list):
        return True  # a trace export
    if not (isinstance(found, list) and "id" in data):  # not GET /traces/{id}, a trace holding its observations
        found = data.get("data")  # so perhaps a page of the observations list API
    return isinstance(found, list) and bool(found) and all(_is_observation(o) for o in found)


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Request | BadRecord]:
    """Yield one Request per GENERATION in the record, or a BadRecord for a generation that fails.

    Raises:
        BadRecord: a lone observation that is not a GENERATION, or a trace with no GENERATION.
    """
    data = record.data
    if _is_observation(data):
        if data["type"] != "GENERATION":
            raise BadRecord(f"langfuse {data['type']} observation: not a model call")
        yield _request(data, {}, ctx)
        return
    trace = data["trace"] if isinstance(data.get("trace"), dict) else data if "observations" in data else {}
    # Spans, events, tools and the other observations of a trace or page are the steps around its
    # model calls, not records of their own, so they are skipped without a reject.
    found = data["observations"] if "observations" in data else data["data"]
    generations = [o for o in found if isinstance(o, dict) and o.get("type") == "GENERATION"]
    if not generations:
        raise BadRecord("langfuse trace without GENERATION observations: no model call")
    for observation in generations:
        try:
            yield _request(observation, trace, ctx)
        except BadRecord as exc:
            yield exc


def _request(obs: dict[str, Any], trace: dict[str, Any], ctx: ReadContext) -> Request:
    if not obs.get("model"):
        raise BadRecord("langfuse generation without a model")
    params, metadata = _dict(_decode(obs.get("modelParameters"))), _dict(_decode(obs.get("metadata")))
    raw_input = _decode(obs.get("input"))
    messages, tools = _llamaindex_prompt(raw_input, metadata) if _is_llamaindex(raw_input) else _prompt(raw_input)
    if not messages:
        raise BadRecord("langfuse generation without input messages (input not captured or masked)")
    tools += _list(params.get("tools")) + _list(params.get("functions"))
    start, end = ctx.time(obs.get("startTime")), ctx.time(obs.get("endTime"))
    # end - start is exact and needs no unit. The API's `latency` is in seconds (§6), but internal
    # views give milliseconds, so `latency` is used only when there is no end time.
    seconds = number(obs.get("latency"))
    latency = (end - start).total_seconds() * 1000 if start and end and end >= start else (
        seconds * 1000 if seconds is not None else None)
    # Langfuse keeps one model name, and integrations overwrite the requested name with the response's.
    # sample_rate stays None: the SDK samples, and the kept records carry no rate.
    request = Request(
        model=str(obs["model"]), requested_model=str(obs["model"]), messages=messages,
        tools=[_tool(t) for t in tools if isinstance(t, dict)], output=_output(_decode(obs.get("output"))),
        response_format=_format(params.get("response_format") or metadata.get("response_format")
                                or metadata.get("text_format") or _dict(raw_input).get("response_format")),
        timestamp=start or end, latency_ms=latency,
        request_id=obs.get("id") or content_id(obs.get("input"), obs.get("output")),
        user=trace.get("userId") or obs.get("userId"), session_id=trace.get("sessionId") or obs.get("sessionId"))
    # promptName and promptVersion name a managed prompt template: its requests are one template.
    if obs.get("promptName") or obs.get("promptId"):
        request.prompt_id = str(obs.get("promptName") or obs.get("promptId"))
        request.prompt_version = str(obs["promptVersion"]) if obs.get("promptVersion") is not None else None
    if obs.get("level") == "ERROR":
        request.status, request.error = "error", str(obs.get("statusMessage") or "level ERROR")
    request.raw_usage, usage = _usage(obs)
    for key, value in usage.items():
        setattr(request, key, value)
    return request


def _decode(value: Any) -> Any:
    """Decode JSON held in a string, up to three times: exports often encode input and output twice."""
    for _ in range(3):
        if not (isinstance(value, str) and value.lstrip()[:1] in ("{", "[", '"')):
            break
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return [_decode(v) for v in value] if isinstance(value := _decode(value), list) else []


def _is_llamaindex(value: Any) -> bool:
    """LlamaIndex's wrapper: the bound arguments of a ``*args`` call, no messages of their own."""
    return (isinstance(value, dict) and isinstance(_decode(value.get("args")), list)
            and not any(k in value for k in ("messages", "input", "prompt", "role")))


def _llamaindex_prompt(value: dict[str, Any], metadata: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any]]:
    """The prompt of a LlamaIndex ``{args: [...]}`` input: messages or a prompt string among the
    arguments, else in ``metadata`` (``messages``, ``prompt``, or OpenInference's flattened
    ``llm.input_messages.N.message.*``, also under ``metadata.attributes``).

    Raises:
        BadRecord: neither holds a prompt.
    """
    for arg in _decode(value["args"]):
        arg = _decode(arg)
        if isinstance(arg, str) and arg.strip():
            return [{"role": "user", "content": arg}], []
        if isinstance(arg, dict) and "role" in arg:
            arg = [arg]
        if isinstance(arg, list) and arg and all(isinstance(m, dict) and "role" in m for m in arg):
            return [_llamaindex_message(m) for m in arg], []
    for source in (metadata, _dict(_decode(metadata.get("attributes")))):
        if isinstance(source.get("messages"), list | str) or isinstance(source.get("prompt"), list | str):
            return _prompt({"messages": source["messages"]} if "messages" in source else {"prompt": source["prompt"]})
        flat = [(int(k.split(".")[2]), k.rsplit(".", 1)[1], v) for k, v in source.items()
                if k.startswith("llm.input_messages.") and k.split(".")[2].isdigit()]
        if flat:
            by_index: dict[int, dict[str, Any]] = {}
            for index, field, text in sorted(flat):
                by_index.setdefault(index, {})[field] = text
            return [{"role": m.get("role") or "user", "content": m.get("content") or ""} for m in by_index.values()], []
    raise BadRecord("langfuse generation input is LlamaIndex's {args: [...]} wrapper with no prompt in its arguments "
                    "or metadata (no messages, prompt or llm.input_messages.*): nothing to count")


def _llamaindex_message(message: dict[str, Any]) -> dict[str, Any]:
    """A LlamaIndex ChatMessage (``content`` or, since 0.12, text ``blocks``) as a Chat message."""
    content = message.get("content")
    if content is None and isinstance(message.get("blocks"), list):
        content = "".join(b.get("text") or "" for b in message["blocks"]
                          if isinstance(b, dict) and b.get("block_type", "text") == "text")
    return _chat({"role": str(message.get("role") or "user"), "content": content or ""})


def _prompt(value: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """Chat messages and tool definitions from a generation's input, in any of its shapes."""
    tools: list[Any] = []
    prefix: list[dict[str, Any]] = []
    if isinstance(value, dict) and "role" not in value:
        # Shapes handled: {messages, tools, functions} (OpenAI integration with tools),
        # {instructions, input, tools} (Responses), and {system, messages} or {prompt} (Vercel AI SDK).
        tools = _list(value.get("tools")) + _list(value.get("functions"))
        system = value.get("instructions") or value.get("system")
        prefix = [{"role": "system", "content": system}] if isinstance(system, str) and system else []
        value = _decode(next((value[k] for k in ("messages", "input", "prompt") if k in value), None))
    if value is None:
        return prefix, tools
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, dict | str) for i in items):
        raise BadRecord("langfuse input holds items that are neither messages nor text")
    items = [{"role": "user", "content": i} if isinstance(i, str) else i for i in items]
    parts = [p for i in items if isinstance(i.get("content"), list) for p in i["content"] if isinstance(p, dict)]
    if any(i.get("type") in _RESPONSES_ITEMS or "role" not in i for i in items) or any(
            p.get("type") in _RESPONSES_PARTS for p in parts):
        return prefix + responses_items(items), tools
    messages = []
    for message in items:
        content = _decode(message.get("content"))
        # The LangChain integration appends each bound tool as {"role": "tool", "content": tool}.
        # That is a definition, not a tool result, and it has no tool_call_id.
        if message["role"] == "tool" and "tool_call_id" not in message and isinstance(content, dict):
            tools.append(content)
        else:
            messages.append(_chat(message))
    return prefix + messages, tools


def _chat(message: dict[str, Any]) -> dict[str, Any]:
    """Return a Chat message, with tool calls in Chat shape and LangChain's extra kwargs dropped."""
    out = {k: v for k, v in message.items() if k != "additional_kwargs"}
    if isinstance(out.get("tool_calls"), list):
        out["tool_calls"] = [_call(c) for c in out["tool_calls"] if isinstance(c, dict)]
    return out


def _call(call: dict[str, Any]) -> dict[str, Any]:
    """Return a Chat tool call built from a LangChain ``{name, args, id}``, a Responses or an Anthropic call."""
    if "function" in call:
        return call
    args = call.get("args", call.get("arguments", call.get("input")))
    arguments = args if isinstance(args, str) else json.dumps(args or {}, ensure_ascii=False)
    return {"id": call.get("id") or call.get("call_id"), "type": "function",
            "function": {"name": call.get("name"), "arguments": arguments}}


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    """Return a Chat tool built from a Chat, flat Responses, Anthropic or bare-function definition."""
    if "function" in tool:
        return tool
    if "name" not in tool:
        return responses_tool(tool)  # a built-in Responses tool such as web_search: only its type is known
    fn = {"name": tool["name"], "description": tool.get("description"),
          "parameters": _decode(tool.get("parameters", tool.get("input_schema"))) or {}}
    return {"type": "function", "function": {k: v for k, v in fn.items() if v is not None}}


def _format(value: Any) -> dict[str, Any] | None:
    """Structured output from a Chat response_format, a Responses text.format or a bare JSON schema
    (the Python OpenAI integration logs a Pydantic ``response_format`` as its schema, in metadata)."""
    value = _decode(value)
    if not isinstance(value, dict):
        return None
    if value.get("type") == "json_schema":
        return value if "json_schema" in value else responses_format({"format": value})
    if "properties" in value:
        return {"type": "json_schema", "json_schema": {"name": value.get("title") or "output", "schema": value}}
    return None  # "text" and "json_object" add no schema tokens


def _output(value: Any) -> dict[str, Any] | None:
    """The assistant message from a logged message, text, Responses items or whole response."""
    if isinstance(value, dict) and isinstance(value.get("choices"), list) and value["choices"]:
        value = _dict(value["choices"][0]).get("message") or {}  # a whole chat.completion
    elif isinstance(value, dict) and isinstance(value.get("output"), list):
        value = value["output"]  # a whole Responses object
    if isinstance(value, dict) and value.get("type") in _RESPONSES_ITEMS:
        value = [value]  # the OpenAI integration logs a single output item without its list
    if isinstance(value, list):
        items = [i for i in value if isinstance(i, dict)]
        if items and all("role" in i and "type" not in i for i in items):
            return _chat(items[-1])
        calls = [_call(i) for i in items if i.get("type") == "function_call"]
        text = "".join(content_text(i.get("content")) for i in items if i.get("type") in (None, "message"))
        return {"role": "assistant", "content": text or None, **({"tool_calls": calls} if calls else {})}
    if isinstance(value, dict) and value.keys() & {"role", "content", "tool_calls", "function_call"}:
        return _chat({**value, "role": value.get("role") or "assistant"})
    if value is None:
        return None
    # Plain text, or a structured result logged as a parsed object and counted as its JSON text.
    return {"role": "assistant", "content": value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}


def _usage(obs: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, int | None]]:
    """The usage as logged, and as Request fields: ``usageDetails``, else the deprecated ``usage``."""
    details = _decode(obs.get("usageDetails"))
    if isinstance(details, dict):
        return details or None, normalise_usage(details)
    legacy = _decode(obs.get("usage"))
    if isinstance(legacy, dict) and legacy.get("unit") in (None, "TOKENS"):
        # The deprecated view already sums every input*/output* key, so it holds provider totals.
        return legacy, {"reported_prompt_tokens": _count(legacy.get("input")),
                        "reported_output_tokens": _count(legacy.get("output"))}
    return None, {}


def normalise_usage(details: dict[str, Any]) -> dict[str, int | None]:
    """Rebuild the provider's totals from ``usageDetails``.

    On ingest, Langfuse subtracts each detail from ``input`` or ``output`` (formats.md §6). The keys
    stay disjoint and the UI sums every key that contains "input" or "output", so the prompt is that
    sum too. The LangChain integration also subtracts the Vertex keys ``cached_modality_*``. The
    OpenInference keys ``prompt_details.*`` and ``completion_details.*`` pass through Langfuse's
    OTel mapping without being subtracted, so they are already counted in ``input`` and ``output``.
    """
    counts = {str(k).lower(): n for k, v in details.items() if (n := _count(v)) is not None}
    prompt = [k for k in counts if "input" in k or k.startswith("cached_")]
    cache = prompt + [k for k in counts if k.startswith("prompt_details.")]
    keys = {"reported_prompt_tokens": prompt,
            "reported_cached_tokens": [k for k in cache if "cache_read" in k or "cached" in k],
            "reported_cache_write_tokens": [k for k in cache if "cache_creation" in k or "cache_write" in k],
            "reported_output_tokens": [k for k in counts if "output" in k],
            "reported_reasoning_tokens": [k for k in counts if "reasoning" in k and (
                "output" in k or k.startswith("completion_details."))]}
    return {field: sum(counts[k] for k in found) if found else None for field, found in keys.items()}


def _count(value: Any) -> int | None:
    """Return a token count from a free-form usage value, or None for nested objects and non-numbers."""
    n = number(value) if not isinstance(value, str) or value.strip().isdigit() else None
    return int(n) if n is not None and math.isfinite(n) else None
