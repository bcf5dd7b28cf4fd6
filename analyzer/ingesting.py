"""Read log files into the database: parse, segment, count, and append, one transaction per file.

Accounting is per unit read: a request (stored, or a duplicate of one already stored) or a reject.
For every file, records = stored + duplicates + rejected, and the ``files`` row says so. A file whose
bytes are unchanged since it was read is skipped; one whose bytes changed is read again whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from . import parsers, reading, storage
from .errors import BadRecord
from .models import RawRecord, Request
from .segmenting import Segmented, segment, template_label
from .tokenizing import Counter

BATCH_REQUESTS = 2000  # rows held in memory before an append; bounds memory on any file size
MAX_EXAMPLES = 5  # rejects per file kept for the run's summary; all of them go to the rejects table

_REQUEST_SCHEMA = {
    "request_id": pl.Utf8, "file": pl.Utf8, "line": pl.Int32, "format": pl.Utf8, "ts": pl.Datetime("us"),
    "model": pl.Utf8, "requested_model": pl.Utf8, "encoding": pl.Utf8, "exact_tokenizer": pl.Boolean,
    "template_id": pl.Utf8, "status": pl.Utf8, "error": pl.Utf8, "sample_rate": pl.Float64,
    "user_id": pl.Utf8, "session_id": pl.Utf8, "latency_ms": pl.Float64, "system_hash": pl.Utf8,
    "tools_hash": pl.Utf8, "system_tokens": pl.Int32, "fewshot_tokens": pl.Int32, "tools_tokens": pl.Int32,
    "history_tokens": pl.Int32, "input_tokens": pl.Int32, "output_tokens": pl.Int32, "input_hash": pl.Utf8,
    "output_kind": pl.Utf8, "prompt_tokens": pl.Int32,
    "fewshot_named_tokens": pl.Int32, "middle_tokens": pl.Int32, "reported_prompt_tokens": pl.Int32,
    "reported_cached_tokens": pl.Int32, "reported_output_tokens": pl.Int32, "reported_reasoning_tokens": pl.Int32,
    "raw_usage": pl.Utf8,
}
_MESSAGE_SCHEMA = {"request_id": pl.Utf8, "position": pl.Int32, "role": pl.Utf8, "hash": pl.Utf8, "tokens": pl.Int32}
_REJECT_SCHEMA = {"file": pl.Utf8, "line": pl.Int32, "reason": pl.Utf8, "excerpt": pl.Utf8, "rejected_at": pl.Datetime("us")}


@dataclass
class FileResult:
    """What became of one file."""

    path: str
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    formats: set[str] = field(default_factory=set)
    skipped: bool = False  # unchanged since it was last read
    examples: list[tuple[int, str]] = field(default_factory=list)  # the first rejects: (line, reason)


@dataclass
class IngestResult:
    """What became of every file of one run."""

    files: list[FileResult]

    def total(self, name: str) -> int:
        """The sum of one counter (records, stored, duplicates, rejected) over the files."""
        return sum(getattr(f, name) for f in self.files)


class _Batch:
    """Rows waiting to be appended."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.messages: list[dict] = []
        self.rejects: list[dict] = []
        self.segments: list[dict] = []
        self.templates: dict[str, dict] = {}


