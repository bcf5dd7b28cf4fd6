"""Find log files and stream their JSON records, turning every unreadable part into a reject.

A directory is walked recursively; files are read one line at a time (gzip included), so memory
stays bounded whatever the input size. A ``.json`` file may hold one object, an array of records,
or JSON lines. Nothing raises past this module for bad content: a malformed line, a line over the
size limit, text that is not UTF-8, or a gzip stream cut short becomes a :class:`Reject` with the
file, the line and the reason, and reading carries on.

A format that is not JSON (simonw/llm's SQLite ``logs.db``) reads its own files; ``find_files``
is told which files such formats claim when it walks a directory.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InputNotFound
from .jsonio import loads
from .models import RawRecord

LOG_SUFFIXES = (".jsonl", ".ndjson", ".json")
#: A single logged request over this size is certainly not a chat log line; refusing it keeps
#: one runaway line (a base64 video, a binary file without newlines) from exhausting memory.
MAX_LINE_BYTES = 32 * 1024 * 1024
EXCERPT_CHARS = 200


@dataclass(frozen=True)
class Reject:
    """A part of a file that could not be read as a request, and why."""

    path: str
    line: int
    reason: str
    excerpt: str = ""


def is_log_file(path: Path) -> bool:
    """True for ``.jsonl``, ``.ndjson``, ``.json`` and their ``.gz``."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return name.endswith(LOG_SUFFIXES)


def find_files(paths: Iterable[str | os.PathLike], claimed: Callable[[Path], bool] = lambda path: False) -> list[Path]:
    """Expand the given files and directories into the log files to read, in a stable order.

    A directory yields its JSON logs and the files ``claimed`` says a format reads itself.

    Raises:
        InputNotFound: a path does not exist or cannot be read, or nothing readable was found.
    """
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise InputNotFound(f"{given}: no such file or directory")
        if not os.access(path, os.R_OK):
            raise InputNotFound(f"{given}: permission denied")
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and (is_log_file(p) or claimed(p))))
        else:
            found.append(path)  # named directly: read whatever its suffix, the user asked for it
    if not found:
        raise InputNotFound(f"no .jsonl, .ndjson or .json files (or their .gz), nor llm logs.db, "
                            f"under {', '.join(map(str, paths))}")
    return found




def _open(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def excerpt(raw: bytes) -> str:
    """The start of an unreadable part, as text, for its reject."""
    return raw[:EXCERPT_CHARS].decode("utf-8", "replace").rstrip("\r\n")


def _decode(raw: bytes, path: str, line: int) -> RawRecord | Reject:
    try:
        return RawRecord(path, line, loads(raw))
    except UnicodeDecodeError:
        return Reject(path, line, "not UTF-8 text", excerpt(raw))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return Reject(path, line, f"malformed JSON: {exc}", excerpt(raw))


#: A plain JSON-lines file is read in pieces of about this size, cut after a newline: each is a unit of
#: work a worker process can take, so that one large file uses every core. The size, not the number
#: of workers, sets where the cuts fall, so every way of reading a file reads the same pieces.
CHUNK_BYTES = 64 * 1024 * 1024


def splittable(path: Path) -> bool:
    """A plain (not gzipped) JSON-lines file: lines can be found at any byte offset.

    gzip cannot be entered in the middle, and a ``.json`` file may be one document.
    """
    return path.name.lower().endswith((".jsonl", ".ndjson"))


def chunks(path: Path, start: int, size: int) -> list[tuple[int, int | None]]:
    """The pieces of a file from ``start`` to ``size``: (first byte, byte after the last; None: to the end).

    Each cut is just after the first newline at or past a multiple of :data:`CHUNK_BYTES`, so no line
    is split. A file that is not :func:`splittable`, or small, is one piece.
    """
    if not splittable(path) or size - start <= CHUNK_BYTES:
        return [(start, None)]
    cuts = [start]
    with open(path, "rb") as f:
        target = start + CHUNK_BYTES
        while target < size:
            f.seek(target - 1)  # a newline just before the target is a cut at the target
            f.readline()
            cut = f.tell()  # at or past the target, so every cut is past the one before
            if cut >= size:
                break
            cuts.append(cut)
            target = cut + CHUNK_BYTES
    return [(a, b) for a, b in zip(cuts, cuts[1:])] + [(cuts[-1], None)]


@dataclass
class Position:
    """How far a file has been read: whole lines, and for a plain file the byte offset after them.

    A log that is still being written may end in half a line; such a last line is not rejected but
    left unread (``incomplete``), and the next run reads on from here once the rest has arrived.
    """

    line: int = 0
    offset: int | None = 0  # None for gzip, whose compressed offsets cannot be resumed from
    incomplete: bool = False


def read_file(path: Path, position: Position | None = None, end: int | None = None) -> Iterator[RawRecord | Reject]:
    """Yield every record of one file, or a reject for each part that cannot be read.

    With a ``position`` from an earlier run, reading starts after it (the tail of a file that
    grew), and the position is advanced as lines are read. With ``end`` (a plain file's piece, see
    :func:`chunks`), reading stops at that byte offset; lines are then numbered from the piece's start.
    """
    name = str(path)
    position = position if position is not None else Position()
    gzipped = path.name.lower().endswith(".gz")
    try:
        with _open(path) as stream:
            if path.name.lower().removesuffix(".gz").endswith(".json") and position.line == 0:
                head = stream.read(MAX_LINE_BYTES + 1)
                if len(head) <= MAX_LINE_BYTES:
                    whole = _whole_document(name, head)
                    if whole is not None:
                        position.line, position.offset = len(whole), None if gzipped else len(head)
                        yield from whole
                        return
                stream.seek(0)
            _seek(stream, position, gzipped)
            while True:
                if end is not None and stream.tell() >= end:
                    return
                raw = stream.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    return
                line = position.line + 1
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    yield Reject(name, line, f"line longer than {MAX_LINE_BYTES} bytes", excerpt(raw))
                    while raw and not raw.endswith(b"\n"):  # skip to the end of that line
                        raw = stream.readline(MAX_LINE_BYTES)
                    _advance(position, stream, gzipped)
                    continue
                item = _decode(raw, name, line) if raw.strip() else None
                if isinstance(item, Reject) and not raw.endswith(b"\n"):
                    position.incomplete = True  # still being written: leave it for the next run
                    return
                _advance(position, stream, gzipped)
                if item is not None:
                    yield item
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        yield Reject(name, position.line + 1, f"unreadable gzip after line {position.line}: {exc}")
    except OSError as exc:
        yield Reject(name, position.line + 1, f"cannot read file: {exc.strerror or exc}")


def _seek(stream, position: Position, gzipped: bool) -> None:
    if not gzipped and position.offset:
        stream.seek(position.offset)  # a piece of a file, or the tail of one read before
        return
    if position.line == 0:
        return
    for _ in range(position.line):  # gzip: decompress again and pass over the lines read before
        stream.readline(MAX_LINE_BYTES + 1)


def _advance(position: Position, stream, gzipped: bool) -> None:
    position.line += 1
    position.offset = None if gzipped else stream.tell()


def _whole_document(name: str, data: bytes) -> list[RawRecord | Reject] | None:
    """A ``.json`` file that is one JSON document: its records; None when it is JSON lines."""
    try:
        doc = loads(data)
    except UnicodeDecodeError:
        return [Reject(name, 1, "not UTF-8 text", excerpt(data))]
    except ValueError:
        return None  # several documents, one per line, or malformed: read line by line
    if isinstance(doc, list):
        return [RawRecord(name, i, item) for i, item in enumerate(doc, start=1)]
    return [RawRecord(name, 1, doc)]
