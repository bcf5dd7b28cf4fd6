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

import codecs
import gzip
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from . import sources
from .errors import InputNotFound
from .jsonio import decode_at, explain, loads
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
    detail: str = ""  # the decoder's own message, kept in the rejects table beside the reason


def is_log_file(path: Path) -> bool:
    """True for ``.jsonl``, ``.ndjson``, ``.json`` and their ``.gz``."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return name.endswith(LOG_SUFFIXES)


def stored_name(path: Path) -> str:
    """The name a log file is recorded under (``files.path``, ``rejects.file``): its resolved absolute path,
    so that the same file named from anywhere is one file; a path that does not exist (a dangling symlink)
    as given."""
    return str(path.resolve()) if path.exists() else str(path)


def find_files(paths: Iterable[str | os.PathLike], claimed: Callable[[Path], bool] = lambda path: False) -> list[Path]:
    """Expand the given files and directories into the log files to read, in a stable order.

    A directory yields its JSON logs and the files ``claimed`` says a format reads itself.

    Raises:
        InputNotFound: a path does not exist or cannot be read, or nothing readable was found.
    """
    found: list[Path] = []
    for given in paths:
        if sources.is_remote(given):  # a bucket's prefix or one object; one it cannot list is recorded as unreadable
            found.extend(sources.list_logs(str(given), is_log_file))
            continue
        path = Path(given)
        if not path.exists():
            if path.is_symlink():
                raise InputNotFound(f"{given}: a symlink to {os.readlink(path)}, which does not exist")
            raise InputNotFound(f"{given}: no such file or directory")
        if not path.is_dir() and not path.is_file():
            # A FIFO would block the run on its first read and a device never ends: refused unopened.
            raise InputNotFound(f"{given}: not a regular file ({_kind(path)}); give log files or directories")
        if not os.access(path, os.R_OK):
            raise InputNotFound(f"{given}: permission denied")
        if path.is_dir():
            # A dangling symlink with a log's name is listed too: reading it fails once, and that is recorded.
            found.extend(sorted(p for p in path.rglob("*") if (p.is_file() and (is_log_file(p) or claimed(p)))
                                or (is_log_file(p) and p.is_symlink() and not p.exists())))
        else:
            found.append(path)  # named directly: read whatever its suffix, the user asked for it
    if not found:
        raise InputNotFound(f"no .jsonl, .ndjson or .json files (or their .gz), nor llm logs.db, "
                            f"under {', '.join(map(sources.name_of, paths))}")
    return found




def _kind(path: Path) -> str:
    mode = path.stat().st_mode
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _open(path: Path):
    if sources.is_remote(path):
        return sources.open_binary(path, gunzip=path.name.lower().endswith(".gz"))
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
        reason = explain(exc)
        return Reject(path, line, reason, excerpt(raw), "" if str(exc) in reason else str(exc))


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
    with sources.open_binary(path) as f:
        target = start + CHUNK_BYTES
        while target < size:
            f.seek(target - 1)  # a newline just before the target is a cut at the target
            f.readline()
            cut = f.tell()  # at or past the target, so every cut is past the one before
            if cut >= size:
                break
            cuts.append(cut)
            target = cut + CHUNK_BYTES
    return list(pairwise(cuts)) + [(cuts[-1], None)]


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
    name = sources.name_of(path)
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
                elif re.match(rb"\s*\[", head):  # too large to hold whole: its records one at a time
                    del head
                    stream.seek(0)
                    yield from _array_records(name, stream, position)
                    position.offset = None if gzipped else stream.tell()
                    return
                stream.seek(0)
            stream = _cr_lines(stream)
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


def _cr_lines(stream):
    """The stream itself, or for a file whose lines end in CR alone (old Mac tools, some exporters)
    a view of it whose lines end in LF: otherwise it reads as one unfinished line, left for later forever."""
    try:
        head = stream.read(1 << 16)
    except (EOFError, gzip.BadGzipFile, zlib.error):
        head = b""  # a gzip stream cut short: read line by line up to the cut, as always
    stream.seek(0)
    return _CRLines(stream) if b"\r" in head and b"\n" not in head else stream


class _CRLines:
    """A binary stream read line by line where CR ends a line; offsets are the file's own (CR and LF
    are one byte each), so a position found here resumes the same file later."""

    def __init__(self, raw) -> None:
        self._raw = raw
        self._buf = bytearray()
        self._scanned = 0  # bytes of the buffer known to hold no CR
        self._pos = raw.tell()

    def readline(self, limit: int = -1) -> bytes:
        while True:
            cr = self._buf.find(b"\r", self._scanned)
            if cr >= 0 and (limit < 0 or cr < limit):
                return self._take(cr + 1, b"\n")
            self._scanned = len(self._buf)
            if 0 <= limit <= len(self._buf):
                return self._take(limit)
            chunk = self._raw.read(1 << 16)
            if not chunk:
                return self._take(len(self._buf))
            self._buf += chunk

    def _take(self, n: int, end: bytes | None = None) -> bytes:
        line = bytes(self._buf[:n])
        del self._buf[:n]
        self._scanned = 0
        self._pos += len(line)
        return line[:-1] + end if end is not None else line

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int) -> None:
        self._raw.seek(offset)
        self._buf.clear()
        self._scanned = 0
        self._pos = offset


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


#: How much more of a large document is read when the record being decoded is not complete yet; doubled
#: on each try, so a record of any size up to :data:`MAX_LINE_BYTES` is decoded a few times at most.
DOCUMENT_READ = 1 << 20


def _array_records(name: str, stream, position: Position) -> Iterator[RawRecord | Reject]:
    """The records of a ``.json`` document too large to hold whole, a JSON array, read as a stream.

    Memory holds one record and the piece read past it, never the document. A record that is
    malformed or longer than :data:`MAX_LINE_BYTES` is a reject and ends the reading: past it there
    is no telling where the next record starts.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    text, at, eof, want = "", 0, False, DOCUMENT_READ

    def read_more() -> None:
        nonlocal text, at, eof, want
        data = stream.read(want)
        want = min(want * 2, MAX_LINE_BYTES)
        eof = not data
        text = text[at:] + decoder.decode(data, final=eof)  # what was decoded is dropped
        at = 0

    def skip_space() -> str:
        nonlocal at
        while True:
            while at < len(text) and text[at] in " \t\r\n":
                at += 1
            if at < len(text) or eof:
                return text[at] if at < len(text) else ""
            read_more()

    try:
        read_more()
        skip_space()
        at += 1  # the "[" the caller saw
        if skip_space() == "]":
            return
        while True:
            line = position.line + 1
            skip_space()
            try:
                value, end = decode_at(text, at)
                if end == len(text) and not eof:
                    raise ValueError("may go on")  # a number cut by the read: read on to be sure
            except ValueError as exc:
                if eof or len(text) - at > MAX_LINE_BYTES:
                    reason = (f"record longer than {MAX_LINE_BYTES} bytes" if not eof
                              else explain(exc))
                    yield Reject(name, line, f"{reason}; the rest of the document is not read",
                                 text[at:at + EXCERPT_CHARS])
                    position.line = line
                    return
                read_more()
                continue
            at, want = end, DOCUMENT_READ
            position.line = line
            yield RawRecord(name, line, value)
            follows = skip_space()
            if follows == ",":
                at += 1
            elif follows == "]":
                return
            else:
                yield Reject(name, line + 1, "malformed JSON: expected , or ] between records; "
                             "the rest of the document is not read", text[at:at + EXCERPT_CHARS])
                position.line = line + 1
                return
    except UnicodeDecodeError:
        position.line += 1
        yield Reject(name, position.line, "not UTF-8 text; the rest of the document is not read")


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
