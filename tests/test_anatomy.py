"""Prompt anatomy beyond chat text: examples inside system text, tool input_examples, images, calibration."""

from __future__ import annotations

import json

import duckdb

from analyzer import api, storage
from analyzer.examples import without_examples
from analyzer.models import Request
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
    rows = {r["model"]: r for r in json.loads(invoke(["query", "counted_vs_reported", "--format", "json"]).output)}
    claude = rows["claude-sonnet-4-5-20250929"]
    assert claude["exact_tokenizer"] is False and claude["scale"] == round(billed / counted, 4)
    assert rows["gpt-4o"]["scale"] == 1.0 and rows["gpt-4o"]["exact_share"] == 1.0
    projection = api.report()
    template = next(t for t in projection.templates if t["models"][0].startswith("claude"))
    # Scaled segments add up to what was billed on average.
    assert round(sum(template["tokens_per_request"][k] for k in ("system", "fewshot", "tools", "history", "input")),
                 1) == round(billed / 6, 1)
    assert [c["model"] for c in projection.as_dict()["calibration"]][0] == "claude-sonnet-4-5-20250929"
    out = invoke(["report"]).output
    assert "Counted vs billed prompt tokens (crossover query counted_vs_reported)" in out
    assert "scaled ×" in out and "exact tokenizer" in out
