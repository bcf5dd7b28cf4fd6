"""Streamed OpenAI calls: rebuild the one response a logged stream of chunks or events stands for.

A streamed call is logged either as the list of its chunk/event objects or as the raw server-sent
events text (a VCR cassette keeps the body as ``data: {…}\\n\\ndata: [DONE]``, formats.md §9). Chat
Completions chunks are merged into one ``chat.completion`` (formats.md §1: usage only in an extra
final chunk, when ``stream_options.include_usage`` was set); Responses events give their final
``response`` object (formats.md §2). Each parser then reads the rebuilt body like a plain one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .common import Exchange, maybe_json

_NOT_GIVEN = (None, "", 0)
_FINAL = ("response.completed", "response.failed", "response.incomplete")


def resolved(exchange: Exchange, reassemble: Callable[[Any], dict[str, Any] | None]) -> Exchange:
    """The exchange with a streamed response replaced by the whole one ``reassemble`` rebuilds.

    A copy, not the exchange ``unwrap`` caches and shares between detect and parse, so that its
    ``time()`` reads the rebuilt response's ``created``.
    """
    whole = reassemble(exchange.response)
    if whole is None:
        return exchange
    exchange = copy.copy(exchange)
    exchange.response = whole
    return exchange


def events(body: Any) -> list[dict[str, Any]] | None:
    """The event objects of a logged stream (a list of them, or SSE text); None for any other body."""
    if isinstance(body, list):
        found = [e for e in body if isinstance(e, dict)]
        return found if found and len(found) == len(body) else None
    if not isinstance(body, str) or "data:" not in body:
        return None
    found, name, data = [], None, []

    def flush() -> None:
        # An event's data lines join with "\n"; when that is no JSON (a log that dropped the blank
        # lines between events, or `[DONE]` right after one), each line is read on its own.
        joined = maybe_json("\n".join(data)) if data else None
        for event in [joined] if isinstance(joined, dict) else map(maybe_json, data):
            if isinstance(event, dict):
                if name and "type" not in event:
                    event["type"] = name
                found.append(event)

    # One event per blank-line-separated block; `: comment` lines (OpenRouter's keep-alives) and the
    # closing `data: [DONE]` (not JSON) are skipped.
    for line in body.splitlines() + [""]:
        if not line.strip():
            flush()
            name, data = None, []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    return found or None


def chat_completion(body: Any) -> dict[str, Any] | None:
    """One ``chat.completion`` rebuilt from streamed chunks; None when ``body`` is no chunk stream."""
    if isinstance(body, dict) and body.get("object") == "chat.completion.chunk":
        body = [body]  # a logger that kept only one chunk
    chunks = events(body)
    if not chunks or not any(_is_chunk(c) for c in chunks):
        return None
    result: dict[str, Any] = {"object": "chat.completion"}
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for key in ("id", "model", "created", "system_fingerprint", "service_tier"):
            # The same in every chunk; the first one given is kept. Azure's first chunk (its prompt
            # filter results) has an empty id and model and `created` 0: those are not given.
            if result.get(key) in _NOT_GIVEN and chunk.get(key) not in _NOT_GIVEN:
                result[key] = chunk[key]
        # Only the final chunk has usage (§1), null elsewhere; Groq puts it in `x_groq.usage`.
        groq = chunk.get("x_groq") if isinstance(chunk.get("x_groq"), dict) else {}
        usage = chunk.get("usage") if isinstance(chunk.get("usage"), dict) else groq.get("usage")
        if isinstance(usage, dict):
            result["usage"] = usage
        if chunk.get("error"):
            result["error"] = chunk["error"]  # a stream cut by an error: kept beside what came before
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict):
                _merge_choice(choices.setdefault(as_index(choice.get("index")), _new_choice(choice)), choice)
    result["choices"] = [_finish_choice(choices[i]) for i in sorted(choices)]
    return result


def _is_chunk(chunk: dict[str, Any]) -> bool:
    choices = chunk.get("choices")
    return chunk.get("object") == "chat.completion.chunk" or (
        isinstance(choices, list) and any(isinstance(c, dict) and "delta" in c for c in choices))


def as_index(value: Any) -> int:
    """A chunk's ``index``, 0 when a provider leaves it out."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _new_choice(choice: dict[str, Any]) -> dict[str, Any]:
    return {"index": as_index(choice.get("index")), "finish_reason": None, "message": {"role": "assistant"},
            "_content": [], "_refusal": [], "_calls": {}}


