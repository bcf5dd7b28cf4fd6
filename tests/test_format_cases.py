"""Every registered format has golden cases, and reads them as recorded in ``tests/cases/<format>.json``.

A case file holds records of that format (written for these tests, in the shapes of formats.md) and
what parsing each one yields: every field of each Request, each staged batch half, each reject.
Adding a format means adding its module, its registration line and its case file; the first test
fails until the file exists. A change in what a format reads shows here as a field-by-field diff.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

import pytest

from analyzer import parsers
from analyzer.errors import BadRecord
from analyzer.models import RawRecord

CASES = Path(__file__).parent / "cases"


def summary(item) -> dict:
    """A parsed item as plain JSON: a Request's or BatchPart's fields, or a reject's reason."""
    if isinstance(item, BadRecord):
        return {"rejected": item.reason}
    fields = dataclasses.asdict(item)
    return {"kind": type(item).__name__,
            **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}}


def parsed(name: str, records: list) -> list[list[dict]]:
    """What the registry makes of each record: detected as ``name``, then parsed."""
    out = []
    for line, record in enumerate(records, start=1):
        ctx = parsers.context()
        fmt = parsers.detect(record, ctx)
        assert fmt is not None and fmt.name == name, f"record {line} detected as {fmt and fmt.name}"
        try:
            out.append([summary(item) for item in fmt.parse(RawRecord(f"{name}.json", line, record), ctx)])
        except BadRecord as exc:
            out.append([summary(exc)])
    return out


def test_every_registered_format_has_cases():
    assert {p.stem for p in CASES.glob("*.json")} == {f.name for f in parsers.formats()}


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_format_reads_its_cases_as_recorded(path):
    case = json.loads(path.read_text(encoding="utf-8"))
    assert case["records"], "a case file needs at least one record"
    assert parsed(path.stem, case["records"]) == case["expected"]
