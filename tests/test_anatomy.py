"""Prompt anatomy beyond chat text: examples inside system text, tool input_examples, images, calibration."""

from __future__ import annotations

import json

import duckdb

from analyzer import api, storage
from analyzer.examples import without_examples
from analyzer.models import PROMPT_KINDS, Request
from analyzer.segmenting import segment
from analyzer.tokenizing import Counter

from .conftest import chat_line, invoke, write_jsonl
from .test_media import data_url, png

INSTRUCTIONS = "Classify the sentiment of the review as positive or negative. Reply with the label only."
EXAMPLES = """

<examples>
<example>Review: Arrived broken and support never answered.
Label: negative</example>
<example>Review: Lovely colour, fits perfectly.
Label: positive</example>
</examples>"""


def test_examples_inside_system_text_are_fewshot_and_the_parts_still_add_up():
    counter = Counter("gpt-4o")
    system = INSTRUCTIONS + EXAMPLES
    request = Request(model="gpt-4o", messages=[{"role": "system", "content": system},
                                                {"role": "user", "content": "Great kettle"}])
    seg = segment(request, counter)
    assert without_examples(system).strip() == INSTRUCTIONS
    assert seg.fewshot_named == counter.text(system) - counter.text(without_examples(system)) > 20
    # System keeps the instructions and the message overhead; the sum is the message's count.
    assert seg.system + seg.fewshot_named == counter.message({"role": "system", "content": system})


