"""simonw/llm's ``logs.db``: turn one row of its SQLite ``responses`` table into a :class:`Request`.

:mod:`analyzer.reading` opens the database read-only and hands each row over as a record: the
row's columns (formats.md §9: ``id, model, prompt, system, prompt_json, options_json, response,
response_json, conversation_id, duration_ms, datetime_utc, input_tokens, output_tokens,
token_details``; the ``*_json`` columns are JSON held in strings) plus ``_llm_logs_db: true`` and
what other tables say about the row (``_history``, ``_tools``, ``_tool_calls``, ``_tool_results``,
``_schema``). Only rows of completed calls are logged by llm, so every request is ``ok``.

Messages: ``prompt_json`` is whatever the plugin chose to log. OpenAI-compatible plugins (llm's
own, Mistral, Ollama, OpenRouter…) log the Chat body ``{"messages": [...]}`` as sent, earlier turns
included, and it is used as it is. Others (Anthropic, Gemini…) log nothing there; the request is
then rebuilt from the conversation's earlier rows (time order) the way llm's OpenAI plugin builds
it: a system message wherever the system prompt changes, then per turn the user prompt, the tool
results, and the assistant's reply with its tool calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ..errors import BadRecord
from ..models import RawRecord, Request
from .common import as_int, content_id, maybe_json, number, parse_time

NAME = "llm-logs"
DESCRIPTION = "simonw/llm `logs.db`: the rows of its SQLite `responses` table (found as logs.db or any *.db holding it)"
MARKER = "_llm_logs_db"  # set by analyzer.reading on every row it reads from an llm database

_ZONED = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def detect(data: Any) -> bool:
    """Only the rows analyzer.reading took from an llm database: no log line carries the marker."""
    return isinstance(data, dict) and data.get(MARKER) is True


def parse(record: RawRecord) -> Iterator[Request]:
    """Turn one ``responses`` row into a :class:`Request`.

    Raises:
        BadRecord: the row has no model, or no time that can be read.
    """
    row = record.data
    response_json = maybe_json(row.get("response_json"))
    # The provider's answer names the exact snapshot; `resolved_model` (llm ≥ 0.26) the alias's target.
    model = _response_model(response_json) or _text(row.get("resolved_model")) or _text(row.get("model"))
    if not model:
        raise BadRecord("row has no model (`model` column empty)")
    options = maybe_json(row.get("options_json"))
    request = Request(
        model=model,
        requested_model=_text(row.get("model")),
        messages=_prompt_messages(maybe_json(row.get("prompt_json"))) or _rebuild(row),
        tools=[_tool(t) for t in row.get("_tools") or () if isinstance(t, dict) and t.get("name")],
        response_format=_response_format(row.get("_schema"), options if isinstance(options, dict) else {}),
        output=_assistant(_text(row.get("response")), row.get("_tool_calls")),
        timestamp=_utc(row.get("datetime_utc")),
        request_id=f"llm:{row['id']}" if row.get("id") is not None else content_id(row.get("prompt"), row.get("response")),
        session_id=_text(row.get("conversation_id")),
        latency_ms=number(row.get("duration_ms")),
    )
    _read_usage(request, row)
    yield request


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _utc(value: Any) -> datetime:
    # llm writes `datetime.isoformat()` of a UTC time: naive in older versions, `+00:00` in newer.
    # The column is UTC by name, so a naive value is UTC whatever --timezone says.
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise BadRecord("row has no time (`datetime_utc` column empty)")
    found = parse_time(text if _ZONED.search(text) else text + "+00:00")
    if found is None:
        raise BadRecord(f"`datetime_utc` is not an ISO 8601 time: {text[:40]!r}")
    return found


def _response_model(response_json: Any) -> str | None:
    # A dict (OpenAI `chat.completion` or llm's combined chunks, Anthropic message), or the list of
    # streamed chunks some plugins keep (Gemini), whose last one names the model.
    if isinstance(response_json, list) and response_json and isinstance(response_json[-1], dict):
        response_json = response_json[-1]
    if not isinstance(response_json, dict):
        return None
    return _text(response_json.get("model")) or _text(response_json.get("modelVersion"))


def _prompt_messages(prompt_json: Any) -> list[dict[str, Any]] | None:
    """The Chat messages a plugin logged, or None when it logged something else (or nothing)."""
    if not isinstance(prompt_json, dict):
        return None
    messages = prompt_json.get("messages")
    # llm's completion models log {"messages": ["text", …]}: strings, not chat messages.
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        return None
    system = prompt_json.get("system")  # an Anthropic-shaped body keeps the system prompt apart
    if system and not any(m["role"] in ("system", "developer") for m in messages):
        return [{"role": "system", "content": system}, *messages]
    return messages


def _rebuild(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages sent for this row, from the earlier rows of its conversation (see the module doc)."""
    messages: list[dict[str, Any]] = []
    current_system: str | None = None

    def add_input(turn: dict[str, Any]) -> None:
        nonlocal current_system
        system = _text(turn.get("system"))
        if system and system != current_system:
            messages.append({"role": "system", "content": system})
            current_system = system
        results = [r for r in turn.get("tool_results") or () if isinstance(r, dict)]
        if _text(turn.get("prompt")) or not results:  # an attachment-only prompt is still a user turn
            messages.append({"role": "user", "content": _text(turn.get("prompt")) or ""})
        messages.extend({"role": "tool", "tool_call_id": r.get("tool_call_id"), "content": r.get("output") or ""}
                        for r in results)

    for turn in row.get("_history") or ():
        if isinstance(turn, dict):
            add_input(turn)
            reply = _assistant(_text(turn.get("response")), turn.get("tool_calls"))
            if reply["content"] or reply.get("tool_calls"):
                messages.append(reply)
    add_input({"system": row.get("system"), "prompt": row.get("prompt"), "tool_results": row.get("_tool_results")})
    return messages


