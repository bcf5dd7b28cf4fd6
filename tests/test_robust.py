"""No record stops a run: whatever a record holds or a parser does, it ends as a row or a reject.

The boundary is :meth:`analyzer.extracting.FileReader.add`; the checks before a column are
``extracting._check_columns`` and ``parsers.common.parse_time``. Each test reads hostile lines
through ``crossover ingest`` and checks that it exits 0 and that read = stored + duplicates +
rejected + pending still holds, in the summary and in the ``files`` row.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import duckdb
import pytest

from analyzer import api, parsers
from analyzer.models import Request
from analyzer.parsers.common import parse_time

from .conftest import invoke

GOOD = {"timestamp": "2026-10-01T10:00:00Z",
        "request": {"model": "gpt-4o", "messages": [{"role": "system", "content": "Tag it."},
                                                    {"role": "user", "content": "hi"}]},
        "response": {"object": "chat.completion", "model": "gpt-4o",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}}


def variant(change) -> str:
    record = copy.deepcopy(GOOD)
    change(record)
    return json.dumps(record)


def ingest_lines(tmp_path, lines: list[str]):
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = api.ingest([str(path)])
    con = duckdb.connect(str(tmp_path / "crossover.duckdb"), read_only=True)
    try:
        rejects = dict(con.sql("SELECT line, reason FROM rejects").fetchall())
        row = con.execute("SELECT records, stored, duplicates, rejected, pending FROM files").fetchone()
    finally:
        con.close()
    assert row[0] == row[1] + row[2] + row[3] + row[4] == len(lines)
    assert run.total("records") == run.total("stored") + run.total("duplicates") + run.total("rejected") + run.total("pending")
    return run, rejects


class Boom(Exception):
    pass


@pytest.fixture
def raising_format():
    """A format that takes every record and raises something different for each line."""
    failures = [Boom("a parser's own bug"), KeyError("choices"), TypeError("'int' object is not subscriptable"),
                RecursionError("maximum recursion depth exceeded"), ZeroDivisionError(), OverflowError("too big")]

    def parse(record, ctx):
        if record.line % 7 == 0:  # one record in seven reads: a partial request, then the failure
            yield Request(model="gpt-4o", messages=[{"role": "user", "content": "x"}], request_id=f"r{record.line}",
                          timestamp=datetime(2026, 10, 1, tzinfo=UTC))
            return
        yield Request(model="gpt-4o", messages=[{"role": "user", "content": "part"}], request_id=f"p{record.line}",
                      timestamp=datetime(2026, 10, 1, tzinfo=UTC))
        raise failures[record.line % len(failures)]

    fmt = parsers.LogFormat("raising-test", "raises", lambda data, ctx: True, parse)
    parsers.REGISTRY._formats[fmt.name] = fmt
    yield fmt
    del parsers.REGISTRY._formats[fmt.name]


def test_a_parser_raising_anything_is_a_reject(tmp_path, raising_format):
    lines = [json.dumps({"n": i}) for i in range(1, 15)]
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    run = api.ingest([str(path)], format_name="raising-test")
    assert (run.total("records"), run.total("stored"), run.total("rejected")) == (14, 2, 12)
    con = duckdb.connect(str(tmp_path / "crossover.duckdb"), read_only=True)
    ids = {r[0] for r in con.sql("SELECT request_id FROM requests").fetchall()}
    reasons = dict(con.sql("SELECT line, reason FROM rejects").fetchall())
    con.close()
    assert ids == {"r7", "r14"}  # what a failed record had yielded before it failed is taken back
    assert "Boom: a parser's own bug" in reasons[6]
    assert reasons[1].startswith("cannot read record (KeyError")


def test_a_detector_raising_is_a_reject(tmp_path):
    def detect(data, ctx):
        raise ValueError("detector bug")

    fmt = parsers.LogFormat("aaa-raising-detector", "raises", detect, lambda record, ctx: iter(()))
    formats = parsers.REGISTRY._formats
    saved = dict(formats)
    formats.clear()
    formats.update({fmt.name: fmt, **saved})
    try:
        run, rejects = ingest_lines(tmp_path, [json.dumps(GOOD)])
    finally:
        formats.clear()
        formats.update(saved)
    assert rejects == {1: "cannot read record (ValueError: detector bug)"}


def test_values_no_column_can_hold_are_rejects(tmp_path):
    usage = lambda n: variant(lambda r: r["response"]["usage"].__setitem__("prompt_tokens", n))  # noqa: E731
    lines = [json.dumps(GOOD), usage(2**31), usage(2**63), usage(-5),
             json.dumps(GOOD).replace('"prompt_tokens": 5', '"prompt_tokens": 1e400'),
             variant(lambda r: r["request"].__setitem__("user", {"id": 7})),
             variant(lambda r: r["response"].__setitem__("choices", 5)),
             json.dumps(GOOD).replace('"Tag it."', '"Tag \\ud800 it."'),
             json.dumps(GOOD).replace('"model": "gpt-4o"', '"model": "gpt-4o\\udfff"', 1)]
    run, rejects = ingest_lines(tmp_path, lines)
    assert set(rejects) == {2, 3, 4, 5, 7}
    assert rejects[2] == "usage prompt_tokens 2147483648 is not a count (0 to 2147483647)"
    assert rejects[4] == "usage prompt_tokens -5 is not a count (0 to 2147483647)"
    assert "not a number" in rejects[5]
    con = duckdb.connect(str(tmp_path / "crossover.duckdb"), read_only=True)
    users = [r[0] for r in con.sql("SELECT user_id FROM requests WHERE user_id IS NOT NULL").fetchall()]
    texts = [r[0] for r in con.sql("SELECT text FROM segments").fetchall()]
    con.close()
    assert users == ['{"id":7}']
    assert "Tag \ufffd it." in texts  # a lone surrogate is replaced, not a reason to lose the request


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 1e400, "1" * 400, -1e19, 10**400,
                                   "9999-12-31T23:30:00-05:00", "0001-01-01T00:00:00+05:00", "Infinity", "x" * 10_000])
def test_parse_time_never_loops_or_raises(value):
    assert parse_time(value) is None


def test_times_outside_the_plausible_window_are_rejects(tmp_path):
    at = lambda t: json.dumps(GOOD).replace('"timestamp": "2026-10-01T10:00:00Z"', f'"timestamp": {t}')  # noqa: E731
    lines = [json.dumps(GOOD), at("Infinity"), at("1e400"), at('"' + "1" * 400 + '"'), at("NaN"), at("-1e19"),
             at('"9999-12-31T23:00:00-05:00"'), at("-1"), at('"9999-01-01T00:00:00Z"'), at('"2019-12-31T23:59:59Z"')]
    run, rejects = ingest_lines(tmp_path, lines)
    assert set(rejects) == set(range(2, 11))
    assert rejects[8].startswith("implausible time 1969-12-31T23:59:59+00:00")
    assert rejects[10].startswith("implausible time 2019-12-31T23:59:59+00:00")


def test_deep_nesting_is_a_reject(tmp_path):
    deep = '{"a":' * 1100 + "1" + "}" * 1100
    inside = json.dumps(GOOD)[:-1] + ', "deep": ' + "[" * 1000 + "]" * 1000 + "}"
    run, rejects = ingest_lines(tmp_path, [deep, inside, "[" * 5000 + "]" * 5000])
    assert rejects[1] == "malformed JSON: nested too deeply"
    document = tmp_path / "doc.json"
    document.write_text('{"records": ' + "[" * 1200 + "]" * 1200 + "}")
    invoke(["ingest", str(document), "--db", str(tmp_path / "doc.duckdb")])