def test_anthropic_tool_input_examples_are_fewshot():
    examples = [{"city": "Paris", "unit": "celsius"}, {"city": "Boston"}]
    tool = {"type": "function", "function": {"name": "weather", "description": "Get the weather",
                                             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                                             "input_examples": examples}}
    counter = Counter("claude-sonnet-4-5")
    request = Request(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Weather?"}], tools=[tool])
    seg = segment(request, counter)
    assert seg.fewshot_named == sum(counter.text(json.dumps(e)) for e in examples)


def image_message(url: str, detail: str = "high") -> dict:
    return {"role": "user", "content": [{"type": "text", "text": "What is in this picture?"},
                                        {"type": "image_url", "image_url": {"url": url, "detail": detail}}]}


def test_a_base64_image_is_counted_by_the_published_rule():
    counter = Counter("gpt-4o")
    with_image = segment(Request(model="gpt-4o", messages=[image_message(data_url(png(1024, 1024)))]), counter)
    text_only = segment(Request(model="gpt-4o", messages=[image_message("https://example.com/cat.png")]), counter)
    assert with_image.input - text_only.input == 765  # OpenAI's worked example: 1024x1024, high detail


def test_an_image_behind_a_url_takes_what_was_billed_beyond_the_count():
    counter = Counter("gpt-4o")
    request = Request(model="gpt-4o", messages=[{"role": "system", "content": "Describe images."},
                                                image_message("https://example.com/cat.png")])
    unbilled = segment(request, counter)
    request.reported_prompt_tokens = unbilled.prompt_tokens + 1105
    billed = segment(request, counter)
    assert billed.input == unbilled.input + 1105 and billed.system == unbilled.system
    assert billed.prompt_tokens == request.reported_prompt_tokens


CLAUDE_RESPONSE = {"type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                   "content": [{"type": "text", "text": "positive"}], "stop_reason": "end_turn"}


def test_estimated_counts_are_calibrated_to_the_bill_and_shown_in_the_report(tmp_path):
    lines = []
    for n in range(6):
        body = {"model": "claude-sonnet-4-5", "max_tokens": 5, "system": INSTRUCTIONS,
                "messages": [{"role": "user", "content": f"Review number {n}: it works well enough."}]}
        lines.append({"timestamp": f"2026-10-0{n + 1}T10:00:00Z", "request": body, "response": {
            **CLAUDE_RESPONSE, "id": f"msg_{n}", "usage": {"input_tokens": 60 + n, "output_tokens": 1}}})
    lines.append(chat_line(messages=[{"role": "user", "content": "Hello"}], id="chatcmpl-1", prompt_tokens=8))
    write_jsonl(tmp_path / "logs.jsonl", lines)
    api.ingest([tmp_path / "logs.jsonl"])
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        counted, billed = con.execute("SELECT sum(prompt_tokens), sum(reported_prompt_tokens) FROM requests "
                                      "WHERE model LIKE 'claude%'").fetchone()
    rows = {r["model"]: r for r in json.loads(invoke(["query", "counted_vs_reported", "--format", "json"]).stdout)}
    claude = rows["claude-sonnet-4-5-20250929"]
    assert claude["exact_tokenizer"] is False and claude["scale"] == round(billed / counted, 4)
    assert rows["gpt-4o"]["scale"] == 1.0 and rows["gpt-4o"]["exact_share"] == 1.0
    projection = api.report()
    template = next(t for t in projection.templates if t.models[0].startswith("claude"))
    # Scaled segments add up to what was billed on average.
    assert round(sum(template.tokens_per_request[k] for k in PROMPT_KINDS), 1) == round(billed / 6, 1)
    assert [c["model"] for c in projection.as_dict()["calibration"]][0] == "claude-sonnet-4-5-20250929"
    out = invoke(["report"]).output
    assert "Counted vs billed prompt tokens (crossover query counted_vs_reported)" in out
    assert "scaled ×" in out and "exact tokenizer" in out


POOL = [("Arrived broken.", "negative"), ("Lovely colour.", "positive"), ("Never again.", "negative"),
        ("Works a treat.", "positive"), ("Too small.", "negative"), ("Great value.", "positive")]


def turns(pairs) -> list[dict]:
    return [m for text, label in pairs for m in ({"role": "user", "content": text}, {"role": "assistant", "content": label})]


def stored(sql: str) -> list[tuple]:
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_examples_picked_per_request_are_dynamic_fewshot(tmp_path):
    counter = Counter("gpt-4o")
    lines, expected = [], {}
    for n in range(8):
        picked = [POOL[n % 6], POOL[(n + 2) % 6]]  # two examples chosen for this request (say by similarity)
        lines.append(chat_line(messages=[{"role": "system", "content": INSTRUCTIONS}, *turns(picked),
                                         {"role": "user", "content": f"Review {n}: fine."}],
                               id=f"chatcmpl-d{n}", output="positive"))
        expected[f"chatcmpl-d{n}"] = sum(counter.message(m) for m in turns(picked))
    write_jsonl(tmp_path / "dynamic.jsonl", lines)
    api.ingest([tmp_path])
    got = dict((rid, (fewshot, history)) for rid, fewshot, history in stored(
        "SELECT request_id, fewshot_tokens, history_tokens FROM requests"))
    assert got == {rid: (tokens, 0) for rid, tokens in expected.items()}


def session(n: int, turn_count: int, *, session_id: str | None, echo: bool) -> list[dict]:
    """One conversation logged turn by turn; later requests send back the earlier replies (exactly, or edited)."""
    history, lines = [], []
    for t in range(turn_count):
        user = {"role": "user", "content": f"Session {n}, question {t}?"}
        reply = f"Answer {t} for session {n}."
        line = chat_line(messages=[{"role": "system", "content": "You are the shop's assistant."}, *history, user],
                         id=f"chatcmpl-s{n}-{t}", output=reply, ts=f"2026-10-01T10:{n:02d}:{t:02d}Z")
        if session_id:
            line["request"]["metadata"] = {"session_id": session_id}
        lines.append(line)
        history += [user, {"role": "assistant", "content": reply if echo else reply.upper()}]
    return lines


def test_history_is_told_by_replayed_outputs_or_by_the_session(tmp_path):
    lines = [line for n in range(3) for line in session(n, 3, session_id=None, echo=True)]
    # The app edits replies before sending them back: only the session id shows they are history.
    lines += [line for n in range(3, 6) for line in session(n, 3, session_id=f"sess-{n}", echo=False)]
    write_jsonl(tmp_path / "sessions.jsonl", lines)
    api.ingest([tmp_path])
    rows = stored("SELECT request_id, fewshot_tokens, history_tokens, middle_tokens FROM requests")
    assert all(fewshot == 0 and history == middle for _, fewshot, history, middle in rows)
    assert sum(history > 0 for _, _, history, _ in rows) == 12  # turns 2 and 3 of each session


def test_without_a_session_id_edited_replies_look_like_examples(tmp_path):
    # The documented limit: history whose replies were edited, with no session id, reads as dynamic few-shot.
    write_jsonl(tmp_path / "s.jsonl", [line for n in range(3) for line in session(n, 3, session_id=None, echo=False)])
    api.ingest([tmp_path])
    assert stored("SELECT sum(history_tokens) FROM requests") == [(0,)]


def test_cached_tokens_are_attributed_to_the_static_prefix_first(tmp_path):
    counter = Counter("gpt-4o")
    system = {"role": "system", "content": INSTRUCTIONS}
    static = counter.message(system)
    lines = [chat_line(messages=[system, {"role": "user", "content": f"Review {n}"}], id=f"chatcmpl-c{n}",
                       prompt_tokens=static + 10, cached_tokens=cached)
             for n, cached in enumerate([static // 2, static + 5])]  # half the prefix; all of it and more
    write_jsonl(tmp_path / "cached.jsonl", lines)
    api.ingest([tmp_path])
    [row] = api.templates().to_dicts()
    assert row["static_cached_share"] == round(((static // 2) / static + 1.0) / 2, 4)
