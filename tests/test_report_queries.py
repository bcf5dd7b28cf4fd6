"""Each report figure names the saved query that reproduces it: run that query, get the same figure."""

from __future__ import annotations

import json

import pytest

from analyzer.costs import FIGURE_QUERIES

from .conftest import SAMPLE_LOGS, chat_line, invoke, write_jsonl


def constructed_logs(folder):
    """Three templates over Fri 2026-10-02 … Tue 10-13: records with and without a sample_rate, a
    tokenizer estimate (scale ≠ 1), an unpriced model, a failed call, repeated inputs, output kinds."""
    def system(text):
        return {"role": "system", "content": text}

    def user(text):
        return {"role": "user", "content": text}

    lines = []
    for i in range(24):  # every third record says sample_rate 0.25; the others leave it to the scenario
        lines.append(chat_line(messages=[system("Route the ticket. " * 40), user(f"ticket {i % 9} " + "word " * (i % 9))],
                               model="gpt-4o-2024-08-06", id=f"a{i}", ts=f"2026-10-{2 + i % 12:02d}T{i:02d}:15:00Z",
                               prompt_tokens=None if i % 5 == 0 else 200 + i, completion_tokens=3,
                               output='{"ok": true}' if i % 4 == 0 else "yes", sample_rate=0.25 if i % 3 == 0 else None))
    failed = chat_line(messages=[system("Route the ticket. " * 40), user("ticket that failed")], model="gpt-4o-2024-08-06",
                       id="a-failed", ts="2026-10-09T08:00:00Z")
    # A stream cut by an error: failed, though it returned a label; not an example to train on.
    lines.append({**failed, "response": {**failed["response"], "error": {"message": "stream cut"}}})
    for i in range(13):  # Claude through a Chat Completions proxy: o200k counts, scaled to what was billed
        lines.append(chat_line(messages=[system("Write a summary. " * 25), user("call notes " * (10 + 3 * i))],
                               model="claude-sonnet-4-5", id=f"b{i}", ts=f"2026-10-{4 + i % 8:02d}T12:00:00Z",
                               prompt_tokens=int(120 + 4.4 * i), completion_tokens=40,
                               output="A long summary of the call. " * (i + 3), sample_rate=0.1 if i % 2 else None))
    for i in range(7):  # no list price, two days only: zero days in the window, a null cost
        lines.append(chat_line(messages=[system("Extract fields."), user(f"doc {i}")], model="mystery-model-9",
                               id=f"c{i}", ts=f"2026-10-0{5 + i % 2}T09:00:00Z", output="" if i < 4 else "a b",
                               sample_rate=0.5 if i == 0 else None))
    write_jsonl(folder / "calls.jsonl", lines)
    return folder


def build(folder, logs, scenario=None):
    """Ingest ``logs`` into a database of its own; return it, its report and the rate for the queries."""
    db = str(folder / "db.duckdb")
    invoke(["ingest", str(logs), "--db", db, "--quiet"])
    args = []
    if scenario:
        (folder / "s.toml").write_text(scenario)
        args = ["--scenario", str(folder / "s.toml")]
    return db, json.loads(invoke(["report", "--db", db, "--format", "json", *args]).stdout)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The bundled month, default scenario (records of one template all say the same sample rate)."""
    return *build(tmp_path_factory.mktemp("sample"), SAMPLE_LOGS), None


@pytest.fixture(scope="module")
def constructed(tmp_path_factory):
    """The constructed logs, reported with a scenario that says [traffic] sample_rate = 0.5."""
    folder = tmp_path_factory.mktemp("constructed")
    return *build(folder, constructed_logs(folder / "logs"), "[traffic]\nsample_rate = 0.5\n"), "0.5"


@pytest.fixture(scope="module", params=["sample", "constructed"])
def case(request):
    """(database, report, the sample_rate its queries get)."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def saved():
    """Each saved query's name and the parameters it takes."""
    rows = json.loads(invoke(["query", "--list", "--format", "json"]).stdout)
    return {r["name"]: r["params"].split(", ") if r["params"] else [] for r in rows}


