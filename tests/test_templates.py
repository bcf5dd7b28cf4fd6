"""Templates: variable spans masked, versions linked by provider prompt id or by similarity, listed with when each was live."""

from __future__ import annotations

import json

import duckdb

from analyzer import api, storage
from analyzer.segmenting import mask_variables
from analyzer.templating import _link

from .conftest import chat_line, invoke, write_jsonl

POLICY = ("You route support tickets for Larkspur Home. Reply with one label: billing, delivery, returns or other. "
          "Billing covers charges, refunds and invoices. Delivery covers late, lost or damaged parcels. Returns "
          "covers sending goods back and exchanges. Anything else is other. Never explain the label.")
EDITED = POLICY + " A ticket about a missing refund is billing, not returns."
OTHER = ("You summarise a phone call for Larkspur Home in three bullet points: the problem, what was agreed and "
         "what happens next. Write in the past tense and never name the agent.")


def line(system: str, user: str, day: int, n: int, **extra) -> dict:
    return chat_line(messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                     ts=f"2026-10-{day:02d}T10:00:00Z", id=f"chatcmpl-{n}", prompt_tokens=50, **extra)


def test_variable_spans_are_masked_names_in_greetings_too():
    assert mask_variables("Hello Anna, today is 2026-10-03 and your order 4411 ships at 10:30.") == \
        mask_variables("Hello Bob Smith, today is 2026-11-21 and your order 97 ships at 9:05.")
    assert mask_variables("Dear Dr. Okafor, write to jane.doe@example.com") == "Dear <name>, write to <email>"
    assert mask_variables("You are Juniper, the assistant.") == "You are Juniper, the assistant."  # not a greeting


def test_an_edited_prompt_is_a_second_version_of_the_same_template(tmp_path):
    lines = [line(POLICY + f" Today is 2026-10-{day:02d}.", f"ticket {day}", day, day) for day in range(1, 11)]
    lines += [line(EDITED + f" Today is 2026-10-{day:02d}.", f"ticket {day}", day, day) for day in range(11, 21)]
    lines += [line(OTHER, f"call {day}", day, 100 + day) for day in range(1, 21)]
    write_jsonl(tmp_path / "logs.jsonl", lines)
    api.ingest([tmp_path / "logs.jsonl"])
    templates = api.templates().to_dicts()
    assert [(t["label"][:20], t["versions"], t["requests"]) for t in templates] == [
        ("You route support ti", 2, 20), ("You summarise a phon", 1, 20)]
    versions = api.templates(versions=True).to_dicts()
    assert [(v["version"], v["requests"], str(v["first_seen"]), str(v["last_seen"])) for v in versions[:2]] == [
        (1, 10, "2026-10-01", "2026-10-10"), (2, 10, "2026-10-11", "2026-10-20")]
    with duckdb.connect(str(storage.db_path()), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT template_id), count(DISTINCT version_id) FROM requests").fetchone() == (2, 3)


def test_a_version_read_on_a_later_run_joins_its_template(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [line(POLICY, f"ticket {n}", 1, n) for n in range(3)])
    api.ingest([tmp_path])
    write_jsonl(tmp_path / "b.jsonl", [line(EDITED, f"ticket {n}", 2, 10 + n) for n in range(3)])
    api.ingest([tmp_path])
    [template] = api.templates().to_dicts()
    assert (template["versions"], template["requests"]) == (2, 6)


def test_linking_rules():
    # A version joins the template whose first or latest version it resembles; unrelated ones do not.
    drift = [POLICY, POLICY + " Be terse.", POLICY + " Be terse. Use lower case.", OTHER, ""]
    links = _link([(f"v{i}", None, text, "") for i, text in enumerate(drift)])
    assert links == {"v0": "v0", "v1": "v0", "v2": "v0", "v3": "v3", "v4": "v4"}
    # A provider prompt id links its versions whatever their text.
    by_id = _link([("a", "support-reply", POLICY, ""), ("b", "support-reply", OTHER, "")])
    assert by_id["a"] == by_id["b"] != "a"


RESPONSES = {"id": "resp_1", "object": "response", "created_at": 1790000000, "status": "completed", "model": "gpt-4.1",
             "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]}],
             "usage": {"input_tokens": 120, "output_tokens": 1, "total_tokens": 121}}


def test_provider_prompt_ids_name_the_template_and_its_versions(tmp_path):
    records = []
    for n, version in enumerate(["1", "1", "2"]):
        body = {"model": "gpt-4.1", "prompt": {"id": "pmpt_support", "version": version, "variables": {"name": "Anna"}},
                "input": f"question {n}"}
        records.append({"request": body, "response": {**RESPONSES, "id": f"resp_{n}", "created_at": 1790000000 + n * 86400}})
    records.append({"id": "obs-1", "traceId": "t1", "type": "GENERATION", "startTime": "2026-10-02T12:00:00.000Z",
                    "model": "gpt-4o-mini", "input": json.dumps([{"role": "system", "content": POLICY},
                                                                 {"role": "user", "content": "late parcel"}]),
                    "output": json.dumps({"role": "assistant", "content": "delivery"}),
                    "promptName": "ticket-router", "promptVersion": 7, "usageDetails": {"input": 60, "output": 1}})
    write_jsonl(tmp_path / "managed.jsonl", records)
    api.ingest([tmp_path / "managed.jsonl"])
    rows = {t["prompt_id"]: t for t in api.templates().to_dicts()}
    assert (rows["pmpt_support"]["versions"], rows["pmpt_support"]["requests"]) == (2, 3)
    assert rows["pmpt_support"]["label"] == "prompt pmpt_support"
    assert rows["ticket-router"]["label"].startswith("ticket-router: You route support")
    versions = [(v["prompt_id"], v["version"], v["prompt_version"]) for v in api.templates(versions=True).to_dicts()]
    assert versions == [("pmpt_support", 1, "1"), ("pmpt_support", 2, "2"), ("ticket-router", 1, "7")]


def test_templates_command_lists_versions(tmp_path):
    write_jsonl(tmp_path / "logs.jsonl", [line(POLICY, "a", 1, 1), line(EDITED, "b", 2, 2)])
    invoke(["ingest", str(tmp_path / "logs.jsonl"), "-q"])
    rows = json.loads(invoke(["templates", "--format", "json"]).stdout)
    assert [(r["versions"], r["requests"]) for r in rows] == [(2, 2)]
    rows = json.loads(invoke(["templates", "--versions", "--format", "json"]).stdout)
    assert [(r["version"], r["first_seen"]) for r in rows] == [(1, "2026-10-01"), (2, "2026-10-02")]
