"""Reading files: every format of file, and every way a file can be broken, without losing count."""

from __future__ import annotations

import gzip
import json

import pytest

from analyzer import reading
from analyzer.errors import InputNotFound
from analyzer.models import RawRecord
from analyzer.reading import Reject, find_files, read_file

from .conftest import write_jsonl


def kinds(items):
    return ["ok" if isinstance(i, RawRecord) else "reject" for i in items]


def test_walks_directories_recursively_and_filters_suffixes(tmp_path):
    for name in ("a.jsonl", "sub/b.ndjson.gz", "sub/deeper/c.json", "notes.txt", "sub/d.csv", "e.JSONL"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in find_files([tmp_path])]
    assert found == ["a.jsonl", "e.JSONL", "sub/b.ndjson.gz", "sub/deeper/c.json"]


def test_missing_path_and_empty_directory_are_user_errors(tmp_path):
    with pytest.raises(InputNotFound, match="no such file"):
        find_files([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputNotFound, match="no .jsonl"):
        find_files([tmp_path / "empty"])


def test_jsonl_lines_blank_lines_and_malformed_lines(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"a": 1}, "", "{not json", {"b": 2}, '{"cut": "in hal'])
    items = list(read_file(path))
    assert kinds(items) == ["ok", "reject", "ok", "reject"]
    assert [i.line for i in items] == [1, 3, 4, 5]
    assert items[1].reason.startswith("malformed JSON") and items[1].excerpt == "{not json"


def test_gzip_and_truncated_gzip(tmp_path):
    lines = [{"n": i, "pad": "x" * 200} for i in range(200)]
    good = write_jsonl(tmp_path / "good.jsonl.gz", lines, gz=True)
    assert len([i for i in read_file(good) if isinstance(i, RawRecord)]) == 200
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    items = list(read_file(cut))
    assert isinstance(items[-1], Reject) and "gzip" in items[-1].reason
    assert all(isinstance(i, RawRecord) for i in items[:-1]) and 0 < len(items) - 1 < 200


def test_not_gzip_at_all(tmp_path):
    path = tmp_path / "fake.jsonl.gz"
    path.write_bytes(b'{"a": 1}\n')
    [item] = list(read_file(path))
    assert isinstance(item, Reject) and "gzip" in item.reason and item.line == 1


def test_non_utf8_line(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"a": "caf\xe9"}\n{"b": 1}\n')
    items = list(read_file(path))
    assert kinds(items) == ["reject", "ok"] and items[0].reason == "not UTF-8 text"


def test_oversized_line_is_skipped_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_LINE_BYTES", 64)
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"big": "y" * 300}) + "\n" + json.dumps({"small": 1}) + "\n")
    items = list(read_file(path))
    assert kinds(items) == ["reject", "ok"] and "longer than" in items[0].reason
    assert items[1].data == {"small": 1} and items[1].line == 2


def test_json_document_array_and_object(tmp_path):
    array = tmp_path / "a.json"
    array.write_text(json.dumps([{"i": 1}, {"i": 2}], indent=2))
    assert [(i.line, i.data) for i in read_file(array)] == [(1, {"i": 1}), (2, {"i": 2})]
    obj = tmp_path / "o.json.gz"
    obj.write_bytes(gzip.compress(json.dumps({"interactions": []}, indent=2).encode()))
    assert [i.data for i in read_file(obj)] == [{"interactions": []}]
    lines = write_jsonl(tmp_path / "l.json", [{"i": 1}, {"i": 2}])  # JSON lines under a .json name
    assert [i.data for i in read_file(lines)] == [{"i": 1}, {"i": 2}]


def test_vanished_file_is_a_reject(tmp_path):
    [item] = list(read_file(tmp_path / "gone.jsonl"))
    assert isinstance(item, Reject) and "cannot read file" in item.reason