def _merge_choice(into: dict[str, Any], choice: dict[str, Any]) -> None:
    delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
    message = into["message"]
    if delta.get("role"):
        message["role"] = delta["role"]
    for key, parts in (("content", into["_content"]), ("refusal", into["_refusal"])):
        if isinstance(delta.get(key), str):  # the first chunk's "" still says there was content
            parts.append(delta[key])
    calls = into["_calls"]
    for call in delta.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        # A call's first delta has its id and name; the following ones, by the same index, carry
        # pieces of the arguments string.
        index = call["index"] if isinstance(call.get("index"), int) else max(len(calls) - (not call.get("id")), 0)
        merged = calls.setdefault(index, {"id": None, "type": "function", "function": {"name": None, "arguments": ""}})
        _merge_call(merged, call)
    if isinstance(delta.get("function_call"), dict):  # the legacy single call streams the same way
        _merge_call(message.setdefault("function_call", {"name": None, "arguments": ""}),
                    {"function": delta["function_call"]}, nested=False)
    if choice.get("finish_reason"):
        into["finish_reason"] = choice["finish_reason"]


def _merge_call(merged: dict[str, Any], call: dict[str, Any], nested: bool = True) -> None:
    target = merged["function"] if nested else merged
    if nested:
        merged["id"] = merged["id"] or call.get("id")
        merged["type"] = call.get("type") or merged["type"]
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    target["name"] = target["name"] or function.get("name")  # sent once; some servers repeat it whole
    if isinstance(function.get("arguments"), str):
        target["arguments"] += function["arguments"]


def _finish_choice(choice: dict[str, Any]) -> dict[str, Any]:
    message = choice["message"]
    content, refusal, calls = choice.pop("_content"), choice.pop("_refusal"), choice.pop("_calls")
    message["content"] = "".join(content) if content else None  # null, as a plain tool-call answer has
    if refusal:
        message["refusal"] = "".join(refusal)
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return choice


def response_object(body: Any) -> dict[str, Any] | None:
    """The final Responses ``response`` of a streamed call; None when ``body`` is no Responses stream.

    ``response.completed`` (or ``.failed``/``.incomplete``) carries the whole final object, usage
    included: it is taken as it is. A stream cut before it is rebuilt from the last snapshot and the
    output items seen so far, without usage (the counted tokens stand in).
    """
    found = events(body)
    if not found or not any(str(e.get("type", "")).startswith("response.") for e in found):
        return None
    snapshot: dict[str, Any] = {}
    items: dict[int, dict[str, Any]] = {}
    error = None
    for event in found:
        kind, response = event.get("type"), event.get("response")
        if isinstance(response, dict):
            if kind in _FINAL:  # its output is complete; a logger that trimmed it leaves what streamed
                return response if response.get("output") or not items else {**response, "output": _list(items)}
            snapshot = response
        index = as_index(event.get("output_index"))
        if kind in ("response.output_item.added", "response.output_item.done") and isinstance(event.get("item"), dict):
            items[index] = copy.deepcopy(event["item"])  # the done item replaces the added one whole
        elif kind == "response.output_text.delta" and index in items:
            _text_part(items[index])["text"] += str(event.get("delta") or "")
        elif kind == "response.function_call_arguments.delta" and index in items:
            items[index]["arguments"] = str(items[index].get("arguments") or "") + str(event.get("delta") or "")
        elif kind == "error":  # {type, code, message}; some servers nest them under `error`
            found_error = event.get("error") if isinstance(event.get("error"), dict) else event
            error = {"code": found_error.get("code"), "message": found_error.get("message")}
    rebuilt = {**snapshot, "output": _list(items), "usage": None}
    if error:
        rebuilt.update(status="failed", error=error)
    return rebuilt


def _list(items: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [items[i] for i in sorted(items)]


def _text_part(item: dict[str, Any]) -> dict[str, Any]:
    """The output_text part an item's text deltas go to, added when the item announced none."""
    parts = item.setdefault("content", [])
    if not parts or not isinstance(parts[-1], dict) or parts[-1].get("type") != "output_text":
        parts.append({"type": "output_text", "text": ""})
    parts[-1]["text"] = str(parts[-1].get("text") or "")
    return parts[-1]
