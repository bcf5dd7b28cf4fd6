"""Turn one log file into rows: parse each record, segment and count it, and batch the rows.

No database here, so that a file can be read in a worker process: a :class:`FileReader` hands
each batch of rows (:class:`Rows`) to a callback, and :mod:`analyzer.ingesting` writes them.
Accounting starts here: every unit read is a request or a reject, and a reject keeps its line and
reason; the writer then splits requests into stored and duplicates.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from . import parsers, reading
from .deriving import Derivation
from .errors import BadRecord
from .models import BatchPart, Ignored, RawRecord, Request
from .parsers.common import zone_named
from .redacting import redact
from .segmenting import Memo, Segmented, segment, template_label
from .storage import Rows
from .tokenizing import Counter

BATCH_REQUESTS = 2000  # requests and rejects held before they are handed on; bounds memory on any file
SEEN_LIMIT = 20_000  # middle runs remembered as written; forgetting one only writes it again
MAX_EXAMPLES = 5  # rejects per file kept for the run's summary; all of them go to the rejects table
#: Requests logged before this are taken for a broken clock or a misread field, not a log: one
#: record dated 1970 or 9999 would stretch the report's window to millions of days.
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)  # how far past the run's start a request may be dated (clock skew, zones)
INT32_MAX = 2**31 - 1  # the INTEGER columns (tables.polars_types(): Int32)
#: Usage as logged, each stored in an INTEGER column: checked before the batch is built, where a value
#: out of range would fail the whole batch, not the one record.
_REPORTED = ("reported_prompt_tokens", "reported_cached_tokens", "reported_cache_write_tokens",
             "reported_output_tokens", "reported_reasoning_tokens")
#: Text columns filled from what was logged (the rest are hashes and names crossover makes).
_TEXTS = ("request_id", "model", "requested_model", "status", "error", "session_id", "prompt_id", "prompt_version",
          "service_tier")

@dataclass
class FileResult:
    """What became of one file."""

    path: str
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    pending: int = 0  # batch lines waiting for their other half
    ignored: int = 0  # records with nothing to count (records = stored + duplicates + rejected + pending + ignored)
    formats: set[str] = field(default_factory=set)
    skipped: bool = False  # unchanged since it was last read
    examples: list[tuple[int, str]] = field(default_factory=list)  # the first rejects: (line, reason)
    position: reading.Position = field(default_factory=reading.Position)  # where reading stopped
    tail: bool = False  # only what was appended since the last run was read
    warnings: list[str] = field(default_factory=list)


class FileReader:
    """Reads files into batches of rows; keeps one token counter per model across files."""

    def __init__(self, format_name: str | None = None, timezone_name: str | None = None, reference: bool = False,
                 keep_text: bool = True):
        """``reference``: count every part of every request from scratch (no memo, no derivation),
        the slow path the fast one is checked against. Without ``keep_text``, no text of a record
        is stored (segment texts, labels taken from the system prompt, reject excerpts): hashes and
        counts only."""
        self.forced = parsers.get(format_name) if format_name else None
        self._zone = zone_named(timezone_name) if timezone_name else UTC
        self._ctx = parsers.context(self._zone)  # a new one for each file read
        self._counters: dict[str, Counter] = {}
        self._memos: dict[str, Memo] = {}
        self.reference = reference
        self.keep_text = keep_text
        self._derivation = Derivation()
        self._seen_segments: set[tuple[str, str]] = set()
        self._seen_middles: set[str] = set()
        self._latest = datetime.now(UTC) + FUTURE_SLACK

    def forget_written(self) -> None:
        """Forget which segments and middle runs were handed on: the next file's rows then hold every
        one its requests name, as a shard read on its own must (:mod:`analyzer.sharding`)."""
        self._seen_segments.clear()
        self._seen_middles.clear()

    def counter(self, model: str) -> Counter:
        """The (caching) token counter for a model."""
        if model not in self._counters:
            self._counters[model] = Counter(model)
        return self._counters[model]

    def read(self, path: Path, result: FileResult, emit: Callable[[Rows], None], end: int | None = None) -> None:
        """Read one file (up to byte ``end``: a piece of it), handing each full batch to ``emit``;
        count records and rejects in ``result``, and advance its position."""
        rows = Rows()
        self._ctx = parsers.context(self._zone, _modified(path))
        self._derivation.reset()  # what is read in one call is the unit its sample is drawn from
        # Parsed JSON holds no reference cycles, so reference counting frees every record; the
        # cycle collector would only walk the batch and the memos again and again (half the time
        # of reading and parsing, measured). It runs once the piece is read.
        collecting = gc.isenabled()
        gc.disable()
        try:
            owner = parsers.owner(path)
            items = owner.files.read(path, result.position) if owner else reading.read_file(path, result.position, end)
            for item in items:
                if isinstance(item, reading.Reject):
                    self.reject(rows, result, item.line, item.reason, item.excerpt, item.detail)
                else:
                    self.add(item, rows, result)
                if len(rows) >= BATCH_REQUESTS:
                    emit(rows)
                    rows = Rows()
            emit(rows)
        finally:
            if collecting:
                gc.enable()

    def add(self, record: RawRecord, rows: Rows, result: FileResult, fmt: parsers.LogFormat | None = None,
            as_format: str | None = None, service_tier: str | None = None) -> None:
        """Parse one record into the batch, or reject it with the reason.

        ``fmt`` reads the record without detection, ``as_format`` is the format name its requests are
        stored under, and ``service_tier`` the tier they were billed at (joined batch requests).
        """
        # The one boundary every record passes: whatever goes wrong in detection, parsing, segmenting or
        # building its rows (a parser's bug, a value no column can hold, nesting too deep to walk), the
        # record becomes a reject with the reason and the run goes on. What it had added is taken back
        # first, so a record is wholly rows or wholly one reject, and the accounting still adds up.
        mark = self._mark(rows, result)
        try:
            self._add_record(record, rows, result, fmt, as_format, service_tier)
        except BadRecord as exc:
            self._rollback(mark, rows, result)
            self.reject(rows, result, record.line, exc.reason, _excerpt(record.data))
        except Exception as exc:  # noqa: BLE001 - the boundary: no record may stop the run
            self._rollback(mark, rows, result)
            self.reject(rows, result, record.line, f"cannot read record ({_failure(exc)})", _excerpt(record.data))

    def _add_record(self, record: RawRecord, rows: Rows, result: FileResult, fmt: parsers.LogFormat | None,
                    as_format: str | None, service_tier: str | None) -> None:
        if fmt is None:
            # A forced format still has to recognise the record; a detected one already has.
            fmt = parsers.detect(record.data, self._ctx) if self.forced is None else self.forced
            if fmt is None or (fmt is self.forced and not fmt.detect(record.data, self._ctx)):
                self.reject(rows, result, record.line, f"unknown record shape ({parsers.shape(record.data)})",
                             _excerpt(record.data))
                return
        for item in fmt.parse(record, self._ctx):
            if isinstance(item, BadRecord):
                self.reject(rows, result, record.line, item.reason, _excerpt(record.data))
            elif isinstance(item, BatchPart):
                self._stage(item, fmt.name, record, rows, result)
            elif isinstance(item, Ignored):
                result.records += 1
                result.ignored += 1
                result.formats.add(fmt.name)
            else:
                item.service_tier = service_tier or item.service_tier
                item.format = as_format or item.format
                self._add(item, fmt.name, record, rows, result)

    @staticmethod
    def _mark(rows: Rows, result: FileResult) -> tuple:
        return ({name: len(table) for name, table in rows.tables.items()},
                (result.records, result.rejected, result.pending, result.ignored, len(result.examples),
                 set(result.formats)))

    def _rollback(self, mark: tuple, rows: Rows, result: FileResult) -> None:
        """Take back what a failed record added: its rows, its counts, and the keys marked as written."""
        lengths, (records, rejected, pending, ignored, examples, formats) = mark
        for name, table in rows.tables.items():
            added = table[lengths[name]:]
            if not added:
                continue
            del table[lengths[name]:]
            for row in added:  # a key marked as written whose row is gone would never be written
                if name == "segments":
                    self._seen_segments.discard((row["hash"], row["encoding"]))
                elif name == "middle_turns":
                    self._seen_middles.discard(row["middle_id"])
                elif name == "template_versions":
                    rows._versions.discard(row["version_id"])
        result.records, result.rejected, result.pending, result.ignored = records, rejected, pending, ignored
        del result.examples[examples:]
        result.formats = formats

    def _stage(self, part: BatchPart, format_name: str, record: RawRecord, rows: Rows, result: FileResult) -> None:
        result.records += 1
        result.pending += 1
        result.formats.add(format_name)
        rows.tables["batch_parts"].append({
            "provider": part.provider, "half": part.half, "custom_id": part.custom_id, "file": result.path,
            "line": record.line, "file_time": self._ctx.file_time, "data": redact(json.dumps(part.data)),
            "joined": False})

    def reject(self, rows: Rows, result: FileResult, line: int, reason: str, excerpt: str = "",
               detail: str = "") -> None:
        # A rejected line's header may hold a key, and its start a prompt.
        reason, excerpt = redact(reason), redact(excerpt) if self.keep_text else ""
        result.records += 1
        result.rejected += 1
        if len(result.examples) < MAX_EXAMPLES:
            result.examples.append((line, reason))  # the summary says it in the user's terms
        # The table keeps the decoder's own words too, for whoever debugs the logger.
        stored = f"{reason} (decoder: {detail})" if detail else reason
        rows.tables["rejects"].append({"file": result.path, "line": line, "reason": stored, "excerpt": excerpt,
                                       "rejected_at": datetime.now(UTC).replace(tzinfo=None)})

    def _add(self, request: Request, format_name: str, record: RawRecord, rows: Rows, result: FileResult) -> None:
        if request.timestamp is None:
            self.reject(rows, result, record.line, "no timestamp in record, wrapper or response", _excerpt(record.data))
            return
        if not EARLIEST <= request.timestamp <= self._latest:
            self.reject(rows, result, record.line, f"implausible time {request.timestamp.isoformat()}: not between "
                        f"{EARLIEST.date()} and a day after this run started", _excerpt(record.data))
            return
        counter = self.counter(request.model)
        if self.reference:
            seg = segment(request, counter)
        else:
            memo = self._memos.get(request.model)
            if memo is None:
                memo = self._memos[request.model] = Memo()
            seg = segment(request, counter, memo, self._derivation)
        result.records += 1
        format_name = request.format or format_name
        result.formats.add(format_name)
        ts = _utc(request.timestamp)
        row = _request_row(request, seg, counter, format_name, result.path, record.line, ts)
        _check_columns(row, request.raw_usage)
        rows.tables["requests"].append(row)
        if seg.middle_id is not None and seg.middle_id not in self._seen_middles:
            if len(self._seen_middles) >= SEEN_LIMIT:
                self._seen_middles.clear()  # a run written again is skipped by its key on insert
            self._seen_middles.add(seg.middle_id)
            rows.tables["middle_turns"].extend(
                {"middle_id": seg.middle_id, "position": m.position, "role": m.role, "hash": m.hash,
                 "tokens": m.tokens, "exchange_hash": m.exchange_hash}
                for m in seg.middle)
        for static in seg.statics:
            key = (static.hash, counter.encoding_name)
            if key not in self._seen_segments:
                self._seen_segments.add(key)
                rows.tables["segments"].append({"hash": static.hash, "encoding": counter.encoding_name,
                                                "kind": static.kind, "tokens": static.tokens,
                                                "text": redact(static.text) if self.keep_text else None})
        if seg.version_id not in rows._versions:
            rows._versions.add(seg.version_id)
            rows.tables["template_versions"].append({
                "version_id": seg.version_id, "template_id": seg.template_id, "version": 0,
                "label": (redact(template_label(seg.system_text, request)) if self.keep_text
                          else _textless_label(seg, request)), "system_hash": _hash_of(seg, "system"),
                "tools_hash": _hash_of(seg, "tools"), "prompt_id": request.prompt_id,
                "prompt_version": request.prompt_version, "requests": 0, "first_seen": ts, "last_seen": ts})


def _textless_label(seg: Segmented, request: Request) -> str:
    """A version's name when no text may be kept: the provider's prompt id, else a plain say-so."""
    return f"prompt {request.prompt_id}" if request.prompt_id else "(prompt text not kept)"


def _hash_of(seg: Segmented, kind: str) -> str | None:
    return next((s.hash for s in seg.statics if s.kind == kind), None)


def _request_row(request: Request, seg: Segmented, counter: Counter, format_name: str, file: str, line: int,
                 ts: datetime) -> dict:
    middle = seg.middle_tokens  # a sum over the middle turns: taken once, used three times
    return {
        "request_id": request.request_id, "file": file, "line": line, "format": format_name, "ts": ts,
        "model": request.model, "requested_model": request.requested_model, "encoding": counter.encoding_name,
        "exact_tokenizer": counter.exact, "template_id": seg.template_id, "version_id": seg.version_id,
        "prompt_id": request.prompt_id, "prompt_version": request.prompt_version, "status": request.status,
        "error": request.error, "sample_rate": request.sample_rate, "user_id": request.user,
        "session_id": request.session_id, "latency_ms": request.latency_ms,
        "system_hash": _hash_of(seg, "system"), "tools_hash": _hash_of(seg, "tools"),
        "system_tokens": seg.system, "fewshot_tokens": seg.fewshot_named, "tools_tokens": seg.tools,
        # Until the template's requests are all in, every middle turn counts as history.
        "history_tokens": middle, "input_tokens": seg.input, "output_tokens": seg.output,
        "input_hash": seg.input_hash, "exchange_hash": seg.exchange_hash, "output_kind": seg.output_kind,
        "prompt_tokens": seg.system + seg.fewshot_named + seg.tools + middle + seg.input,
        "fewshot_named_tokens": seg.fewshot_named,
        "middle_tokens": middle, "reported_prompt_tokens": request.reported_prompt_tokens,
        "reported_cached_tokens": request.reported_cached_tokens,
        "reported_cache_write_tokens": request.reported_cache_write_tokens,
        "reported_output_tokens": request.reported_output_tokens,
        "reported_reasoning_tokens": request.reported_reasoning_tokens,
        "raw_usage": _usage_json(request.raw_usage) if request.raw_usage is not None else None,
        "service_tier": request.service_tier,
        "input_derived": seg.input_derived, "output_derived": seg.output_derived, "middle_id": seg.middle_id,
    }


def _usage_json(usage: object) -> str:
    """The usage object as JSON text: by orjson, a tenth of json.dumps' time on every request; by json
    for what orjson will not write (an int beyond 64 bits, a non-text key)."""
    try:
        return orjson.dumps(usage).decode()
    except TypeError:
        return json.dumps(usage, default=str)


def _utc(ts: datetime) -> datetime:
    """A time as the naive UTC the columns hold."""
    return (ts if ts.tzinfo is UTC else ts.astimezone(UTC)).replace(tzinfo=None)


def _check_columns(row: dict, request_usage: object = None) -> None:
    """Check the logged values of a request's row against its columns, or raise BadRecord.

    A few scalar fields per request, so the cost is small; the counted tokens come from the
    tokenizer and need no check. A ``user`` logged as an object or a number is kept as its JSON text.
    """
    for name in _REPORTED:
        value = row[name]
        if value is not None and not (type(value) is int and 0 <= value <= INT32_MAX):
            raise BadRecord(f"usage {name.removeprefix('reported_')} {_short(value)} is not a count "
                            f"(0 to {INT32_MAX})")
    for name in _TEXTS:
        value = row[name]
        if value is not None and type(value) is not str:
            raise BadRecord(f"{name} is {type(value).__name__}, not text")
    user = row["user_id"]
    if user is not None and type(user) is not str:
        user = json.dumps(user, sort_keys=True, separators=(",", ":"), default=str)
    # The logged texts that may carry a key ("Incorrect API key provided: sk-…"); most are None.
    row["user_id"] = redact(user)
    if row["error"] is not None:
        row["error"] = redact(row["error"])
    if row["raw_usage"] is not None and not _plain_usage(request_usage):
        row["raw_usage"] = redact(row["raw_usage"])


#: Usage keys seen to be plain names, which no key shape can match (see _plain_usage).
_PLAIN_KEYS: set[str] = set()
_NAME = re.compile(r"[a-z_]{1,40}")


def _plain_usage(usage: object, depth: int = 0) -> bool:
    """Whether a usage object's JSON text is sure to hold no key-like string, so needs no redaction.

    Every shape :mod:`analyzer.redacting` looks for lies within one JSON token (none spans a quote,
    a colon, a comma or a brace), and a number, true, false or null is none of them. So a usage
    of numbers under keys that are plain lower-case names redaction leaves alone is left alone
    whole; the few distinct keys are checked once each. Anything else is redacted as text.
    """
    if type(usage) is not dict or depth > 4:  # usage nests two levels; deeper is redacted as text
        return False
    for key, value in usage.items():
        if key not in _PLAIN_KEYS:
            if type(key) is not str or not _NAME.fullmatch(key) or redact(key) != key:
                return False
            if len(_PLAIN_KEYS) < 10_000:
                _PLAIN_KEYS.add(key)
        kind = type(value)
        if kind is dict:
            if not _plain_usage(value, depth + 1):
                return False
        elif not (kind is int or kind is float or kind is bool or value is None):
            return False
    return True


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _failure(exc: BaseException) -> str:
    """An unexpected exception as a reject reason: its type and first line, bounded."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text[:200]


def _modified(path: Path) -> datetime | None:
    """A file's modification time, UTC: what dates batch results, which carry no time of their own."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(tzinfo=None)
    except OSError:
        return None


def _excerpt(data: object) -> str:
    try:
        return json.dumps(data, default=str)[: reading.EXCERPT_CHARS]
    except (RecursionError, ValueError, TypeError):  # too deep, or a float json cannot write
        return f"({type(data).__name__} that cannot be shown)"
