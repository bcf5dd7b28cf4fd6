"""OpenTelemetry GenAI spans in OTLP/JSON: each model-call span becomes one :class:`Request` in Chat shape.

A record is an OTLP/JSON export (``{resourceSpans: [{scopeSpans: [{spans: […]}]}]}``, one request
per model-call span, other spans skipped) or one span on its own line (formats.md §8). Content
comes in two generations: the current ``gen_ai.input.messages``/``output.messages``/
``system_instructions``/``tool.definitions`` JSON strings (also found on the
``gen_ai.client.inference.operation.details`` event), and OpenLLMetry's older flattened
``gen_ai.prompt.{i}.*``/``gen_ai.completion.{i}.*``/``llm.request.functions.{i}.*``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import BadRecord
from ..models import Ignored, RawRecord, Request
from . import anthropic_messages
from .common import as_int, content_id, maybe_json
from .context import ReadContext

NAME = "otel-genai"
DESCRIPTION = ("OpenTelemetry GenAI spans in OTLP/JSON (an export with `resourceSpans`, or one span per line): "
               "gen_ai.* attributes, current message JSON or OpenLLMetry's indexed gen_ai.prompt.N.*; event spans "
               "with no prompt, reply or usage are ignored")

_MODEL_OPS = {"chat", "text_completion", "generate_content"}
_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_ERROR_CODES = {2, "2", "STATUS_CODE_ERROR", "ERROR"}
_MEDIA_PARTS = {"blob", "uri", "file"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def detect(data: Any, ctx: ReadContext) -> bool:
    """An OTLP/JSON export, or a lone span: ``traceId`` and ``spanId`` with OTLP times or attributes."""
    if not isinstance(data, dict):
        return False
    if isinstance(data.get("resourceSpans"), list):
        return True
    return (isinstance(data.get("traceId"), str) and isinstance(data.get("spanId"), str)
            and ("startTimeUnixNano" in data or isinstance(data.get("attributes"), list)))


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Request | BadRecord | Ignored]:
    """One request per model-call span; a failing span of an export is a BadRecord item, the rest are kept.

    A model-call span with no prompt, no reply and no usage is :class:`Ignored`: frameworks emit such
    spans beside the call's own (a stream's or a finish event's, e.g. Axiom's ``chat <model> stream``),
    and there is nothing in them to count. One with a reply or usage but no prompt is still a reject.

    Raises:
        BadRecord: a lone span that is no model call, or an export without any model-call span.
    """
    data = record.data
    if not isinstance(data.get("resourceSpans"), list):
        attrs = span_attributes(data)
        why = _not_a_model_call(attrs)
        if why:
            raise BadRecord(f"span {data.get('name')!r} is not a GenAI model call: {why}")
        yield _ignored(data, attrs) or _request(data, attrs, ctx)
        return
    spans = [span for rs in data["resourceSpans"] if isinstance(rs, dict)
             for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or [] if isinstance(ss, dict)
             for span in ss.get("spans") or [] if isinstance(span, dict)]
    found = 0
    for span in spans:
        attrs = span_attributes(span)
        if _not_a_model_call(attrs):
            continue  # HTTP, tool, agent and embedding spans of the same trace are not records of their own
        found += 1
        try:
            yield _ignored(span, attrs) or _request(span, attrs, ctx)
        except BadRecord as exc:
            yield BadRecord(f"span {span.get('spanId')}: {exc.reason}")
    if not found:
        raise BadRecord(f"no GenAI model-call span among the export's {len(spans)} spans")


def attributes(items: Any) -> dict[str, Any]:
    """OTLP ``[{key, value: {stringValue|intValue|…}}]`` as a plain dict (a dict is taken as it is)."""
    if isinstance(items, dict):
        return dict(items)
    return {kv["key"]: _value(kv.get("value")) for kv in items or [] if isinstance(kv, dict) and "key" in kv}


def _value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "intValue" in value:  # int64 travels as a JSON string in the proto3 JSON mapping (§8)
        return int(value["intValue"]) if str(value["intValue"]).lstrip("-").isdigit() else value["intValue"]
    if "arrayValue" in value:
        return [_value(v) for v in (value["arrayValue"] or {}).get("values") or []]
    if "kvlistValue" in value:
        return attributes((value["kvlistValue"] or {}).get("values"))
    return next((value[k] for k in ("stringValue", "doubleValue", "boolValue", "bytesValue") if k in value), None)


def span_attributes(span: dict[str, Any]) -> dict[str, Any]:
    """The span's attributes, completed by those of its inference-details event (span attributes win)."""
    attrs = attributes(span.get("attributes"))
    for event in span.get("events") or []:
        if isinstance(event, dict) and event.get("name") == _DETAILS_EVENT:
            for key, value in attributes(event.get("attributes")).items():
                attrs.setdefault(key, value)
    return attrs


