"""The traffic generator (bench/traffic.py): determinism, shape, exact usage and the planted bad lines."""

from __future__ import annotations

import gzip
import json
import re
import sys
from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import traffic  # noqa: E402

from analyzer.tokenizing import REPLY_PRIMING, Counter  # noqa: E402

REQUESTS = 300


def _feature(line: dict) -> str:
    request = line["request"]
    if "response_format" in request:
        return "invoice_extraction"
    if "tools" in request:
        return "support_assistant"
    if "sample_rate" in line:
        return "ticket_classifier"
    return "call_summarizer"


def _read(out: Path) -> dict[str, list[str]]:
    return {
        str(path.relative_to(out)): gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        for path in sorted(out.rglob("*.jsonl.gz"))
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("traffic")
    summary = traffic.generate(out, preset="bench", requests=REQUESTS)
    files = _read(out)
    bad = {(b["file"], b["line"]): b["kind"] for b in summary["bad_lines"]}
    records = []  # (file, line number, parsed object) of every request line
    for name, lines in files.items():
        for number, text in enumerate(lines, 1):
            if (name, number) not in bad:
                records.append((name, number, json.loads(text)))
    return out, summary, files, records


def test_same_seed_gives_identical_bytes(generated, tmp_path):
    out, summary, _, _ = generated
    again = traffic.generate(tmp_path, preset="bench", requests=REQUESTS)
    first = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    second = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert first == second and len(first) == traffic.DAYS
    for rel in first:
        assert (out / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel
    assert {k: v for k, v in again.items() if k != "out_dir"} == {k: v for k, v in summary.items() if k != "out_dir"}


def test_other_seed_differs(generated, tmp_path):
    out, _, _, _ = generated
    traffic.generate(tmp_path, preset="bench", requests=REQUESTS, seed=7)
    rel = "2026-10/requests-2026-10-05.jsonl.gz"
    assert (out / rel).read_bytes() != (tmp_path / rel).read_bytes()


def test_one_file_per_day_sorted_and_inside_the_month(generated):
    _, summary, files, records = generated
    assert sorted(files) == [f"2026-10/requests-2026-10-{d:02d}.jsonl.gz" for d in range(1, 32)]
    by_file = defaultdict(list)
    for name, _, line in records:
        by_file[name].append(line["timestamp"])
        assert line["timestamp"][:10] == name[-19:-9], "a line sits in the file of its UTC day"
    for stamps in by_file.values():
        assert stamps == sorted(stamps)
    assert min(t for s in by_file.values() for t in s) >= "2026-10-01T00:00:00"
    assert max(t for s in by_file.values() for t in s) <= "2026-10-31T23:59:00"
    assert summary["lines"] == sum(len(v) for v in files.values())


def test_lines_per_feature_and_sample_rate_only_on_the_classifier(generated):
    _, summary, _, records = generated
    counts = defaultdict(int)
    for _, _, line in records:
        feature = _feature(line)
        counts[feature] += 1
        if feature == "ticket_classifier":
            assert line["sample_rate"] == 0.02
        else:
            assert "sample_rate" not in line
        assert list(line) == ["timestamp", "latency_ms"] + (["sample_rate"] if "sample_rate" in line else []) + [
            "request", "response"]
    assert dict(counts) == summary["lines_per_feature"]
    assert sum(counts.values()) == summary["requests"] == REQUESTS
    # The mix of the sample preset: every feature present, the classifier and assistant the largest.
    assert all(counts[f] > 0 for f in traffic.FEATURES)
    assert counts["ticket_classifier"] > counts["invoice_extraction"] > counts["call_summarizer"]


def test_usage_equals_a_recount(generated):
    _, _, _, records = generated
    counters: dict[str, Counter] = {}
    for _, _, line in records:
        request, response = line["request"], line["response"]
        c = counters.setdefault(request["model"], Counter(request["model"]))
        prompt = sum(c.message(m) for m in request["messages"]) + REPLY_PRIMING
        static = sum(c.message(m) for m in request["messages"] if m["role"] == "system")
        if request.get("tools"):
            prompt += c.tools(request["tools"])
            static += c.tools(request["tools"])
        if request.get("response_format"):
            prompt += c.response_format(request["response_format"])
            static += c.response_format(request["response_format"])
        if _feature(line) == "ticket_classifier":
            static = sum(c.message(m) for m in request["messages"][:-1])
        usage = response["usage"]
        output = response["choices"][0]["message"]["content"]
        assert usage["prompt_tokens"] == prompt
        assert usage["completion_tokens"] == c.text(output)
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        cached = usage["prompt_tokens_details"]["cached_tokens"]
        assert cached in ({0, static // 128 * 128} if static >= 1024 else {0})


def test_response_envelope(generated):
    _, _, _, records = generated
    ids = set()
    response_models = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
                       "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14"}
    for _, _, line in records:
        response = line["response"]
        assert re.fullmatch(r"chatcmpl-[A-Za-z0-9]{29}", response["id"])
        ids.add(response["id"])
        assert re.fullmatch(r"fp_[0-9a-f]{10}", response["system_fingerprint"])
        when = datetime.strptime(line["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert response["created"] == int(when.timestamp())
        assert response["model"] == response_models[line["request"]["model"]]
        assert response["object"] == "chat.completion"
        assert response["choices"][0]["finish_reason"] == "stop"
        assert isinstance(line["latency_ms"], int) and line["latency_ms"] > 0
    assert len(ids) == len(records)


def test_classifier_fewshot_is_identical_in_every_request(generated):
    _, _, _, records = generated
    prefixes = set()
    for _, _, line in records:
        if _feature(line) != "ticket_classifier":
            continue
        messages = line["request"]["messages"]
        assert len(messages) == 18  # system + 8 user/assistant pairs + the live ticket
        assert [m["role"] for m in messages[1:17]] == ["user", "assistant"] * 8
        assert all("name" not in m for m in messages)
        assert messages[-1]["role"] == "user"
        prefixes.add(json.dumps(messages[:-1]))
        label = line["response"]["choices"][0]["message"]["content"]
        assert label in traffic.CLASSIFIER_LABELS
    assert len(prefixes) == 1


def test_invoice_output_matches_the_schema_keys(generated):
    _, _, _, records = generated
    for _, _, line in records:
        if _feature(line) == "invoice_extraction":
            schema = line["request"]["response_format"]["json_schema"]["schema"]
            fields = json.loads(line["response"]["choices"][0]["message"]["content"])
            assert list(fields) == schema["required"]


def test_session_history_repeats_earlier_outputs(generated):
    _, summary, _, records = generated
    sessions = defaultdict(list)
    for _, _, line in records:
        if _feature(line) == "support_assistant":
            sessions[line["request"]["metadata"]["session_id"]].append(line)
    assert len(sessions) == summary["support_sessions"]
    multi = 0
    for turns in sessions.values():
        turns.sort(key=lambda line: line["timestamp"])
        assert len({t["request"]["user"] for t in turns}) == 1
        multi += len(turns) > 1
        expected: list[dict] = []
        for line in turns:
            messages = line["request"]["messages"]
            assert messages[0]["role"] == "system" and messages[-1]["role"] == "user"
            assert messages[1:-1] == expected
            expected = messages[1:] + [
                {"role": "assistant", "content": line["response"]["choices"][0]["message"]["content"]}]
        stamps = [datetime.strptime(t["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ") for t in turns]
        assert all(10 <= (b - a).total_seconds() <= 900 for a, b in pairwise(stamps))
    assert multi > 0


def test_bad_lines_are_where_the_summary_says(generated):
    _, summary, files, _ = generated
    kinds = sorted(b["kind"] for b in summary["bad_lines"])
    assert kinds == ["not_a_request", "not_json", "truncated_json", "truncated_json"]
    assert len({b["file"] for b in summary["bad_lines"]}) in (2, 3)
    for bad in summary["bad_lines"]:
        text = files[bad["file"]][bad["line"] - 1]
        if bad["kind"] == "not_a_request":
            obj = json.loads(text)
            assert "request" not in obj and "event" in obj
        else:
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
            if bad["kind"] == "truncated_json":
                assert text.startswith('{"timestamp": "' + bad["timestamp"])
    # Every other line is a request log.
    bad = {(b["file"], b["line"]) for b in summary["bad_lines"]}
    for name, lines in files.items():
        for number, text in enumerate(lines, 1):
            if (name, number) not in bad:
                assert "request" in json.loads(text)


def test_builtin_distributions_without_the_corpus(tmp_path):
    a = traffic.generate(tmp_path / "a", preset="bench", requests=60, corpus_dir=False)
    b = traffic.generate(tmp_path / "b", preset="bench", requests=60, corpus_dir=tmp_path / "missing")
    assert not a["corpus"] and not b["corpus"]
    assert a["requests"] == 60 and a["lines_per_feature"] == b["lines_per_feature"]
    for rel in ("2026-10/requests-2026-10-01.jsonl.gz", "2026-10/requests-2026-10-31.jsonl.gz"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