class Ingestor:
    """Reads files into one database; keeps one token counter per model across files."""

    def __init__(self, con: duckdb.DuckDBPyConnection, format_name: str | None = None):
        self.con = con
        self.forced = parsers.get(format_name) if format_name else None
        self._counters: dict[str, Counter] = {}
        self._seen_segments: set[tuple[str, str]] = set()

    def counter(self, model: str) -> Counter:
        """The (caching) token counter for a model."""
        if model not in self._counters:
            self._counters[model] = Counter(model)
        return self._counters[model]

    def ingest(self, paths: Iterable[str], on_file: Callable[[FileResult], None] | None = None) -> IngestResult:
        """Read every log file under ``paths``, then derive few-shot, templates and prices."""
        results = []
        for path in reading.find_files(paths):
            result = self.ingest_file(path)
            results.append(result)
            if on_file:
                on_file(result)
        self.finish()
        return IngestResult(results)

    def finish(self) -> None:
        """What depends on all requests: few-shot vs history, template totals, prices."""
        from . import pricing  # pricing imports storage; keep the import graph one-way

        self.con.execute("BEGIN TRANSACTION")
        storage.classify_middle_turns(self.con)
        storage.refresh_templates(self.con)
        pricing.fill_prices(self.con)
        storage.set_meta(self.con, pricing.versions())
        self.con.execute("COMMIT")

    def ingest_file(self, path: Path) -> FileResult:
        """Read one file in one transaction; skip it when its bytes are unchanged."""
        name = str(path.resolve()) if path.exists() else str(path)
        result = FileResult(name)
        try:
            size, content_hash = _fingerprint(path)
        except OSError as exc:  # vanished or unreadable since it was listed
            reason = f"cannot read file: {exc.strerror or exc}"
            result.records = result.rejected = 1
            result.examples.append((0, reason))
            self._write_rejects([reading.Reject(name, 0, reason)])
            return result
        if self.con.execute("SELECT 1 FROM files WHERE path = ? AND content_hash = ?", [name, content_hash]).fetchone():
            result.skipped = True
            return result
        self.con.execute("BEGIN TRANSACTION")
        try:
            self._forget(name)
            batch = _Batch()
            prefer = self.forced
            for item in reading.read_file(path):
                if isinstance(item, reading.Reject):
                    self._reject(batch, result, item.line, item.reason, item.excerpt)
                    continue
                prefer = self._parse(item, batch, result, prefer)
                if len(batch.requests) >= BATCH_REQUESTS:
                    self._flush(batch, result)
                    batch = _Batch()
            self._flush(batch, result)
            self.con.execute(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
                [name, size, content_hash, ",".join(sorted(result.formats)), result.records, result.stored,
                 result.duplicates, result.rejected],
            )
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")  # an interrupted file leaves nothing half-written behind
            raise
        return result

    def _forget(self, name: str) -> None:
        """Drop what an earlier version of this file stored, so that it is read again whole."""
        self.con.execute("DELETE FROM request_messages WHERE request_id IN (SELECT request_id FROM requests WHERE file = ?)", [name])
        self.con.execute("DELETE FROM requests WHERE file = ?", [name])
        self.con.execute("DELETE FROM rejects WHERE file = ?", [name])
        self.con.execute("DELETE FROM files WHERE path = ?", [name])

    def _parse(self, record: RawRecord, batch: _Batch, result: FileResult, prefer: parsers.LogFormat | None):
        """Parse one record into the batch; return the format to try first on the next record."""
        fmt = self.forced or parsers.detect(record.data, prefer)
        if fmt is None or not fmt.detect(record.data):
            self._reject(batch, result, record.line, f"unknown record shape ({parsers.shape(record.data)})",
                         _excerpt(record.data))
            return prefer
        try:
            for item in fmt.parse(record):
                if isinstance(item, BadRecord):
                    self._reject(batch, result, record.line, item.reason, _excerpt(record.data))
                else:
                    self._add(item, fmt.name, record, batch, result)
        except BadRecord as exc:
            self._reject(batch, result, record.line, exc.reason, _excerpt(record.data))
        return fmt

    def _reject(self, batch: _Batch, result: FileResult, line: int, reason: str, excerpt: str = "") -> None:
        result.records += 1
        result.rejected += 1
        if len(result.examples) < MAX_EXAMPLES:
            result.examples.append((line, reason))
        batch.rejects.append({"file": result.path, "line": line, "reason": reason, "excerpt": excerpt,
                              "rejected_at": datetime.now(timezone.utc).replace(tzinfo=None)})

    def _add(self, request: Request, format_name: str, record: RawRecord, batch: _Batch, result: FileResult) -> None:
        if request.timestamp is None:
            self._reject(batch, result, record.line, "no timestamp in record, wrapper or response", _excerpt(record.data))
            return
        counter = self.counter(request.model)
        seg = segment(request, counter)
        result.records += 1
        result.formats.add(format_name)
        batch.requests.append(_request_row(request, seg, counter, format_name, result.path, record.line))
        for m in seg.middle:
            batch.messages.append({"request_id": request.request_id, "position": m.position, "role": m.role,
                                   "hash": m.hash, "tokens": m.tokens})
        for static in seg.statics:
            key = (static.hash, counter.encoding_name)
            if key not in self._seen_segments:
                self._seen_segments.add(key)
                batch.segments.append({"hash": static.hash, "encoding": counter.encoding_name, "kind": static.kind,
                                       "tokens": static.tokens, "text": static.text})
        if seg.template_id not in batch.templates:
            ts = request.timestamp.astimezone(timezone.utc).replace(tzinfo=None)
            batch.templates[seg.template_id] = {
                "template_id": seg.template_id, "label": template_label(seg.system_text, request), "system_hash": _hash_of(seg, "system"),
                "tools_hash": _hash_of(seg, "tools"), "requests": 0, "first_seen": ts, "last_seen": ts}

    def _flush(self, batch: _Batch, result: FileResult) -> None:
        requests = pl.DataFrame(batch.requests, schema=_REQUEST_SCHEMA, orient="row") if batch.requests else None
        if requests is not None:
            # A request logged twice in one file counts once, like one logged in two files.
            unique = requests.unique(subset="request_id", keep="first", maintain_order=True)
            inserted = storage.append(self.con, "requests", unique)
            result.stored += inserted
            result.duplicates += len(requests) - inserted
            storage.append(self.con, "request_messages", pl.DataFrame(batch.messages, schema=_MESSAGE_SCHEMA, orient="row"))
        storage.append(self.con, "segments", pl.DataFrame(batch.segments, schema={
            "hash": pl.Utf8, "encoding": pl.Utf8, "kind": pl.Utf8, "tokens": pl.Int32, "text": pl.Utf8}, orient="row"))
        if batch.templates:
            storage.append(self.con, "templates", pl.DataFrame(list(batch.templates.values())))
        self._write_rejects_rows(batch.rejects)

    def _write_rejects(self, rejects: list[reading.Reject]) -> None:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        self._write_rejects_rows([{"file": r.path, "line": r.line, "reason": r.reason, "excerpt": r.excerpt,
                                   "rejected_at": now} for r in rejects])

    def _write_rejects_rows(self, rows: list[dict]) -> None:
        if rows:
            storage.append(self.con, "rejects", pl.DataFrame(rows, schema=_REJECT_SCHEMA, orient="row"), keyed=False)


