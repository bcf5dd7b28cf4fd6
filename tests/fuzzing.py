"""Hostile log files made from the golden cases of every registered format, for the fuzz tests.

A hypothesis strategy takes real records of each format (``tests/cases/<format>.json``) and spoils
them the ways logs and attackers do: a value anywhere replaced by a wrong type, a huge or negative
number, NaN or Infinity, a lone surrogate, a time of year 1 or 9999, nesting a thousand levels deep;
keys dropped; lines cut short, bytes flipped, random bytes; a file written as JSON lines, as a
``.json`` document, gzipped or gzipped and cut, with CR-only line ends. ``tests/test_fuzz.py`` runs
them through ``crossover ingest``; ``bench/fuzz_ingest.py`` runs many more as separate processes.
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from analyzer import parsers

CASES = Path(__file__).parent / "cases"
DEEP = "__deep_nesting__"  # replaced in the written line by 1,100 nested arrays


def case_records() -> list[tuple[str, Any]]:
    """(format, record) for every golden case record of every registered format."""
    out = []
    for fmt in parsers.formats():
        case = json.loads((CASES / f"{fmt.name}.json").read_text(encoding="utf-8"))
        out.extend((fmt.name, record) for record in case["records"])
    return out


HOSTILE = [None, True, False, 0, -1, 2**31, 2**63, 2**64 + 1, 10**40, -(10**19), 1.5, -1e19, 1e300,
           float("inf"), float("-inf"), float("nan"), "", " ", "\ud800", "x\udfffy", "null", "NaN", "Infinity",
           "1" * 400, "-1", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "1969-12-31T23:59:59Z",
           "2026-10-01T10:00:00Z", "not a time", "x" * 5000, "<|endoftext|>", [], {}, [1, "a", None], {"a": {}},
           [[]], {"role": 5}, {"type": "text", "text": 5}, DEEP]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10)
values = st.sampled_from(HOSTILE) | json_values


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value (keys and indices from the top), the top included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, prefix + (key,)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, prefix + (index,)))
    return found


def _set(record: Any, path: tuple, value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = record
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return record


@st.composite
def records(draw) -> tuple[str, Any]:
    """A golden record of some format with one to three values replaced or deleted."""
    name, record = draw(st.sampled_from(case_records()))
    record = json.loads(json.dumps(record))  # a copy
    for _ in range(draw(st.integers(0, 3))):
        places = _paths(record)
        path = places[draw(st.integers(0, len(places) - 1))]
        # A copy: a list or dict of HOSTILE put in the record must not be changed by the next mutation.
        record = _set(record, path, copy.deepcopy(draw(values)), draw(st.booleans()))
    return name, record


def _line(record: Any) -> bytes:
    text = json.dumps(record, allow_nan=True)
    return text.replace(json.dumps(DEEP), "[" * 1100 + "]" * 1100).encode("utf-8")


@st.composite
def lines(draw) -> bytes:
    """One line of a log: a spoiled record, maybe cut short or with bytes flipped, or random bytes."""
    kind = draw(st.sampled_from(["record", "record", "record", "record", "cut", "flip", "bytes", "deep"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200)).replace(b"\n", b" ")
    if kind == "deep":
        return b'{"request": ' * 1200 + b"1" + b"}" * 1200
    raw = _line(draw(records())[1])
    if kind == "cut":
        return raw[: draw(st.integers(0, len(raw)))]
    if kind == "flip":
        at = draw(st.integers(0, max(len(raw) - 1, 0)))
        return raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1:]
    return raw


@st.composite
def log_files(draw, max_lines: int = 20) -> tuple[str, bytes]:
    """(file name, bytes) of one hostile log file."""
    body = draw(st.lists(lines(), min_size=1, max_size=max_lines))
    kind = draw(st.sampled_from(["jsonl", "jsonl", "json", "gz", "cut-gz", "cr", "crlf"]))
    if kind == "json":  # a whole document: an array of the records that are JSON
        items = []
        for raw in body:
            try:
                items.append(json.loads(raw))
            except (ValueError, RecursionError):
                continue
        try:
            data = json.dumps(items, allow_nan=True, indent=draw(st.sampled_from([None, 1]))).encode()
        except RecursionError:
            data = b"[" + b",".join(body) + b"]"
        return "log.json", data
    ends = {"cr": b"\r", "crlf": b"\r\n"}.get(kind, b"\n")
    data = ends.join(body) + (ends if draw(st.booleans()) else b"")
    if kind == "gz":
        return "log.jsonl.gz", gzip.compress(data)
    if kind == "cut-gz":
        packed = gzip.compress(data)
        return "log.jsonl.gz", packed[: draw(st.integers(0, len(packed)))]
    return "log.jsonl", data
