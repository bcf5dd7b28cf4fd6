"""simonw/llm's logs.db: real SQLite files with llm's own DDL, read-only, row by row, into requests."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from analyzer import api, parsers
from analyzer.errors import BadRecord
from analyzer.models import RawRecord
from analyzer.parsers import anthropic_messages, llm_logs, openai_chat, openai_responses
from analyzer.parsers.common import zone_named
from analyzer.reading import Position, Reject, find_files

from .conftest import chat_line, write_jsonl

# The schema `llm` creates (llm/migrations.py m010…m019, as printed in its docs/logging.md "SQL schema"
# by sqlite-utils), with the FTS table and triggers llm adds (m011/m014), and the tool tables of m017.
LLM_DDL = """
CREATE TABLE [_llm_migrations] ([name] TEXT PRIMARY KEY, [applied_at] TEXT);
CREATE TABLE [conversations] ([id] TEXT PRIMARY KEY, [name] TEXT, [model] TEXT);
CREATE TABLE [schemas] ([id] TEXT PRIMARY KEY, [content] TEXT);
CREATE TABLE "responses" (
   [id] TEXT PRIMARY KEY,
   [model] TEXT,
   [prompt] TEXT,
   [system] TEXT,
   [prompt_json] TEXT,
   [options_json] TEXT,
   [response] TEXT,
   [response_json] TEXT,
   [conversation_id] TEXT REFERENCES [conversations]([id]),
   [duration_ms] INTEGER,
   [datetime_utc] TEXT,
   [input_tokens] INTEGER,
   [output_tokens] INTEGER,
   [token_details] TEXT,
   [schema_id] TEXT REFERENCES [schemas]([id]),
   [resolved_model] TEXT
);
CREATE VIRTUAL TABLE [responses_fts] USING FTS5 ([prompt], [response], content=[responses]);
CREATE TRIGGER [responses_ai] AFTER INSERT ON [responses] BEGIN
  INSERT INTO [responses_fts] (rowid, [prompt], [response]) VALUES (new.rowid, new.[prompt], new.[response]);
END;
CREATE TABLE [tools] ([id] INTEGER PRIMARY KEY, [hash] TEXT, [name] TEXT, [description] TEXT, [input_schema] TEXT,
   [plugin] TEXT);
CREATE TABLE [tool_responses] ([tool_id] INTEGER REFERENCES [tools]([id]),
   [response_id] TEXT REFERENCES [responses]([id]), PRIMARY KEY ([tool_id], [response_id]));
CREATE TABLE [tool_calls] ([id] INTEGER PRIMARY KEY, [response_id] TEXT REFERENCES [responses]([id]),
   [tool_id] INTEGER REFERENCES [tools]([id]), [name] TEXT, [arguments] TEXT, [tool_call_id] TEXT);
CREATE TABLE [tool_results] ([id] INTEGER PRIMARY KEY, [response_id] TEXT REFERENCES [responses]([id]),
   [tool_id] INTEGER REFERENCES [tools]([id]), [name] TEXT, [output] TEXT, [tool_call_id] TEXT,
   [instance_id] INTEGER, [exception] TEXT);
"""
# The first `responses` table (llm 0.9, migration m010): no usage columns yet.
LLM_DDL_M010 = """
CREATE TABLE [conversations] ([id] TEXT PRIMARY KEY, [name] TEXT, [model] TEXT);
CREATE TABLE [responses] ([id] TEXT PRIMARY KEY, [model] TEXT, [prompt] TEXT, [system] TEXT, [prompt_json] TEXT,
   [options_json] TEXT, [response] TEXT, [response_json] TEXT,
   [conversation_id] TEXT REFERENCES [conversations]([id]), [duration_ms] INTEGER, [datetime_utc] TEXT);