def _not_a_model_call(attrs: dict[str, Any]) -> str | None:
    """Why the span is no model call, or None when it is one."""
    op = attrs.get("gen_ai.operation.name")
    if op is not None:  # invoke_agent spans repeat their chat spans' messages and usage: never counted
        return None if op in _MODEL_OPS else f"operation {op!r}"
    kind = attrs.get("llm.request.type")  # OpenLLMetry before gen_ai.operation.name
    if kind is not None and kind not in ("chat", "completion"):
        return f"llm.request.type {kind!r}"
    if not any(k in attrs for k in ("gen_ai.request.model", "gen_ai.system", "gen_ai.provider.name")):
        return "no gen_ai.operation.name, model or provider attribute"
    content = any(k in attrs for k in ("gen_ai.input.messages", "gen_ai.system_instructions"))
    if content or any(k.startswith(("gen_ai.prompt.", "gen_ai.usage.", "llm.usage.")) for k in attrs):
        return None
    return "it names a model but carries no prompt or usage"


def _ignored(span: dict[str, Any], attrs: dict[str, Any]) -> Ignored | None:
    """An :class:`Ignored` for a model-call span that carries nothing to count; None for any other."""
    carried = ("gen_ai.input.messages", "gen_ai.system_instructions", "gen_ai.output.messages",
               "gen_ai.prompt.", "gen_ai.completion.", "gen_ai.usage.", "llm.usage.")
    if any(key.startswith(carried) for key in attrs):
        return None
    return Ignored(f"span {span.get('spanId') or span.get('name')!r} carries no prompt, reply or usage "
                   "(an event span of a call recorded by its own span)")


def _request(span: dict[str, Any], attrs: dict[str, Any], ctx: ReadContext) -> Request:
    model = attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")
    if not model:
        raise BadRecord("no gen_ai.response.model or gen_ai.request.model")
    start, end = _nanos(span.get("startTimeUnixNano")), _nanos(span.get("endTimeUnixNano"))
    if "gen_ai.input.messages" in attrs or "gen_ai.system_instructions" in attrs:
        messages = _system(attrs.get("gen_ai.system_instructions"))
        messages += [m for message in _json_list(attrs, "gen_ai.input.messages") for m in _from_parts(message)]
    else:
        messages = [m for fields in _indexed(attrs, "gen_ai.prompt.") for m in _legacy_message(fields)]
    if not messages:
        # Usage alone cannot say what the prompt was made of: stored, it would be a request of 0
        # counted tokens whose whole bill reads as the reply priming's. GenAI instrumentations leave
        # content out unless told to keep it.
        raise BadRecord("span carries no prompt (no gen_ai.input.messages, gen_ai.system_instructions or "
                        "gen_ai.prompt.*): turn on the instrumentation's message content capture")
    trace_id, span_id = span.get("traceId"), span.get("spanId")
    request = Request(
        model=str(model), requested_model=attrs.get("gen_ai.request.model"), messages=messages,
        tools=_tools(attrs), output=_output(attrs), response_format=_response_format(attrs),
        timestamp=_time(span.get("startTimeUnixNano"), start, ctx),
        # Ids are hex, or base64 from some exporters (§8): kept as given, they only need to be stable.
        request_id=str(attrs.get("gen_ai.response.id") or (f"{trace_id}:{span_id}" if trace_id and span_id
                                                             else content_id(span, None))),
        user=attrs.get("user.id") or attrs.get("llm.user") or attrs.get("traceloop.association.properties.user_id"),
        session_id=attrs.get("gen_ai.conversation.id") or attrs.get("traceloop.association.properties.session_id"),
        latency_ms=(end - start) / 1e6 if start and end and end >= start else None,
    )
    # OpenLLMetry's managed prompts: traceloop.prompt.{key,version} name the template.
    if attrs.get("traceloop.prompt.key"):
        request.prompt_id = str(attrs["traceloop.prompt.key"])
        version = attrs.get("traceloop.prompt.version")
        request.prompt_version = str(version) if version is not None else None
    status = span.get("status") if isinstance(span.get("status"), dict) else {}
    if status.get("code") in _ERROR_CODES or attrs.get("error.type"):
        request.status = "error"
        request.error = str(status.get("message") or attrs.get("error.type") or "span status ERROR")
    _usage(request, attrs)
    return request


