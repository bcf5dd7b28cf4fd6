"""Join the two halves of batch requests, staged in ``batch_parts``, into the requests they stand for, and count them.

A batch request is a request line in an input file and a result line in an output file, and
``custom_id`` is unique only within one batch (``request-1`` recurs in every batch someone
numbers). So result files are first matched to request files: each result file takes the request
file sharing most of its ``custom_id``\\ s, one in the same directory first. A tie is not guessed at:
those lines wait, with a warning. Within a matched pair of files the lines join on ``custom_id``.
Lines whose other half has not been read wait in ``batch_parts`` and join on a later run.
:func:`join_lines` joins the same way, in memory, the batch lines of logs that are not ingested
(``crossover compare``'s candidate calls).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import parsers, storage
from .errors import BadRecord
from .extracting import FileReader, FileResult
from .models import BatchPart, RawRecord, Request
from .parsers import anthropic_batch, openai_batch

PAGE = 2000  # pairs read at a time, which bounds memory on any batch size
_COMBINE = {"openai": openai_batch.combine, "anthropic": anthropic_batch.combine}


@dataclass(frozen=True)
class Pair:
    """A request line and its result line, and whether each had been joined before."""

    provider: str
    request_file: str
    request_line: int
    request: dict[str, Any]
    request_joined: bool
    result_file: str
    result_line: int
    result: dict[str, Any]
    result_joined: bool
    result_file_time: datetime | None


def combine(pair: Pair) -> tuple[str, dict[str, Any], bool]:
    """The record a pair stands for, the name of the format that reads it, and whether the result file dates it.

    A result without a time of its own (Anthropic's never have one; OpenAI's refusals neither) is
    dated by its file's modification time, the closest thing to when the batch ended.

    Raises:
        BadRecord: the request never ran (canceled or expired).
    """
    format_name, record = _COMBINE[pair.provider](pair.request, pair.result)
    response = record.get("response")
    timed = isinstance(response, dict) and any(response.get(key) for key in ("created", "created_at"))
    if not timed and pair.result_file_time is not None:
        record["timestamp"] = pair.result_file_time.isoformat() + "Z"
    return format_name, record, not timed


def pages(con: storage.Connection, warnings: list[str]) -> Iterator[list[Pair]]:
    """The pairs with a half not yet joined, a page at a time; each page is from one pair of files."""
    for provider, result_file, request_file in _matched_files(con, warnings):
        after = 0
        while True:
            rows = storage.unjoined_pairs(con, provider, request_file, result_file, after, PAGE)
            if not rows:
                break
            yield [Pair(provider, request_file, q_line, json.loads(q_data), q_joined, result_file, r_line,
                        json.loads(r_data), r_joined, r_time)
                   for q_line, q_data, q_joined, r_line, r_data, r_joined, r_time in rows]
            after = rows[-1][0]


def join(con: storage.Connection, reader: FileReader, results: list[FileResult], warnings: list[str]) -> int:
    """Build the batch requests whose two halves have both been read; move their lines out of pending.

    A request is counted in its request line's file (in its result line's when only that line is
    new: its file was read again) as stored, duplicate or rejected, and its lines leave pending;
    when both lines were new, the result line counts as a duplicate (one request, logged twice) or
    is rejected with its request. The counters change in the ``files`` rows and, for the files of
    this run, in ``results``. Returns how many requests were built from a new request line.
    """
    this_run = {f.path: f for f in results}
    dated_by_file: dict[str, int] = {}
    joined = 0
    for page in pages(con, warnings):
        # Which half is new decides which file the request is counted in: the request line's,
        # unless only the result line is new (its file was read again), then the result line's.
        for request_new, result_new in ((True, True), (True, False), (False, True)):
            group = [p for p in page if (not p.request_joined, not p.result_joined) == (request_new, result_new)]
            if group:
                joined += _join_group(con, reader, group, request_new, result_new, this_run, dated_by_file)
    for file, count in dated_by_file.items():
        if count:
            warnings.append(f"{file}: {count} batch results carry no time of their own: dated by the "
                            "file's modification time")
    return joined


def _join_group(con: storage.Connection, reader: FileReader, group: list[Pair], request_new: bool, result_new: bool,
                this_run: dict[str, FileResult], dated_by_file: dict[str, int]) -> int:
    """Build one page's pairs whose new halves are alike; count them; return how many had a new request line."""
    first = group[0]
    counted = FileResult(first.request_file if request_new else first.result_file)
    other = FileResult(first.result_file)  # the result lines of requests counted above
    rows = storage.Rows()
    for pair in group:
        line = pair.request_line if request_new else pair.result_line
        try:
            format_name, record, dated = combine(pair)
        except BadRecord as exc:
            reader.reject(rows, counted, line, exc.reason, json.dumps(pair.result)[:200])
            if request_new and result_new:
                reader.reject(rows, other, pair.result_line, exc.reason)
            continue
        dated_by_file[pair.result_file] = dated_by_file.get(pair.result_file, 0) + dated
        fmt = parsers.get(format_name)
        before = counted.rejected
        reader.add(RawRecord(counted.path, line, record), rows, counted, fmt=fmt,
                   as_format=f"{pair.provider}-batch", service_tier="batch")
        if request_new and result_new and counted.rejected > before:
            reader.reject(rows, other, pair.result_line, "its request line was rejected")
    stored, duplicates = storage.write_rows(con, rows.frames())
    counted.stored += stored
    counted.duplicates += duplicates
    news = len(group)
    _count(con, counted.path, this_run, pending=-news, stored=counted.stored, duplicates=counted.duplicates,
           rejected=counted.rejected)
    if request_new and result_new:
        _count(con, other.path, this_run, pending=-news, duplicates=news - other.rejected, rejected=other.rejected)
    if request_new:
        storage.mark_joined(con, first.provider, "request", first.request_file, [p.request_line for p in group])
    if result_new:
        storage.mark_joined(con, first.provider, "result", first.result_file, [p.result_line for p in group])
    return news if request_new else 0