"""

T0 = datetime(2026, 10, 1, 9, 0, 0, tzinfo=UTC)
OPENAI_DETAILS = {"prompt_tokens_details": {"cached_tokens": 1024}, "completion_tokens_details": {"reasoning_tokens": 64}}
ANTHROPIC_DETAILS = {"cache_creation_input_tokens": 200, "cache_read_input_tokens": 1800, "service_tier": "standard",
                     "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 0}}


def row(id, prompt="Hi", *, model="gpt-4o-mini", system=None, response="Hello!", conversation="01conv", minutes=0,
        prompt_json=None, response_json=None, input_tokens=None, output_tokens=None, token_details=None,
        datetime_utc=None, options=None, **more):
    """One row as llm's Response.log_to_db writes it: JSON columns as strings, time as isoformat() of UTC."""
    when = datetime_utc if datetime_utc is not None else (T0 + timedelta(minutes=minutes)).isoformat()
    return {"id": id, "model": model, "prompt": prompt, "system": system,
            "prompt_json": json.dumps(prompt_json) if prompt_json is not None else None,
            "options_json": json.dumps(options or {}), "response": response,
            "response_json": json.dumps(response_json) if response_json is not None else None,
            "conversation_id": conversation, "duration_ms": 1234, "datetime_utc": when,
            "input_tokens": input_tokens, "output_tokens": output_tokens,
            "token_details": json.dumps(token_details) if token_details else None, **more}


