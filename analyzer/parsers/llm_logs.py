"""simonw/llm's ``logs.db``: turn one row of its SQLite ``responses`` table into a :class:`Request`.

:func:`read` opens the database read-only and hands each row over as a record: the
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
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import BadRecord
from ..models import RawRecord, Request
from ..reading import EXCERPT_CHARS, Position, Reject, excerpt
from .common import as_int, content_id, maybe_json, number, parse_time
from .context import ReadContext

NAME = "llm-logs"
DESCRIPTION = "simonw/llm `logs.db`: the rows of its SQLite `responses` table (found as logs.db or any *.db holding it)"
MARKER = "_llm_logs_db"  # set by :func:`read` on every row it reads from an llm database
SQLITE_HEADER = b"SQLite format 3\x00"
LLM_DB_NAME = "logs.db"  # the file `llm logs path` names
#: The columns llm's `responses` table has had since it was created (llm migration m010).
LLM_COLUMNS = {"id", "model", "prompt", "system", "response", "conversation_id", "datetime_utc"}

_ZONED = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def detect(data: Any, ctx: ReadContext) -> bool:
    """Only the rows :func:`read` took from an llm database: no log line carries the marker."""
    return isinstance(data, dict) and data.get(MARKER) is True


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Request]:
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
        request_id=(f"llm:{row['id']}" if row.get("id") is not None
                    else content_id(row.get("prompt"), row.get("response"))),
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


# Reading the database ------------------------------------------------------------------------------


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def owns(path: Path) -> bool:
    """A file read here, not as JSON: a ``*.db`` or a SQLite file, read whole each time (never
    resumed like a log that grew); one that is not an llm database is rejected with the reason."""
    return path.name.lower().endswith(".db") or _is_sqlite(path)


def finds(path: Path) -> bool:
    """A file taken when walking a directory: ``logs.db`` by its name (so that a broken one is
    reported, not skipped), another ``*.db`` only when it is an llm database (a directory may hold
    crossover's own database)."""
    name = path.name.lower()
    return name == LLM_DB_NAME or (name.endswith(".db") and is_llm_db(path))


def _connect(path: Path) -> sqlite3.Connection:
    # mode=ro: crossover never writes to the user's database (nor creates one where none is).
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info([{table}])")}


def is_llm_db(path: Path) -> bool:
    """A SQLite file with llm's ``responses`` table."""
    if not _is_sqlite(path):
        return False
    try:
        with closing(_connect(path)) as con:
            return _columns(con, "responses") >= LLM_COLUMNS
    except sqlite3.Error:
        return False


def read(path: Path, position: Position) -> Iterator[RawRecord | Reject]:
    """One record per ``responses`` row: its columns, the marker ``_llm_logs_db``, and what the row
    needs from other tables: ``_history`` (the earlier turns of its conversation, for plugins whose
    ``prompt_json`` holds no messages), ``_tools``, ``_tool_calls``, ``_tool_results``, ``_schema``.

    A database has no line positions: it is always read whole, and ``position`` then says how many
    rows were read (no offset). Rows come grouped by conversation, in time order within one, so that
    only one conversation's turns are held at a time.
    """
    name = str(path)
    position.line, position.offset, position.incomplete = 0, None, False
    if not _is_sqlite(path):
        try:
            with open(path, "rb") as f:
                head = f.read(EXCERPT_CHARS)
        except OSError as exc:
            yield Reject(name, 0, f"cannot read file: {exc.strerror or exc}")
            return
        yield Reject(name, 0, "not a SQLite database (no `SQLite format 3` header)", excerpt(head))
        return
    try:
        con = _connect(path)
    except sqlite3.Error as exc:
        yield Reject(name, 0, f"cannot open SQLite database: {exc}")
        return
    with closing(con):
        try:
            missing = LLM_COLUMNS - _columns(con, "responses")
            if missing:
                yield Reject(name, 0, "not an llm logs database: no `responses` table with "
                                      f"{', '.join(sorted(missing))}")
                return
            try:
                extras = _llm_extras(con)
            except (sqlite3.Error, IndexError):  # a tool table of an unforeseen shape: do without
                extras = _llm_extras(None)
            con.row_factory, con.text_factory = None, bytes  # decoded per row: one bad row is one reject
            rows = con.execute("SELECT rowid AS _rowid, * FROM responses ORDER BY conversation_id, datetime_utc, rowid")
            columns = [d[0] for d in rows.description]
            conversation, history = None, []
            for values in rows:
                position.line += 1
                row = dict(zip(columns, values, strict=True))
                rowid = row.pop("_rowid")
                try:
                    row = {k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in row.items()}
                except UnicodeDecodeError:
                    yield Reject(name, rowid, "a column is not UTF-8 text", excerpt(repr(row).encode()))
                    continue
                if row["conversation_id"] is None or row["conversation_id"] != conversation:
                    conversation, history = row["conversation_id"], []
                turn = {"prompt": row["prompt"], "system": row["system"], "response": row["response"],
                        "tool_calls": extras["tool_calls"].get(row["id"], []),
                        "tool_results": extras["tool_results"].get(row["id"], [])}
                yield RawRecord(name, rowid, {
                    **row, "_llm_logs_db": True, "_history": list(history),
                    "_tools": [extras["tools"][t] for t in extras["links"].get(row["id"], []) if t in extras["tools"]],
                    "_tool_calls": turn["tool_calls"], "_tool_results": turn["tool_results"],
                    "_schema": extras["schemas"].get(row.get("schema_id")),
                })
                history.append(turn)
        except sqlite3.Error as exc:  # a damaged file: what was read stands, the rest is one reject
            if position.line == 0:
                yield Reject(name, 0, f"unreadable SQLite database: {exc}")
            else:
                yield Reject(name, position.line + 1, f"unreadable SQLite database after {position.line} rows: {exc}")


def _llm_extras(con: sqlite3.Connection | None) -> dict[str, dict]:
    """The tool and schema tables of newer llm versions, keyed for lookup by response id."""
    found: dict[str, dict] = {"tools": {}, "links": defaultdict(list), "tool_calls": defaultdict(list),
                              "tool_results": defaultdict(list), "schemas": {}}
    if con is None:
        return found
    con.row_factory = sqlite3.Row
    con.text_factory = lambda raw: raw.decode("utf-8", "replace")
    tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    if "tools" in tables:
        found["tools"] = {r["id"]: {"name": r["name"], "description": r["description"],
                                    "input_schema": r["input_schema"]} for r in con.execute("SELECT * FROM tools")}
    for link in ("tool_responses", "response_tools"):  # the name changed with llm's node-tree schema
        if link in tables:
            for r in con.execute(f"SELECT response_id, tool_id FROM [{link}] ORDER BY rowid"):
                found["links"][r["response_id"]].append(r["tool_id"])
    for table, keep in (("tool_calls", ("name", "arguments", "tool_call_id")),
                        ("tool_results", ("name", "output", "tool_call_id"))):
        if table in tables:
            for r in con.execute(f"SELECT * FROM [{table}] ORDER BY id"):
                found[table][r["response_id"]].append({k: r[k] for k in keep})
    if "schemas" in tables:
        found["schemas"] = {r["id"]: r["content"] for r in con.execute("SELECT id, content FROM schemas")}
    return found