def _nanos(value: Any) -> int | None:
    """Epoch nanoseconds from a decimal string (the OTLP/JSON form) or a number; 0 means unset."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _time(value: Any, nanos: int | None, ctx: ReadContext) -> datetime | None:
    """When the call was made: the span's start, exact to the µs; ISO text from a non-conforming exporter."""
    if nanos:
        return _EPOCH + timedelta(microseconds=nanos // 1000)
    return ctx.time(value) if isinstance(value, str) and not value.strip().isdigit() else None  # "0": unset


def _usage(request: Request, attrs: dict[str, Any]) -> None:
    """gen_ai.usage.* as Request fields (§8, §10), current names first, then deprecated and OpenLLMetry ones."""
    raw = {k: v for k, v in attrs.items() if k.startswith(("gen_ai.usage.", "llm.usage."))}
    if not raw:
        return

    def first(*keys: str) -> int | None:
        return next((as_int(raw[k]) for k in keys if raw.get(k) is not None), None)

    prompt = first("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
    read = first("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
    written = first("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens")
    output = first("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
    total = first("llm.usage.total_tokens")
    if prompt is None and total is not None and output is not None:
        prompt = total - output  # OpenLLMetry spans that kept only the total
    # The input count includes cache reads and writes (§8), and OpenLLMetry's Anthropic spans follow
    # that: its _set_token_usage sets prompt/input tokens to input + cache_read + cache_creation (its
    # test_prompt_caching: 1163 written, input_tokens 1167). An emitter passing Anthropic's own
    # input_tokens through excludes the cache; an input below its cached part can only be that, and
    # gets the cache added. (An exclusive count at or above its cached part cannot be told apart.)
    cached = (read or 0) + (written or 0)
    if prompt is not None and prompt < cached:
        prompt += cached
    request.raw_usage = raw
    request.reported_prompt_tokens, request.reported_cached_tokens = prompt, read
    request.reported_cache_write_tokens, request.reported_output_tokens = written, output
    request.reported_reasoning_tokens = first("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")


def _json_list(attrs: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = maybe_json(attrs.get(key))
    if value is None:
        return []
    if not isinstance(value, list):  # often an attribute length limit cut the JSON short
        raise BadRecord(f"{key} is not a JSON list (truncated by an attribute length limit?)")
    return [item for item in value if isinstance(item, dict)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _content(parts: list[dict[str, Any]]) -> Any:
    if all(p.get("type") == "text" for p in parts):
        return "".join(p["text"] for p in parts) if parts else None
    return parts  # blob, file, uri and server-tool parts: kept as non-text parts, not counted yet


def _system(value: Any) -> list[dict[str, Any]]:
    value = maybe_json(value)
    if isinstance(value, list):  # [{"type": "text", "content"}]: one prompt, as anthropic_messages joins it
        value = "\n\n".join(str(p.get("content") or "") for p in value
                            if isinstance(p, dict) and p.get("type") == "text")
    return [{"role": "system", "content": value}] if value else []


def _from_parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One current-convention message as Chat messages: tool responses split out as ``tool`` messages, in order."""
    role, out, parts, calls = message.get("role") or "user", [], [], []
    extra = {"name": message["name"]} if message.get("name") else {}  # name=example_* marks few-shot
    for part in message.get("parts") or []:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            parts.append({"type": "text", "text": str(part.get("content") or "")})
        elif kind == "tool_call":
            calls.append({"id": part.get("id"), "type": "function",
                          "function": {"name": part.get("name"), "arguments": _text(part.get("arguments") or {})}})
        elif kind == "tool_call_response":
            if parts:  # text before a tool response stays before it
                out.append({"role": role, "content": _content(parts), **extra})
                parts = []
            out.append({"role": "tool", "tool_call_id": part.get("id"), "content": _text(part.get("response"))})
        elif kind in _MEDIA_PARTS:
            # blob (inline bytes), uri and file parts: no tiktoken rule prices them, the bill does.
            parts.append({"type": "file", "file": {k: part[k] for k in ("mime_type", "modality", "uri", "file_id")
                                                   if k in part}})
        elif kind != "reasoning" and isinstance(part, dict):  # replayed reasoning is no prompt anyone wrote
            parts.append(part)
    if parts or calls or not out:
        out.append({"role": role, "content": _content(parts), **extra, **({"tool_calls": calls} if calls else {})})
    return out


def _output(attrs: dict[str, Any]) -> dict[str, Any] | None:
    outputs = _json_list(attrs, "gen_ai.output.messages")
    if outputs:
        return {**_from_parts(outputs[0])[-1], "role": "assistant"}  # the first choice, as openai_chat takes
    # OpenLLMetry writes Anthropic thinking as a completion of role "thinking" before the answer.
    answer = next((f for f in _indexed(attrs, "gen_ai.completion.") if f.get("role") != "thinking"), None)
    if answer is None:
        return None
    calls = _legacy_calls(answer)
    return {"role": "assistant", "content": answer.get("content"), **({"tool_calls": calls} if calls else {})}


def _indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """OpenLLMetry's flattened ``prefix.{i}.field`` attributes as one dict of fields per index, in order."""
    groups: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if key.startswith(prefix):
            index, _, field = key[len(prefix):].partition(".")
            if index.isdigit() and field:
                groups.setdefault(int(index), {})[field] = value
    return [groups[i] for i in sorted(groups)]


def _legacy_calls(fields: dict[str, Any]) -> list[dict[str, Any]]:
    calls = _indexed({k: v for k, v in fields.items() if k.startswith("tool_calls.")}, "tool_calls.")
    return [{"id": c.get("id"), "type": "function",
             "function": {"name": c.get("name"), "arguments": _text(c.get("arguments") or "{}")}} for c in calls]


def _legacy_message(fields: dict[str, Any]) -> list[dict[str, Any]]:
    # Completion-API prompts were written as `gen_ai.prompt.0.user`; a list content as a JSON string,
    # decoded only when it is a list of typed parts (a user who typed "[1, 2]" keeps their text).
    content = fields.get("content", fields.get("user"))
    decoded = maybe_json(content)
    if isinstance(decoded, list) and decoded and all(isinstance(p, dict) and "type" in p for p in decoded):
        content = decoded
    message = {"role": fields.get("role") or "user", "content": content}
    # Anthropic blocks (tool_use, tool_result) become Chat turns exactly as anthropic_messages reads them.
    out = anthropic_messages.chat_messages(message) if isinstance(content, list) else [message]
    calls = _legacy_calls(fields)
    if calls and not out[-1].get("tool_calls"):
        out[-1]["tool_calls"] = calls
    if fields.get("tool_call_id"):
        out[-1]["tool_call_id"] = fields["tool_call_id"]
    return out


def _tools(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    if "gen_ai.tool.definitions" in attrs:  # flat {type, name, description, parameters}, or already nested
        return [{"type": "function", "function": t["function"]} if isinstance(t.get("function"), dict) else
                {"type": "function", "function": _definition(t)} for t in _json_list(attrs, "gen_ai.tool.definitions")]
    return [{"type": "function",
             "function": {"name": f.get("name"), "description": f.get("description"),
                          "parameters": maybe_json(f.get("parameters", f.get("input_schema"))) or {}}}
            for f in _indexed(attrs, "llm.request.functions.")]


def _definition(tool: dict[str, Any]) -> dict[str, Any]:
    """A flat tool definition as a Chat function; Anthropic instrumentations give ``input_schema`` \
for ``parameters``."""
    function = {k: maybe_json(tool[k]) for k in ("name", "description") if k in tool}
    schema = tool.get("parameters", tool.get("input_schema"))
    if schema is not None:
        function["parameters"] = maybe_json(schema)
    return function


def _response_format(attrs: dict[str, Any]) -> dict[str, Any] | None:
    """The structured-output schema a span records (``gen_ai.request.structured_output_schema``), as Chat's."""
    schema = maybe_json(attrs.get("gen_ai.request.structured_output_schema"))
    if isinstance(schema, dict):
        return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    return None
