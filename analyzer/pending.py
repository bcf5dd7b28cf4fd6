"""One file to read: what it is, the parts it is read in, and how the parts' results add up to the file's.

Both ways of reading use it: :mod:`analyzer.ingesting` (in this process or its pool of workers) and
:mod:`analyzer.sharding` (map tasks into Parquet shards). A :class:`Pending` file is cut into parts
(:func:`parts_of`: its tail, the whole of it, or a large plain file's pieces), each part is read into
a result of its own, and :func:`merge_part` and :func:`count_written` add each part's counts to the
file's, in order, so that the file's result is the same whoever read its parts. :func:`fingerprint`
is the size and content hash by which a file is recorded and judged unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from . import parsers, reading, sources, storage
from .extracting import MAX_EXAMPLES, FileResult


@dataclass(frozen=True)
class Pending:
    """A file to read, as the ingest judged it (see :meth:`analyzer.ingesting.Ingestor.ingest`)."""

    path: Path
    name: str
    size: int
    content_hash: str | None  # None: not hashed yet; the map task that reads it from its start hashes it (sharding)
    mtime_ns: int | None = None
    tail_of: storage.FileRow | None = None  # the files row of the part already read, when only the tail is new
    warning: str | None = None
    pieces: tuple[tuple[int, int | None], ...] | None = None  # a large plain file's pieces (reading.chunks)
    etag: str | None = None  # an object's version in its store (sources.identity)

    @property
    def start_byte(self) -> int:
        """Where reading begins: after what was read before (a plain file's tail), else at the start."""
        return (self.tail_of.bytes_read or 0) if self.tail_of is not None else 0


def first_result(item: Pending) -> FileResult:
    """A file's result before reading: where to start, and what to warn about."""
    result = FileResult(item.name, tail=item.tail_of is not None)
    if item.tail_of is not None:
        result.position = reading.Position(line=item.tail_of.lines_read, offset=item.tail_of.bytes_read)
    if item.warning:
        result.warnings.append(item.warning)
    return result


def with_pieces(item: Pending) -> Pending:
    """A large plain JSON-lines file cut into pieces that workers can read at once."""
    if not reading.splittable(item.path) or parsers.owner(item.path) is not None:
        return item
    pieces = reading.chunks(item.path, item.start_byte, item.size)
    return item if len(pieces) == 1 else dataclasses.replace(item, pieces=tuple(pieces))


def parts_of(item: Pending, result: FileResult) -> list[tuple[FileResult, int, int | None, bool]]:
    """What to read of a file, as (a result to count it in, the byte it starts at, the byte to stop
    at, whether its lines are numbered from its own start and must be shifted by the lines before it)."""
    if item.pieces is None:  # the whole file (or its tail) in one go, from where the file's result starts
        part = FileResult(result.path, position=dataclasses.replace(result.position))
        return [(part, item.start_byte, None, False)]
    return [(FileResult(result.path, position=reading.Position(line=0, offset=start)), start, end, True)
            for start, end in item.pieces]


def merge_part(result: FileResult, part: FileResult, shifted: bool) -> None:
    """Add what was read of one part of a file to the file's result."""
    shift = result.position.line if shifted else 0
    result.records += part.records
    result.rejected += part.rejected
    result.pending += part.pending
    result.ignored += part.ignored
    result.formats |= part.formats
    result.examples += [(line + shift, reason) for line, reason in part.examples][: MAX_EXAMPLES - len(result.examples)]
    result.warnings += part.warnings
    result.position = (reading.Position(result.position.line + part.position.line, part.position.offset,
                                        part.position.incomplete) if shifted else part.position)


def count_written(result: FileResult, written: tuple[int, int]) -> None:
    """Add a written batch's (stored, duplicates) to its file's result."""
    result.stored += written[0]
    result.duplicates += written[1]


def fingerprint(path: Path, prefix: int | None = None, limit: int | None = None) -> tuple[int, str, str | None]:
    """Size and sha256 of a file (of its first ``limit`` bytes), and the sha256 of its first ``prefix`` bytes."""
    digest, head = hashlib.sha256(), hashlib.sha256() if prefix is not None else None
    size = 0
    with sources.open_binary(path) as f:
        while chunk := f.read(min(1 << 20, limit - size) if limit is not None else 1 << 20):
            if head is not None and size < prefix:
                head.update(chunk[: prefix - size])
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest(), head.hexdigest() if head is not None and size >= prefix else None