def _hash_of(seg: Segmented, kind: str) -> str | None:
    return next((s.hash for s in seg.statics if s.kind == kind), None)


def _request_row(request: Request, seg: Segmented, counter: Counter, format_name: str, file: str, line: int) -> dict:
    return {
        "request_id": request.request_id, "file": file, "line": line, "format": format_name,
        "ts": request.timestamp.astimezone(timezone.utc).replace(tzinfo=None),
        "model": request.model, "requested_model": request.requested_model, "encoding": counter.encoding_name,
        "exact_tokenizer": counter.exact, "template_id": seg.template_id, "status": request.status,
        "error": request.error, "sample_rate": request.sample_rate, "user_id": request.user,
        "session_id": request.session_id, "latency_ms": request.latency_ms,
        "system_hash": _hash_of(seg, "system"), "tools_hash": _hash_of(seg, "tools"),
        "system_tokens": seg.system, "fewshot_tokens": seg.fewshot_named, "tools_tokens": seg.tools,
        # Until the template's requests are all in, every middle turn counts as history.
        "history_tokens": seg.middle_tokens, "input_tokens": seg.input, "output_tokens": seg.output,
        "input_hash": seg.input_hash, "output_kind": seg.output_kind,
        "prompt_tokens": seg.prompt_tokens, "fewshot_named_tokens": seg.fewshot_named,
        "middle_tokens": seg.middle_tokens, "reported_prompt_tokens": request.reported_prompt_tokens,
        "reported_cached_tokens": request.reported_cached_tokens,
        "reported_output_tokens": request.reported_output_tokens,
        "reported_reasoning_tokens": request.reported_reasoning_tokens,
        "raw_usage": json.dumps(request.raw_usage) if request.raw_usage is not None else None,
    }


def _fingerprint(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _excerpt(data: object) -> str:
    return json.dumps(data, default=str)[: reading.EXCERPT_CHARS]