def run(db, name, saved, rate=None):
    """A saved query's rows by template, through the CLI, with the sample rate if it takes one."""
    args = ["--param", f"sample_rate={rate}"] if rate is not None and "sample_rate" in saved[name] else []
    rows = json.loads(invoke(["query", name, "--format", "json", "--db", db, *args]).stdout)
    return {r["template_id"]: r for r in rows}


def figure(name, value, row):
    """The report's figure ``name`` as the query's row holds it."""
    if name == "tokens_per_request":
        return {kind: row[kind] for kind in value}
    if name == "output_kind":
        return {"kind": row["output_kind"], "share": row["output_kind_share"]}
    return row[name]


def test_every_figure_names_a_saved_query(saved, case):
    assert set(FIGURE_QUERIES.values()) <= set(saved)
    assert "sample_rate" in saved["template_volume"] and "sample_rate" in saved["daily_volume"]
    _, report, _ = case
    assert all(t["queries"] == FIGURE_QUERIES for t in report["templates"])


def test_each_figure_equals_what_its_query_returns(saved, case):
    db, report, rate = case
    results = {name: run(db, name, saved, rate) for name in set(FIGURE_QUERIES.values())}
    assert all(set(rows) == {t["template_id"] for t in report["templates"]} for rows in results.values())
    for t in report["templates"]:
        for name, query in t["queries"].items():
            row = results[query][t["template_id"]]
            assert figure(name, t[name], row) == t[name], f"{t['label']}: {name} != query {query}"
        volume = results["template_volume"][t["template_id"]]
        assert volume["monthly_requests"] == t["monthly_requests"]
        assert volume["window_days"] == report["window"]["days"]


def test_the_constructed_logs_reach_every_rule(saved, constructed):
    db, report, _ = constructed
    by_model = {t["models"][0]: t for t in report["templates"]}
    assert by_model["mystery-model-9"]["current_cost_per_request"] is None  # unpriced: null in the query too
    assert by_model["mystery-model-9"]["output_kind"]["kind"] == "none"
    assert by_model["gpt-4o-2024-08-06"]["examples_available"] == 9  # nine inputs; the failed one is no example
    scale = {r["model"]: r["scale"] for r in json.loads(invoke(["query", "counted_vs_reported", "--db", db,
                                                                 "--format", "json"]).stdout)}
    assert scale["claude-sonnet-4-5"] != 1
    # The scenario's rate counts where records say nothing: the default of 1 gives another volume.
    default = run(db, "template_volume", saved)
    assert all(default[t["template_id"]]["daily_requests"] != t["daily_requests"] for t in report["templates"])


def test_daily_volume_adds_up_to_template_volume(saved, case):
    db, _, rate = case
    args = ["--param", f"sample_rate={rate}"] if rate else []
    days = json.loads(invoke(["query", "daily_volume", "--format", "json", "--db", db, *args]).stdout)
    for template_id, row in run(db, "template_volume", saved, rate).items():
        mine = [d for d in days if d["template_id"] == template_id]
        assert sum(d["requests"] for d in mine) == row["requests"]
        assert sum(d["estimated_requests"] for d in mine) == pytest.approx(row["estimated_requests"], abs=0.05 * len(mine))


def test_each_templates_counted_vs_billed_is_what_its_query_returns(saved, case):
    db, report, _ = case
    rows = run(db, "counted_vs_billed_by_template", saved)
    assert rows, "the logs have usage: some template is measured"
    for t in report["templates"]:
        got = t["counted_vs_billed"]
        if t["template_id"] not in rows:
            assert got is None, t["label"]
            continue
        assert got == {k: rows[t["template_id"]][k] for k in got}, t["label"]
        assert 0 <= got["exact_share"] <= 1 and got["median_abs_error"] <= got["p95_abs_error"]