def _assistant(text: str | None, tool_calls: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text or ""}
    calls = [{"id": c.get("tool_call_id"), "type": "function",
              "function": {"name": c.get("name"), "arguments": c.get("arguments") or "{}"}}
             for c in tool_calls or () if isinstance(c, dict)]
    if calls:
        message["tool_calls"] = calls
    return message


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    schema = maybe_json(tool.get("input_schema"))
    return {"type": "function", "function": {"name": tool["name"], "description": tool.get("description") or "",
                                             "parameters": schema if isinstance(schema, dict) else {}}}


def _response_format(schema: Any, options: dict[str, Any]) -> dict[str, Any] | None:
    # `llm --schema` stores the JSON schema in the `schemas` table; `-o json_object 1` is an option.
    parsed = maybe_json(schema)
    if isinstance(parsed, dict):
        return {"type": "json_schema", "json_schema": {"name": "output", "schema": parsed}}
    if options.get("json_object"):
        return {"type": "json_object"}
    return None


def _read_usage(request: Request, row: dict[str, Any]) -> None:
    """Normalise usage (formats.md §10): llm stores the provider's input and output counts as the
    plugin read them, and the rest of the provider's usage object, zeros dropped, in token_details."""
    prompt, output = as_int(row.get("input_tokens")), as_int(row.get("output_tokens"))
    details = maybe_json(row.get("token_details"))
    details = details if isinstance(details, dict) else {}
    if prompt is None and output is None and not details:
        return
    request.raw_usage = {"input_tokens": prompt, "output_tokens": output, "token_details": details or None}
    read, write = as_int(details.get("cache_read_input_tokens")), as_int(details.get("cache_creation_input_tokens"))
    if read is not None or write is not None:
        # Anthropic (llm-anthropic): input_tokens leaves out the cache reads and writes.
        cached, written = read, write
        prompt = None if prompt is None else prompt + (read or 0) + (write or 0)
    else:
        # OpenAI Chat / Responses, Gemini, Mistral: input_tokens already holds the cached tokens.
        inner = details.get("prompt_tokens_details") or details.get("input_tokens_details") or {}
        inner = inner if isinstance(inner, dict) else {}
        cached = next((as_int(v) for v in (inner.get("cached_tokens"), details.get("cachedContentTokenCount"),
                                           details.get("num_cached_tokens")) if v is not None), None)
        written = as_int(inner.get("cache_write_tokens"))
    outer = details.get("completion_tokens_details") or details.get("output_tokens_details") or {}
    reasoning = as_int(outer.get("reasoning_tokens")) if isinstance(outer, dict) else None
    thoughts = as_int(details.get("thoughtsTokenCount"))
    if thoughts is not None:  # Gemini: candidatesTokenCount (llm's output_tokens) leaves thinking out
        reasoning, output = thoughts, (output or 0) + thoughts
    request.reported_prompt_tokens, request.reported_output_tokens = prompt, output
    request.reported_cached_tokens, request.reported_cache_write_tokens = cached, written
    request.reported_reasoning_tokens = reasoning

