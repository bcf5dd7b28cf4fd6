"""Batch files joined on custom_id and counted once; batch and other service tiers priced at their own rates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import api, pricing, storage

from .conftest import invoke, write_jsonl

SYSTEM = {"role": "system", "content": "Label the sentiment: positive or negative."}
CREATED = 1790000000  # 2026-09-21 14:13:20 UTC


def chat_input(custom_id: str, text: str, model: str = "gpt-4o") -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [SYSTEM, {"role": "user", "content": text}]}}


def chat_output(custom_id: str, n: int, prompt_tokens: int = 20) -> dict:
    body = {"id": f"chatcmpl-b{n}", "object": "chat.completion", "created": CREATED + n, "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "positive"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 1, "total_tokens": prompt_tokens + 1},
            "service_tier": "default"}
    return {"id": f"batch_req_{n}", "custom_id": custom_id,
            "response": {"status_code": 200, "request_id": f"{n:032x}", "body": body}, "error": None}


RESPONSES_INPUT = {"custom_id": "r1", "method": "POST", "url": "/v1/responses",
                   "body": {"model": "gpt-4.1-mini", "instructions": "Label the sentiment.", "input": "Lovely day"}}
RESPONSES_OUTPUT = {"id": "batch_req_r1", "custom_id": "r1", "error": None, "response": {"status_code": 200, "body": {
    "id": "resp_b1", "object": "response", "created_at": CREATED + 50, "status": "completed", "model": "gpt-4.1-mini",
    "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "positive"}]}],
    "usage": {"input_tokens": 18, "output_tokens": 1, "total_tokens": 19}}}}
EMBEDDINGS_INPUT = {"custom_id": "e1", "method": "POST", "url": "/v1/embeddings",
                    "body": {"model": "text-embedding-3-small", "input": "hello"}}
REFUSED_OUTPUT = {"id": "batch_req_9", "custom_id": "c3", "response": None,
                  "error": {"code": "invalid_request", "message": "model not available for batch"}}


def openai_batch(tmp_path, with_output: bool = True):
    """A batch of three chat lines, one Responses line and one embeddings line; its output in another order."""
    logs = tmp_path / "logs"
    write_jsonl(logs / "batch_input.jsonl", [chat_input("c1", "I love it"), chat_input("c2", "I hate it"),
                                             chat_input("c3", "Meh"), RESPONSES_INPUT, EMBEDDINGS_INPUT])
    if with_output:
        write_jsonl(logs / "batch_output.jsonl", [chat_output("c2", 2), RESPONSES_OUTPUT, chat_output("c1", 1),
                                                  REFUSED_OUTPUT, chat_output("c9", 9)])
    return logs


def file_counts(name: str) -> tuple:
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        return con.execute("SELECT records, stored, duplicates, rejected, pending FROM files WHERE path LIKE ?",
                           [f"%{name}"]).fetchone()


def test_openai_input_and_output_become_one_request_each(tmp_path):
    logs = openai_batch(tmp_path)
    os.utime(logs / "batch_output.jsonl", (CREATED + 3600, CREATED + 3600))
    result = api.ingest([logs])
    assert result.batch_joined == 4
    assert result.batch_waiting == {"result": 1}  # c9 has no request line
    # Per file: read = stored + duplicates + rejected + pending.
    assert file_counts("batch_input.jsonl") == (5, 4, 0, 1, 0)  # the embeddings line is rejected
    assert file_counts("batch_output.jsonl") == (5, 0, 4, 0, 1)  # four answers to stored requests, c9 waits
    for f in result.files:
        assert f.records == f.stored + f.duplicates + f.rejected + f.pending
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        rows = con.execute("""
            SELECT request_id, file LIKE '%batch_input.jsonl', line, format, service_tier, status,
                   strftime(ts, '%Y-%m-%d %H:%M:%S'), reported_prompt_tokens
            FROM requests ORDER BY line""").fetchall()
        reasons = con.execute("SELECT line, reason FROM rejects").fetchall()
    assert rows[0] == ("chatcmpl-b1", True, 1, "openai-batch", "batch", "ok", "2026-09-21 14:13:21", 20)
    assert rows[1][:7] == ("chatcmpl-b2", True, 2, "openai-batch", "batch", "ok", "2026-09-21 14:13:22")
    # The refused line has no response, hence no time of its own: its file's modification time dates it.
    assert rows[2][1:7] == (True, 3, "openai-batch", "batch", "error", "2026-09-21 15:13:20")
    assert rows[3][:5] == ("resp_b1", True, 4, "openai-batch", "batch")
    assert reasons == [(5, "batch request for /v1/embeddings: only chat completions and responses are analysed")]
    assert any("1 batch results carry no time" in w for w in result.warnings)


def test_batch_requests_are_priced_at_the_batch_tier(tmp_path):
    api.ingest([openai_batch(tmp_path)])
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        price_input, source, cost = con.execute(
            "SELECT price_input, price_source, cost_usd FROM request_costs WHERE request_id = 'chatcmpl-b1'").fetchone()
    assert price_input == 1.25 and "batch tier" in source  # gpt-4o: $2.50 list, half in a batch
    assert cost == pytest.approx((20 * 1.25 + 1 * 5.0) / 1e6)


def test_input_first_output_on_a_later_run(tmp_path):
    logs = openai_batch(tmp_path, with_output=False)
    first = api.ingest([logs])
    assert (first.total("records"), first.total("pending"), first.total("rejected"), first.batch_joined) == (5, 4, 1, 0)
    assert first.batch_waiting == {"request": 4}
    openai_batch(tmp_path)  # the batch finished: its output is downloaded beside the input
    second = api.ingest([logs])
    assert second.batch_joined == 4 and second.batch_waiting == {"result": 1}
    assert file_counts("batch_input.jsonl") == (5, 4, 0, 1, 0)  # moved out of pending, in the files row
    assert file_counts("batch_output.jsonl") == (5, 0, 4, 0, 1)
    third = api.ingest([logs])
    assert third.total("records") == 0 and third.batch_joined == 0


def test_a_changed_input_file_is_joined_again_without_counting_twice(tmp_path):
    logs = openai_batch(tmp_path)
    api.ingest([logs])
    write_jsonl(logs / "batch_input.jsonl", [chat_input("c1", "I love it"), chat_input("c2", "Changed my mind")])
    result = api.ingest([logs])
    changed = next(f for f in result.files if f.path.endswith("batch_input.jsonl"))
    assert changed.warnings == ["what was read before has changed: read again whole"]
    # Both lines join the output lines already read; the output file's counts do not move.
    assert file_counts("batch_input.jsonl") == (2, 2, 0, 0, 0)
    assert file_counts("batch_output.jsonl") == (5, 0, 4, 0, 1)
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM requests").fetchone()[0] == 2


def test_the_same_output_downloaded_twice_is_a_duplicate(tmp_path):
    logs = openai_batch(tmp_path)
    (logs / "copy_of_output.jsonl").write_text((logs / "batch_output.jsonl").read_text())
    result = api.ingest([logs])
    assert result.total("stored") == 4
    assert file_counts("copy_of_output.jsonl") == (5, 0, 4, 0, 1)


def test_custom_ids_reused_across_batches_join_within_their_directory(tmp_path):
    logs = tmp_path / "logs"
    for n, text in ((1, "first batch"), (2, "second batch")):
        write_jsonl(logs / f"b{n}" / "input.jsonl", [chat_input("request-1", text)])
        write_jsonl(logs / f"b{n}" / "output.jsonl", [chat_output("request-1", n)])
    api.ingest([logs])
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        joined = con.execute("SELECT request_id, file FROM requests ORDER BY request_id").fetchall()
    assert [(rid, os.path.basename(os.path.dirname(f))) for rid, f in joined] == [
        ("chatcmpl-b1", "b1"), ("chatcmpl-b2", "b2")]


def test_an_output_matching_two_inputs_equally_waits_with_a_warning(tmp_path):
    logs = tmp_path / "logs"
    write_jsonl(logs / "monday_input.jsonl", [chat_input("request-1", "one")])
    write_jsonl(logs / "tuesday_input.jsonl", [chat_input("request-1", "two")])
    write_jsonl(logs / "output.jsonl", [chat_output("request-1", 1)])
    result = api.ingest([logs])
    assert result.batch_joined == 0 and result.batch_waiting == {"request": 2, "result": 1}
    assert any("cannot tell which batch" in w and "monday_input" in w and "tuesday_input" in w for w in result.warnings)


ANTHROPIC_PARAMS = {"model": "claude-sonnet-4-5", "max_tokens": 16, "system": "Label the sentiment.",
                    "messages": [{"role": "user", "content": "Lovely day"}]}
ANTHROPIC_MESSAGE = {"id": "msg_batch1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                     "content": [{"type": "text", "text": "positive"}], "stop_reason": "end_turn",
                     "usage": {"input_tokens": 12, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0,
                               "output_tokens": 1, "service_tier": "batch"}}


def test_anthropic_message_batches(tmp_path):
    logs = tmp_path / "logs"
    write_jsonl(logs / "requests.jsonl", [{"custom_id": f"a{n}", "params": ANTHROPIC_PARAMS} for n in (1, 2, 3)])
    write_jsonl(logs / "results.jsonl", [
        {"custom_id": "a3", "result": {"type": "expired"}},
        {"custom_id": "a1", "result": {"type": "succeeded", "message": ANTHROPIC_MESSAGE}},
        {"custom_id": "a2", "result": {"type": "errored", "error": {"type": "error", "error": {
            "type": "invalid_request_error", "message": "max_tokens too large"}}}},
    ])
    ended = datetime(2026, 10, 5, 6, 30, tzinfo=UTC).timestamp()
    os.utime(logs / "results.jsonl", (ended, ended))
    result = api.ingest([logs])
    assert file_counts("requests.jsonl") == (3, 2, 0, 1, 0)
    assert file_counts("results.jsonl") == (3, 0, 2, 1, 0)
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        rows = con.execute("""SELECT request_id, format, service_tier, status, strftime(ts, '%Y-%m-%d %H:%M'),
                                     reported_prompt_tokens FROM requests ORDER BY line""").fetchall()
        reasons = con.execute("SELECT file LIKE '%results.jsonl', line, reason FROM rejects ORDER BY ALL").fetchall()
    assert rows[0] == ("msg_batch1", "anthropic-batch", "batch", "ok", "2026-10-05 06:30", 12)
    assert rows[1][1:5] == ("anthropic-batch", "batch", "error", "2026-10-05 06:30")
    expired = "batch request expired: it never ran and was not billed"
    assert reasons == [(False, 3, expired), (True, 1, expired)]
    assert any("results.jsonl: 2 batch results carry no time" in w for w in result.warnings)


def test_the_cli_summary_shows_pending_lines_and_the_query_lists_them(tmp_path):
    logs = openai_batch(tmp_path)
    out = invoke(["ingest", str(logs)]).output
    assert "10 read = 4 stored + 4 duplicates + 1 rejected + 1 pending" in out
    assert "batches: 4 requests joined from their request and result lines; 1 result lines wait" in out
    rows = json.loads(invoke(["query", "batch_lines_waiting", "--format", "json"]).stdout)
    assert [(r["half"], r["lines"], r["first_custom_id"]) for r in rows] == [("result", 1, "c9")]


def test_the_join_as_a_subprocess(tmp_path):
    logs = openai_batch(tmp_path)
    done = subprocess.run([sys.executable, "-m", "analyzer", "ingest", str(logs), "--db", str(tmp_path / "sub.duckdb")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "4 requests joined" in done.stderr


def test_long_context_threshold_does_not_leak_into_list_rates():
    # Pricing 1M tokens at once used to hit Anthropic's over-200k rate ($6 instead of $3).
    day = datetime(2026, 10, 1).date()
    standard = pricing.list_rates("claude-sonnet-4-5", day)
    batch = pricing.list_rates("claude-sonnet-4-5", day, "batch")
    assert (standard.input, standard.output) == (3.0, 15.0)
    assert (batch.input, batch.output) == (1.5, 7.5)
    assert "no batch price" in pricing.list_rates("claude-3-5-haiku", day, "batch").source


def test_parallel_workers_join_exactly_what_one_process_does(tmp_path, monkeypatch):
    from analyzer import ingesting

    monkeypatch.setattr(ingesting, "PARALLEL_MIN_BYTES", 0)
    logs = openai_batch(tmp_path)
    seen = []
    for jobs in (1, 2):
        api.ingest([logs], tmp_path / f"j{jobs}.duckdb", jobs=jobs)
        with duckdb.connect(str(tmp_path / f"j{jobs}.duckdb"), read_only=True) as con:
            seen.append([con.execute(sql).fetchall() for sql in (
                "SELECT * FROM requests ORDER BY request_id",
                "SELECT * EXCLUDE (ingested_at, mtime_ns) FROM files ORDER BY path",
                "SELECT * FROM batch_parts ORDER BY file, line")])
    assert seen[0] == seen[1] and len(seen[0][0]) == 4


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inputs=st.sets(st.integers(0, 7)), outputs=st.sets(st.integers(0, 7)), split=st.booleans())
def test_read_equals_stored_duplicates_rejected_pending_for_any_halves(tmp_path_factory, inputs, outputs, split):
    folder = tmp_path_factory.mktemp("halves")
    db = folder / "p.duckdb"
    write_jsonl(folder / "in.jsonl", [chat_input(f"c{n}", f"text {n}") for n in sorted(inputs)] or ["{bad"])
    if split:  # the output arrives on a second run
        api.ingest([folder], db)
    write_jsonl(folder / "out.jsonl", [chat_output(f"c{n}", n) for n in sorted(outputs)] or ["{bad"])
    api.ingest([folder], db)
    with duckdb.connect(str(db), read_only=True) as con:
        files = con.execute("SELECT records, stored, duplicates, rejected, pending FROM files").fetchall()
        stored = con.execute("SELECT count(*) FROM requests").fetchone()[0]
    for records, *parts in files:
        assert records == sum(parts)
    assert stored == len(inputs & outputs)
    assert sum(f[4] for f in files) == len(inputs ^ outputs)


def test_a_logged_service_tier_is_priced_at_its_tier(tmp_path):
    from .conftest import chat_line

    lines = []
    for n, tier in enumerate(("default", "priority", None)):
        line = chat_line(messages=[SYSTEM, {"role": "user", "content": "Fine"}], model="gpt-4.1-mini", id=f"chatcmpl-t{n}",
                         prompt_tokens=20, ts="2026-11-02T10:00:00Z")
        if tier:
            line["response"]["service_tier"] = tier
        lines.append(line)
    write_jsonl(tmp_path / "tiers.jsonl", lines)
    api.ingest([tmp_path / "tiers.jsonl"])
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        rows = con.execute("SELECT request_id, service_tier, price_input FROM request_costs ORDER BY 1").fetchall()
    # gpt-4.1-mini: $0.40 per 1M input tokens standard, $0.70 priority (genai-prices).
    assert rows == [("chatcmpl-t0", "standard", 0.4), ("chatcmpl-t1", "priority", 0.7), ("chatcmpl-t2", None, 0.4)]


def test_prices_command_shows_the_prices_used_per_tier_with_their_days(tmp_path):
    api.ingest([openai_batch(tmp_path)])
    rows = json.loads(invoke(["prices", "--format", "json"]).stdout)
    # The batch's requests were costed at the batch tier, on the days they ran; the source says how.
    batch = [r for r in rows if r["tier"] == "batch"]
    assert {r["model"] for r in batch} == {"gpt-4o-2024-08-06", "gpt-4.1-mini", "gpt-4o"}  # gpt-4o: the refused line
    gpt4o = next(r for r in batch if r["model"] == "gpt-4o-2024-08-06")
    assert (gpt4o["input"], gpt4o["first_day"], gpt4o["requests"]) == (1.25, "2026-09-21", 2)
    assert "batch tier" in gpt4o["source"] and gpt4o["ft_input"] == 3.75
    [on_day] = json.loads(invoke(["prices", "gpt-4o", "--on", "2025-06-01", "--format", "json"]).stdout)
    assert (on_day["first_day"], on_day["tier"], on_day["input"]) == ("2025-06-01", "standard", 2.5)


NOUNS = ("kettle", "lamp", "chair", "blender", "jacket", "phone", "tent", "desk", "camera", "bike", "watch", "mug",
         "scarf", "radio", "oven", "sofa", "drill", "kite")


def _answer(custom_id: str, n: int, label: str) -> dict:
    output = chat_output(custom_id, n)
    output["response"]["body"]["choices"][0]["message"]["content"] = label
    return output


def two_batches_numbered_alike(tmp_path):
    """Two batches in directories of their own that number their lines alike (c1, c2, … in each): the first
    loves, the second hates. Two lines of the first have no result yet and one result has no request."""
    logs = tmp_path / "logs"
    write_jsonl(logs / "b1" / "input.jsonl", [chat_input(f"c{i}", f"I love the {NOUNS[i]}") for i in range(12)])
    write_jsonl(logs / "b1" / "output.jsonl", [_answer(f"c{i}", 100 + i, "positive") for i in range(10)]
                + [_answer("c99", 199, "positive")])
    write_jsonl(logs / "b2" / "input.jsonl", [chat_input(f"c{i}", f"I hate the {NOUNS[12 + i % 6]} {NOUNS[i]}")
                                              for i in range(8)])
    write_jsonl(logs / "b2" / "output.jsonl", [_answer(f"c{i}", 200 + i, "negative") for i in range(8)])
    return logs


def test_export_writes_joined_batch_requests_and_never_an_unjoined_half(tmp_path):
    logs = two_batches_numbered_alike(tmp_path)
    db = tmp_path / "b.duckdb"
    result = api.ingest([logs], db)
    assert result.batch_joined == 18 and result.batch_waiting == {"request": 2, "result": 1}
    [tid] = api.templates(str(db))["template_id"].to_list()
    exported = api.export(tid, tmp_path / "set", str(db))
    examples = [json.loads(line) for side in ("train", "eval")
                for line in (exported.out_dir / f"{side}.jsonl").read_text(encoding="utf-8").splitlines()]
    # Each of the 18 joined requests once, with the answer of its own batch (custom_ids recur across them).
    pairs = sorted((ex["messages"][-2]["content"], ex["messages"][-1]["content"]) for ex in examples)
    assert pairs == sorted([(f"I love the {NOUNS[i]}", "positive") for i in range(10)]
                           + [(f"I hate the {NOUNS[12 + i % 6]} {NOUNS[i]}", "negative") for i in range(8)])
    assert all(ex["messages"][0] == SYSTEM for ex in examples)
    manifest = exported.manifest
    assert manifest["counts"]["skipped"] == {} and manifest["counts"]["candidates"] == 18
    # Every example names the input line of its batch request; none is a line still waiting.
    sources = manifest["examples"]["train"] + manifest["examples"]["eval"]
    assert sorted((Path(s["file"]).parent.name, s["line"]) for s in sources) == sorted(
        [("b1", i + 1) for i in range(10)] + [("b2", i + 1) for i in range(8)])


def test_a_batch_line_whose_partner_is_gone_is_skipped_and_said(tmp_path):
    logs = two_batches_numbered_alike(tmp_path)
    db = tmp_path / "b.duckdb"
    api.ingest([logs], db)
    [tid] = api.templates(str(db))["template_id"].to_list()
    with duckdb.connect(str(db)) as con:  # as if the second batch's results had been forgotten since
        con.execute("UPDATE batch_parts SET joined = false WHERE file LIKE '%b2%output.jsonl'")
    manifest = api.export(tid, tmp_path / "set", str(db)).manifest
    assert manifest["counts"]["skipped"] == {"batch line whose other half is no longer joined to it": 8}
    assert manifest["counts"]["train"] + manifest["counts"]["eval"] == 10


def test_compare_joins_a_candidate_s_batch_files_and_scores_only_the_joined(tmp_path):
    """The candidate ran the eval set through the Batch API: its input and output files are joined on
    custom_id; a request line without a result and a result without a request are said, never scored."""
    logs = two_batches_numbered_alike(tmp_path)
    db = tmp_path / "b.duckdb"
    api.ingest([logs], db)
    [tid] = api.templates(str(db))["template_id"].to_list()
    export = api.export(tid, tmp_path / "set", str(db)).out_dir
    examples = [json.loads(line) for line in (export / "eval.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(examples) >= 3
    model = "ft:gpt-4o-mini-2024-07-18:acme:sentiment:b1"
    inputs = [{"custom_id": f"e{i}", "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": model, "messages": ex["messages"][:-1]}} for i, ex in enumerate(examples)]
    flip = {"positive": "negative", "negative": "positive"}
    outputs = []
    for i, ex in enumerate(examples[:-1]):  # the last one is still running: no result line
        want = ex["messages"][-1]["content"]
        output = _answer(f"e{i}", 300 + i, flip[want] if i == 0 else want)
        output["response"]["body"]["model"] = model
        outputs.append(output)
    outputs.append(_answer("e999", 999, "positive"))  # a result whose request is in no input file given
    write_jsonl(tmp_path / "cand" / "input.jsonl", inputs)
    write_jsonl(tmp_path / "cand" / "output.jsonl", outputs[::-1])
    comparison = api.compare([str(tmp_path / "cand")], str(db), eval_set=export)
    n = len(examples)
    assert comparison.calls == n - 1 and comparison.matched == n - 1 and comparison.missing_examples == 1
    assert comparison.agreement == (n - 2) / (n - 1)
    assert comparison.models == [model] and comparison.cost_per_request is not None
    assert all(Path(c.file).name == "input.jsonl" for c in comparison.call_rows)
    said = "\n".join(comparison.warnings)
    assert "output.jsonl: line 1: a batch result whose request line is not among the logs" in said
    assert "input.jsonl: 1 batch request lines with no result among the logs" in said
