"""`crossover export`: the classifier of the bundled month as a fine-tuning set, split by input, traceable to its lines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analyzer import api, parsers, reading
from analyzer.models import Request

from .conftest import SAMPLE_LOGS, ingested_sample, invoke

CLASSIFIER = "ticket router"


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> Path:
    """The sample month ingested once into its own database."""
    return ingested_sample(tmp_path_factory, "export")


@pytest.fixture(scope="module")
def exported(month, tmp_path_factory):
    """The classifier exported once with the defaults: (template id, result, its directory)."""
    out = tmp_path_factory.mktemp("exported") / "out"
    tid = _classifier(month)
    return tid, api.export(tid, out, str(month)), out


def _classifier(db: Path) -> str:
    rows = api.templates(str(db))
    [tid] = [r["template_id"] for r in rows.to_dicts() if CLASSIFIER in r["label"]]
    return tid


def _sql(db: Path, tmp_path: Path, sql: str) -> list[dict]:
    path = tmp_path / "q.sql"
    path.write_text(sql)
    return api.query(str(path), str(db))[1].to_dicts()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_counts_add_up_to_the_distinct_successful_requests(month, exported, tmp_path):
    tid, result, out = exported
    counts = result.manifest["counts"]
    [row] = _sql(month, tmp_path, f"""
        SELECT count(*) FILTER (WHERE status = 'ok' AND output_kind <> 'none') AS ok,
               count(DISTINCT coalesce(exchange_hash, request_id))
                   FILTER (WHERE status = 'ok' AND output_kind <> 'none') AS distinct_ok,
               count(*) AS all_
        FROM requests WHERE template_id = '{tid}'""")
    assert row["distinct_ok"] > 100
    assert counts["candidates"] == row["distinct_ok"]
    assert counts["candidates"] + counts["duplicates_dropped"] == row["ok"]
    train, eval_ = _lines(out / "train.jsonl"), _lines(out / "eval.jsonl")
    assert (len(train), len(eval_)) == (counts["train"], counts["eval"])
    assert counts["train"] + counts["eval"] + sum(counts["skipped"].values()) == counts["candidates"]
    assert len(result.manifest["examples"]["train"]) == len(train)
    assert 0.1 < len(eval_) / (len(train) + len(eval_)) < 0.3  # about the default 20%


def test_no_input_on_both_sides(month, exported, tmp_path):
    tid, result, out = exported
    manifest = result.manifest
    hashes = {r["request_id"]: r["input_hash"]
              for r in _sql(month, tmp_path, f"SELECT request_id, input_hash FROM requests WHERE template_id = '{tid}'")}
    sides = {side: {hashes[e["request_id"]] for e in manifest["examples"][side]} for side in ("train", "eval")}
    assert sides["train"] and sides["eval"]
    assert not sides["train"] & sides["eval"]
    # And by the text itself: no live turn written on both sides.
    turns = {side: {json.dumps(json.loads(line)["messages"][1:-1]) for line in _lines(out / f"{side}.jsonl")}
             for side in ("train", "eval")}
    assert not turns["train"] & turns["eval"]


def test_the_split_is_stable_and_follows_the_seed(month, exported, tmp_path):
    tid, _, out = exported
    for name, seed in (("b", 14), ("c", 15)):
        api.export(tid, tmp_path / name, str(month), seed=seed)
    for split in ("train.jsonl", "eval.jsonl"):
        assert (out / split).read_bytes() == (tmp_path / "b" / split).read_bytes()
        assert (out / split).read_bytes() != (tmp_path / "c" / split).read_bytes()


def test_every_example_comes_from_its_source_line(exported):
    _, result, out = exported
    manifest = result.manifest
    for side in ("train", "eval"):
        written = _lines(out / f"{side}.jsonl")
        by_file: dict[str, dict[int, int]] = {}
        for i, source in enumerate(manifest["examples"][side]):
            by_file.setdefault(source["file"], {})[source["line"]] = i
        seen = 0
        for name, lines in by_file.items():
            for record in reading.read_file(Path(name)):
                if isinstance(record, reading.Reject) or record.line not in lines:
                    continue
                fmt = parsers.detect(record.data, parsers.context())
                [request] = [r for r in fmt.parse(record, parsers.context()) if isinstance(r, Request)]
                example = json.loads(written[lines[record.line]])
                assert example["messages"][-1]["content"] == request.output["content"]
                assert example["messages"][-2] == {"role": "user", "content": request.messages[-1]["content"]}
                assert "tools" not in example and example["messages"][0]["role"] == "system"
                seen += 1
        assert seen == len(written)


def test_max_examples_caps_the_total(month, tmp_path):
    manifest = api.export(_classifier(month), tmp_path / "out", str(month), max_examples=50).manifest
    counts = manifest["counts"]
    assert counts["train"] + counts["eval"] == 50
    assert counts["skipped"]["over --max-examples"] == counts["candidates"] - 50


def test_a_vanished_source_file_is_skipped_and_counted(tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(SAMPLE_LOGS, logs)
    db = tmp_path / "copy.duckdb"
    api.ingest([str(logs)], str(db))
    gone = sorted((logs / "2026-10").iterdir())[0]
    gone.unlink()
    out = invoke(["export", _classifier(db), "--out", str(tmp_path / "out"), "--db", str(db)])
    assert f"warning: {gone}: gone since ingest" in out.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"]["skipped"]["source file gone"] > 0
    assert not any(e["file"] == str(gone) for side in ("train", "eval") for e in manifest["examples"][side])


def test_by_label_and_prefix(month, exported, tmp_path):
    tid, _, out = exported
    label = next(r["label"] for r in api.templates(str(month)).to_dicts() if r["template_id"] == tid)
    invoke(["export", label, "--out", str(tmp_path / "a"), "--db", str(month)])
    invoke(["export", tid[:6], "--out", str(tmp_path / "b"), "--db", str(month)])
    assert (tmp_path / "a" / "train.jsonl").read_bytes() == (out / "train.jsonl").read_bytes()
    assert (tmp_path / "b" / "train.jsonl").read_bytes() == (out / "train.jsonl").read_bytes()


def _one_line_error(args: list[str]) -> str:
    out = invoke(args, code=2).output.strip()
    assert "\n" not in out and out.startswith("Error: ")
    return out


def test_errors_exit_2_with_one_line(month, tmp_path):
    db = ["--db", str(month)]
    assert "no template is 'nope'" in _one_line_error(["export", "nope", "--out", str(tmp_path / "x"), *db])
    ids = [r["template_id"] for r in api.templates(str(month)).to_dicts()]
    first = {}
    for tid in ids:
        first.setdefault(tid[0], []).append(tid)
    shared = next((prefix, group) for prefix, group in first.items() if len(group) > 1) if any(
        len(g) > 1 for g in first.values()) else ("", ids)
    message = _one_line_error(["export", shared[0], "--out", str(tmp_path / "x"), *db])
    assert "ambiguous" in message and all(tid in message for tid in shared[1])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    assert "not an empty directory" in _one_line_error(["export", ids[0], "--out", str(busy), *db])
    assert (busy / "keep.txt").read_text() == "mine"