def join_lines(halves: list[tuple[str, int, BatchPart]], rejects: list[str],
                 ctx: parsers.ReadContext) -> list[tuple[str, int, Request]]:
    """The requests batch lines read outside ingest make (``crossover compare``'s logs), joined in memory as
    :func:`join` joins staged lines.

    Each result file answers the request file sharing most of its custom_ids (one in its own
    directory first; a tie is not guessed at); within the pair, lines join on custom_id. A half
    without its other half is no call: it is named in ``rejects``, never scored.
    """
    by_file: dict[tuple[str, str, str], dict[str, tuple[int, dict]]] = {}
    for path, line, part in halves:
        by_file.setdefault((part.provider, part.half, path), {}).setdefault(part.custom_id, (line, part.data))
    requests = {k: v for k, v in by_file.items() if k[1] == "request"}
    joined: set[tuple[str, str, str]] = set()  # (request file, custom_id, provider)
    calls = []
    for (provider, half, result_file), results in by_file.items():
        if half != "result":
            continue
        ranked = sorted(((Path(q_file).parent == Path(result_file).parent, len(results.keys() & ids.keys()), q_file)
                         for (p, _, q_file), ids in requests.items() if p == provider), reverse=True)
        ranked = [r for r in ranked if r[1]]
        if not ranked or (len(ranked) > 1 and ranked[0][:2] == ranked[1][:2]):
            why = "no request file among the logs shares its custom_ids" if not ranked else \
                "two request files share as many of its custom_ids"
            rejects.append(f"{result_file}: {len(results)} batch result lines not joined ({why})")
            continue
        request_file = ranked[0][2]
        asked = requests[(provider, "request", request_file)]
        for custom_id, (r_line, r_data) in results.items():
            if custom_id not in asked:
                rejects.append(f"{result_file}: line {r_line}: a batch result whose request line is not among "
                               "the logs")
                continue
            q_line, q_data = asked[custom_id]
            joined.add((request_file, custom_id, provider))
            pair = Pair(provider, request_file, q_line, q_data, False, result_file, r_line, r_data, False,
                        _mtime(result_file))
            try:
                format_name, record, _ = combine(pair)
                made = list(parsers.get(format_name).parse(RawRecord(request_file, q_line, record), ctx))
            except Exception as exc:  # noqa: BLE001 - one pair that makes no request is named and skipped
                rejects.append(f"{request_file}: line {q_line}: batch request not read ({type(exc).__name__}: {exc})")
                continue
            # Priced as ingest prices a batch request: at the batch tier.
            calls += [(request_file, q_line, replace(r, service_tier="batch")) for r in made if isinstance(r, Request)]
    for (provider, _, request_file), ids in requests.items():
        waiting = [line for custom_id, (line, _) in ids.items() if (request_file, custom_id, provider) not in joined]
        if waiting:
            rejects.append(f"{request_file}: {len(waiting)} batch request lines with no result among the logs "
                           f"(first: line {waiting[0]})")
    return calls



def _mtime(path: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.path.getmtime(path), UTC).replace(tzinfo=None)
    except OSError:
        return None


def _count(con: storage.Connection, path: str, this_run: dict[str, FileResult], **deltas: int) -> None:
    """Add to a file's counters, in its ``files`` row and in this run's result for it."""
    storage.add_to_file(con, path, deltas)
    if path in this_run:
        for name, delta in deltas.items():
            setattr(this_run[path], name, getattr(this_run[path], name) + delta)


def _matched_files(con: storage.Connection, warnings: list[str]) -> list[tuple[str, str, str]]:
    """(provider, result file, request file) for every result file whose request file can be told."""
    candidates: dict[tuple[str, str], list[tuple[bool, int, str]]] = defaultdict(list)
    for provider, result_file, request_file, count in storage.shared_custom_ids(con):
        same_dir = Path(result_file).parent == Path(request_file).parent
        candidates[(provider, result_file)].append((same_dir, count, request_file))
    matched = []
    for (provider, result_file), found in candidates.items():
        found.sort(reverse=True)
        if len(found) > 1 and found[0][:2] == found[1][:2]:
            tied = ", ".join(f for same, count, f in found if (same, count) == found[0][:2])
            warnings.append(f"{result_file}: its custom_ids match as many lines in {tied}; cannot tell which batch "
                            "it answers, so its lines wait (keep each batch's input and output in a directory of "
                            "their own)")
            continue
        matched.append((provider, result_file, found[0][2]))
    return matched