def make_db(path, rows, ddl=LLM_DDL, **tables):
    """A logs.db written the way llm writes it (a normal read-write connection)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(ddl)
    for r in rows:
        if r.get("conversation_id"):
            con.execute("INSERT OR IGNORE INTO conversations (id, name, model) VALUES (?, ?, ?)",
                        [r["conversation_id"], (r.get("prompt") or "")[:32], r.get("model")])
        con.execute(f"INSERT INTO responses ({', '.join(r)}) VALUES ({', '.join('?' * len(r))})", list(r.values()))
    for table, table_rows in tables.items():
        for t in table_rows:
            con.execute(f"INSERT INTO {table} ({', '.join(t)}) VALUES ({', '.join('?' * len(t))})", list(t.values()))
    con.commit()
    con.close()
    return path


def records(path):
    return list(parsers.get("llm-logs").files.read(path, Position()))


def parse_rows(path, ctx=None):
    """Every row of a database through the llm-logs format: Requests, or the BadRecord it raised."""
    ctx = ctx or parsers.context()
    out = []
    for item in records(path):
        assert isinstance(item, RawRecord), item
        assert llm_logs.detect(item.data, ctx)
        try:
            out.extend(llm_logs.parse(item, ctx))
        except BadRecord as exc:
            out.append(exc)
    return out


@pytest.fixture
def registry():
    """The built-in registry, which tries llm-logs first."""
    names = [f.name for f in parsers.formats()]
    assert names.index("llm-logs") < names.index("vcr-cassette"), names
    return parsers.REGISTRY


# --- shapes of a row -----------------------------------------------------------------------------------------


def test_plain_prompt_with_openai_prompt_json_and_usage(tmp_path):
    messages = [{"role": "user", "content": "Hi"}]
    db = make_db(tmp_path / "logs.db", [row(
        "01j9zq3k4m5n6p7q8r9s0t1u2v", prompt_json={"messages": messages},
        response_json={"content": "Hello!", "role": "assistant", "finish_reason": "stop", "id": "chatcmpl-1",
                       "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18", "created": 1790000000},
        input_tokens=1200, output_tokens=80, token_details=OPENAI_DETAILS)])
    [request] = parse_rows(db)
    assert request.model == "gpt-4o-mini-2024-07-18" and request.requested_model == "gpt-4o-mini"
    assert request.messages == messages
    assert request.output == {"role": "assistant", "content": "Hello!"}
    assert request.timestamp == T0 and request.timestamp.tzinfo is not None
    assert request.request_id == "llm:01j9zq3k4m5n6p7q8r9s0t1u2v" and request.session_id == "01conv"
    assert request.latency_ms == 1234 and request.status == "ok"
    # OpenAI: input_tokens is prompt_tokens, cache reads included; reasoning is inside output_tokens.
    assert (request.reported_prompt_tokens, request.reported_cached_tokens, request.reported_cache_write_tokens,
            request.reported_output_tokens, request.reported_reasoning_tokens) == (1200, 1024, None, 80, 64)
    assert request.raw_usage == {"input_tokens": 1200, "output_tokens": 80, "token_details": OPENAI_DETAILS}


def test_system_prompt_without_prompt_json_and_anthropic_cache_arithmetic(tmp_path):
    db = make_db(tmp_path / "logs.db", [row(
        "r1", "Summarise this", system="You are terse.", model="anthropic/claude-sonnet-4-5",
        response_json={"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                       "content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn"},
        response="Done.", input_tokens=3, output_tokens=5, token_details=ANTHROPIC_DETAILS)])
    [request] = parse_rows(db)
    assert request.messages == [{"role": "system", "content": "You are terse."},
                                {"role": "user", "content": "Summarise this"}]
    assert request.model == "claude-sonnet-4-5-20250929"
    # llm-anthropic stores Anthropic's input_tokens, which leaves out cache reads and writes.
    assert request.reported_prompt_tokens == 3 + 200 + 1800
    assert (request.reported_cached_tokens, request.reported_cache_write_tokens) == (1800, 200)


def test_gemini_thinking_is_added_to_output_and_cached_content_read(tmp_path):
    details = {"thoughtsTokenCount": 30, "cachedContentTokenCount": 500,
               "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 900}]}
    db = make_db(tmp_path / "logs.db", [row(
        "g1", model="gemini-2.5-flash", input_tokens=900, output_tokens=12, token_details=details,
        response_json={"candidates": [{"finishReason": "STOP"}], "modelVersion": "gemini-2.5-flash"})])
    [request] = parse_rows(db)
    assert (request.reported_prompt_tokens, request.reported_cached_tokens) == (900, 500)
    assert (request.reported_output_tokens, request.reported_reasoning_tokens) == (42, 30)


def test_mistral_cached_tokens_are_inside_input_tokens(tmp_path):
    db = make_db(tmp_path / "logs.db", [row("mi1", model="mistral-small", input_tokens=70, output_tokens=12,
                                            token_details={"num_cached_tokens": 69})])
    [request] = parse_rows(db)
    assert (request.reported_prompt_tokens, request.reported_cached_tokens) == (70, 69)


def test_no_usage_columns_in_the_first_schema(tmp_path):
    db = make_db(tmp_path / "logs.db", [{k: v for k, v in row("old1").items()
                                         if k not in ("input_tokens", "output_tokens", "token_details")}],
                 ddl=LLM_DDL_M010)
    [request] = parse_rows(db)
    assert request.raw_usage is None and request.reported_prompt_tokens is None
    assert request.model == "gpt-4o-mini" and request.messages == [{"role": "user", "content": "Hi"}]


def test_three_turn_conversation_is_rebuilt_from_earlier_rows_in_time_order(tmp_path):
    turns = [row("c3", "and the third?", minutes=2, response="third answer", conversation="conv-a"),
             row("c1", "first question", system="Be brief.", minutes=0, response="first answer", conversation="conv-a"),
             row("x1", "unrelated", minutes=1, conversation="conv-b"),
             row("c2", "second question", minutes=1, response="second answer", conversation="conv-a")]
    db = make_db(tmp_path / "logs.db", turns)  # rowid order is not time order
    by_id = {r.request_id: r for r in parse_rows(db)}
    assert by_id["llm:c3"].messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question"}, {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"}, {"role": "assistant", "content": "second answer"},
        {"role": "user", "content": "and the third?"}]
    assert by_id["llm:c2"].messages[-1] == {"role": "user", "content": "second question"}
    assert len(by_id["llm:c1"].messages) == 2 and len(by_id["llm:x1"].messages) == 1
    assert {r.session_id for r in by_id.values()} == {"conv-a", "conv-b"}
    lines = {item.data["id"]: item.line for item in records(db)}
    assert lines == {"c3": 1, "c1": 2, "x1": 3, "c2": 4}  # line = rowid


def test_logged_chat_messages_win_over_rebuilt_history(tmp_path):
    sent = [{"role": "system", "content": "S"}, {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"}, {"role": "user", "content": "q2"}]
    db = make_db(tmp_path / "logs.db", [row("t1", "q1", system="S", response="a1"),
                                        row("t2", "q2", minutes=1, prompt_json={"messages": sent})])
    assert parse_rows(db)[1].messages == sent


def test_completion_models_log_strings_and_are_rebuilt(tmp_path):
    db = make_db(tmp_path / "logs.db", [row("i1", "Once upon", model="gpt-3.5-turbo-instruct",
                                            prompt_json={"messages": ["Once upon"]})])
    assert parse_rows(db)[0].messages == [{"role": "user", "content": "Once upon"}]


def test_tools_tool_calls_results_and_schema(tmp_path):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    rows = [row("w1", "Weather in Paris?", response="", minutes=0, schema_id="sch1"),
            row("w2", "", minutes=1, response="It is 15C.")]
    db = make_db(tmp_path / "logs.db", rows, schemas=[{"id": "sch1", "content": json.dumps(schema)}],
                 tools=[{"id": 1, "hash": "h", "name": "get_weather", "description": "Weather now",
                         "input_schema": json.dumps(schema), "plugin": None}],
                 tool_responses=[{"tool_id": 1, "response_id": "w1"}, {"tool_id": 1, "response_id": "w2"}],
                 tool_calls=[{"response_id": "w1", "tool_id": 1, "name": "get_weather",
                              "arguments": '{"city": "Paris"}', "tool_call_id": "call_1"}],
                 tool_results=[{"response_id": "w2", "tool_id": 1, "name": "get_weather", "output": "15C",
                                "tool_call_id": "call_1"}])
    first, second = parse_rows(db)
    assert first.tools == [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                                                             "parameters": schema}}]
    assert first.output["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert first.response_format == {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    assert second.messages == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": first.output["tool_calls"]},
        {"role": "tool", "tool_call_id": "call_1", "content": "15C"}]
    assert second.response_format is None and second.output == {"role": "assistant", "content": "It is 15C."}


def test_missing_model_or_time_is_a_bad_record_with_its_reason(tmp_path):
    db = make_db(tmp_path / "logs.db", [row("m1", model=None), row("m2", datetime_utc=""),
                                        row("m3", datetime_utc="yesterday"), row("m4", minutes=3)])
    results = {item.data["id"]: item for item in records(db)}
    for id, reason in (("m1", "row has no model (`model` column empty)"),
                       ("m2", "row has no time (`datetime_utc` column empty)"),
                       ("m3", "`datetime_utc` is not an ISO 8601 time: 'yesterday'")):
        with pytest.raises(BadRecord) as caught:
            list(llm_logs.parse(results[id], parsers.context()))
        assert caught.value.reason == reason
    assert next(llm_logs.parse(results["m4"], parsers.context())).request_id == "llm:m4"


def test_naive_datetime_utc_is_utc_whatever_the_timezone_option(tmp_path):
    paris = parsers.context(zone_named("Europe/Paris"))
    db = make_db(tmp_path / "logs.db", [row("n1", datetime_utc="2026-10-01T09:00:00.123456"),
                                        row("n2", datetime_utc="2026-10-01T09:00:00+00:00")])
    times = {r.request_id: r.timestamp for r in parse_rows(db, paris)}
    assert times == {"llm:n1": T0 + timedelta(microseconds=123456), "llm:n2": T0}


# --- finding and reading database files ----------------------------------------------------------------------


def test_a_directory_walk_finds_logs_db_and_llm_databases_only(tmp_path):
    make_db(tmp_path / "io.datasette.llm/logs.db", [row("a")])
    make_db(tmp_path / "backup.db", [row("b")])  # `llm logs backup` output, any name
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE responses (id INTEGER, score INTEGER)")  # some other app's `responses`
    other.close()
    (tmp_path / "crossover.db").write_bytes(b"DUCK" * 100)
    write_jsonl(tmp_path / "chat.jsonl", [{"a": 1}])
    found = [p.relative_to(tmp_path).as_posix() for p in find_files([tmp_path], parsers.claims)]
    assert found == ["backup.db", "chat.jsonl", "io.datasette.llm/logs.db"]


def test_a_logs_db_that_is_not_sqlite_is_one_reject(tmp_path):
    path = tmp_path / "logs.db"
    path.write_text('{"not": "sqlite"}\n')
    assert find_files([tmp_path], parsers.claims) == [path]  # picked up by its name, so that the problem is reported
    [reject] = records(path)
    assert isinstance(reject, Reject) and reject.line == 0
    assert reject.reason == "not a SQLite database (no `SQLite format 3` header)" and reject.excerpt == '{"not": "sqlite"}'


def test_a_sqlite_file_without_llm_tables_is_one_reject(tmp_path):
    path = tmp_path / "logs.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    [reject] = records(path)
    assert isinstance(reject, Reject) and reject.reason.startswith("not an llm logs database: no `responses` table")


def test_a_truncated_database_is_a_reject_not_a_crash(tmp_path):
    path = make_db(tmp_path / "logs.db", [row(f"r{i}", "x" * 2000) for i in range(50)])
    path.write_bytes(path.read_bytes()[:4096])
    [reject] = records(path)
    assert isinstance(reject, Reject) and reject.line == 0
    assert reject.reason == "unreadable SQLite database: database disk image is malformed"


def test_a_row_that_is_not_utf8_is_rejected_and_the_rest_read(tmp_path):
    path = make_db(tmp_path / "logs.db", [row("u1"), row("u2", minutes=1), row("u3", minutes=2)])
    con = sqlite3.connect(path)
    con.execute("UPDATE responses SET prompt = CAST(X'FFFE41' AS TEXT) WHERE id = 'u2'")
    con.commit()
    con.close()
    items = records(path)
    assert [type(i).__name__ for i in items] == ["RawRecord", "Reject", "RawRecord"]
    assert items[1].line == 2 and items[1].reason == "a column is not UTF-8 text"


def test_reading_is_read_only_and_sets_the_position_to_the_rows_read(tmp_path):
    path = make_db(tmp_path / "logs.db", [row(f"p{i}", minutes=i) for i in range(3)])
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    position = Position()
    assert len(list(llm_logs.read(path, position))) == 3
    assert (position.line, position.offset, position.incomplete) == (3, None, False)
    again = Position(line=2, offset=None)  # a database has no line positions: read again whole
    assert len(list(llm_logs.read(path, again))) == 3 and again.line == 3
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs.db"]


# --- detection -----------------------------------------------------------------------------------------------

OPENAI_CHAT = chat_line(messages=[{"role": "user", "content": "Hi"}], id="chatcmpl-1", prompt_tokens=5)
RESPONSES = {"request": {"model": "gpt-4.1", "input": "Hi"},
             "response": {"id": "resp_1", "object": "response", "model": "gpt-4.1", "created_at": 1790000000,
                          "output": [], "usage": {"input_tokens": 3, "output_tokens": 1}}}
ANTHROPIC = {"request": {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]},
             "response": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                          "content": [{"type": "text", "text": "Hello"}], "usage": {"input_tokens": 1, "output_tokens": 1}}}


@pytest.mark.parametrize("data", [OPENAI_CHAT, OPENAI_CHAT["request"], RESPONSES, RESPONSES["request"], ANTHROPIC,
                                  ANTHROPIC["request"], {**row("r"), "_llm_logs_db": "true"}, row("r")],
                         ids=["chat", "chat-bare", "responses", "responses-bare", "anthropic", "anthropic-bare",
                              "marker-not-true", "row-without-marker"])
def test_detect_refuses_other_records(data):
    assert not llm_logs.detect(data, parsers.context())


def test_other_formats_refuse_an_llm_row(tmp_path):
    rich = row("r1", system="S", prompt_json={"messages": [{"role": "user", "content": "Hi"}]},
               response_json={"model": "gpt-4o", "choices": []}, input_tokens=3, output_tokens=1)
    [item] = records(make_db(tmp_path / "logs.db", [rich]))
    for module in (openai_chat, openai_responses, anthropic_messages):
        assert not module.detect(item.data, parsers.context()), module.NAME
    claimed = [f.name for f in parsers.formats() if f.name != llm_logs.NAME and f.detect(item.data, parsers.context())]
    assert claimed == []


# --- end to end ----------------------------------------------------------------------------------------------


def test_ingest_a_directory_with_a_logs_db_and_a_jsonl(tmp_path, registry):
    logs = tmp_path / "logs"
    make_db(logs / "logs.db", [
        row("e1", "first question", system="Be brief.", conversation="conv-e", input_tokens=20, output_tokens=4,
            token_details=OPENAI_DETAILS | {"prompt_tokens_details": {"cached_tokens": 8}}),
        row("e2", "second question", minutes=1, conversation="conv-e", model="claude-3-5-haiku-latest",
            input_tokens=10, output_tokens=6, token_details=ANTHROPIC_DETAILS),
        row("e3", model=None, minutes=2),  # rejected: no model
    ])
    write_jsonl(logs / "chat.jsonl", [chat_line(messages=[{"role": "user", "content": "Hi"}], id="chatcmpl-j1",
                                                prompt_tokens=9), "{broken"])
    result = api.ingest([logs], db=str(tmp_path / "x.duckdb"))
    by_file = {f.path.rsplit("/", 1)[-1]: f for f in result.files}
    assert (by_file["logs.db"].records, by_file["logs.db"].stored, by_file["logs.db"].rejected) == (3, 2, 1)
    assert by_file["logs.db"].formats == {"llm-logs"} and by_file["chat.jsonl"].formats == {"openai-chat"}
    with duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True) as con:
        stored = con.execute(
            "SELECT request_id, format, model, requested_model, ts, session_id, line, reported_prompt_tokens, "
            "reported_cached_tokens, reported_cache_write_tokens, reported_output_tokens, reported_reasoning_tokens "
            "FROM requests ORDER BY request_id").fetchall()
        assert stored == [
            ("chatcmpl-j1", "openai-chat", "gpt-4o", "gpt-4o", datetime(2026, 10, 1, 10), None, 1, 9, 0, None, 1, None),
            ("llm:e1", "llm-logs", "gpt-4o-mini", "gpt-4o-mini", datetime(2026, 10, 1, 9), "conv-e", 1, 20, 8, None, 4, 64),
            ("llm:e2", "llm-logs", "claude-3-5-haiku-latest", "claude-3-5-haiku-latest", datetime(2026, 10, 1, 9, 1),
             "conv-e", 2, 2010, 1800, 200, 6, None),
        ]
        assert con.execute("SELECT history_tokens > 0 FROM requests WHERE request_id = 'llm:e2'").fetchone() == (True,)
        rejects = con.execute("SELECT file LIKE '%logs.db', line, reason FROM rejects ORDER BY reason").fetchall()
        assert (True, 3, "row has no model (`model` column empty)") in rejects
        assert con.execute("SELECT sum(records), sum(stored + duplicates + rejected) FROM files").fetchone() == (5, 5)
        assert con.execute("SELECT lines_read, bytes_read FROM files WHERE path LIKE '%logs.db'").fetchone() == (3, None)

    # Unchanged: skipped. Changed (a new row): read again whole, nothing stored twice.
    assert all(f.skipped for f in api.ingest([logs], db=str(tmp_path / "x.duckdb")).files)
    con = sqlite3.connect(logs / "logs.db")
    con.execute("INSERT INTO responses (id, model, prompt, response, conversation_id, datetime_utc) "
                "VALUES ('e4', 'gpt-4o-mini', 'third', 'ok', 'conv-e', '2026-10-01T09:05:00')")
    con.commit()
    con.close()
    again = {f.path.rsplit("/", 1)[-1]: f for f in api.ingest([logs], db=str(tmp_path / "x.duckdb")).files}
    assert (again["logs.db"].records, again["logs.db"].stored, again["logs.db"].rejected) == (4, 3, 1)
    with duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM requests WHERE format = 'llm-logs'").fetchone() == (3,)
        assert con.execute("SELECT sum(records), sum(stored + duplicates + rejected) FROM files").fetchone() == (6, 6)
