"""Find log files and stream their JSON records, turning every unreadable part into a reject.

A directory is walked recursively; files are read one line at a time (gzip included), so memory
stays bounded whatever the input size. A ``.json`` file may hold one object, an array of records,
or JSON lines. Nothing raises past this module for bad content: a malformed line, a line over the
size limit, text that is not UTF-8, or a gzip stream cut short becomes a :class:`Reject` with the
file, the line and the reason, and reading carries on.

simonw/llm keeps its log in a SQLite ``logs.db`` (formats.md §9): each row of its ``responses``
table becomes one record (line = the rowid), read through a read-only connection.
"""

from __future__ import annotations

import gzip
import os
import sqlite3
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import closing
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
SQLITE_HEADER = b"SQLite format 3\x00"
LLM_DB_NAME = "logs.db"  # the file `llm logs path` names
#: The columns llm's `responses` table has had since it was created (llm migration m010).
LLM_COLUMNS = {"id", "model", "prompt", "system", "response", "conversation_id", "datetime_utc"}


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


def find_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand the given files and directories into the log files to read, in a stable order.

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
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and _in_walk(p)))
        else:
            found.append(path)  # named directly: read whatever its suffix, the user asked for it
    if not found:
        raise InputNotFound(f"no .jsonl, .ndjson or .json files (or their .gz), nor llm logs.db, "
                            f"under {', '.join(map(str, paths))}")
    return found


def _in_walk(path: Path) -> bool:
    """JSON logs; llm's ``logs.db`` by its name (so that a broken one is reported, not skipped);
    another ``*.db`` only when it is an llm database (a directory may hold crossover's own db)."""
    name = path.name.lower()
    return is_log_file(path) or name == LLM_DB_NAME or (name.endswith(".db") and is_llm_db(path))


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def is_database(path: Path) -> bool:
    """A SQLite file (an llm ``logs.db``): read whole each time, never resumed like a log that grew."""
    return path.name.lower().endswith(".db") or _is_sqlite(path)


def _connect(path: Path) -> sqlite3.Connection:
    # mode=ro: crossover never writes to the user's database (nor creates one where none is).
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info([{table}])")}


def is_llm_db(path: Path) -> bool:
    """A SQLite file with llm's ``responses`` table."""
    if not _is_sqlite(path):
        return False
    try:
        with closing(_connect(path)) as con:
            return _columns(con, "responses") >= LLM_COLUMNS
    except sqlite3.Error:
        return False


def _open(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _excerpt(raw: bytes) -> str:
    return raw[:EXCERPT_CHARS].decode("utf-8", "replace").rstrip("\r\n")


def _decode(raw: bytes, path: str, line: int) -> RawRecord | Reject:
    try:
        return RawRecord(path, line, loads(raw))
    except UnicodeDecodeError:
        return Reject(path, line, "not UTF-8 text", _excerpt(raw))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return Reject(path, line, f"malformed JSON: {exc}", _excerpt(raw))


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
    if is_database(path):
        yield from _read_llm_db(path, position)
        return
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
                    yield Reject(name, line, f"line longer than {MAX_LINE_BYTES} bytes", _excerpt(raw))
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
        return [Reject(name, 1, "not UTF-8 text", _excerpt(data))]
    except ValueError:
        return None  # several documents, one per line, or malformed: read line by line
    if isinstance(doc, list):
        return [RawRecord(name, i, item) for i, item in enumerate(doc, start=1)]
    return [RawRecord(name, 1, doc)]


# simonw/llm logs.db ----------------------------------------------------------------------------


def _read_llm_db(path: Path, position: Position) -> Iterator[RawRecord | Reject]:
    """One record per ``responses`` row: its columns, the marker ``_llm_logs_db``, and what the row
    needs from other tables: ``_history`` (the earlier turns of its conversation, for plugins whose
    ``prompt_json`` holds no messages), ``_tools``, ``_tool_calls``, ``_tool_results``, ``_schema``.

    A database has no line positions: it is always read whole, and ``position`` then says how many
    rows were read (no offset). Rows come grouped by conversation, in time order within one, so that
    only one conversation's turns are held at a time.
    """
    name = str(path)
    position.line, position.offset, position.incomplete = 0, None, False
    if not _is_sqlite(path):
        try:
            with open(path, "rb") as f:
                head = f.read(EXCERPT_CHARS)
        except OSError as exc:
            yield Reject(name, 0, f"cannot read file: {exc.strerror or exc}")
            return
        yield Reject(name, 0, "not a SQLite database (no `SQLite format 3` header)", _excerpt(head))
        return
    try:
        con = _connect(path)
    except sqlite3.Error as exc:
        yield Reject(name, 0, f"cannot open SQLite database: {exc}")
        return
    with closing(con):
        try:
            missing = LLM_COLUMNS - _columns(con, "responses")
            if missing:
                yield Reject(name, 0, "not an llm logs database: no `responses` table with "
                                      f"{', '.join(sorted(missing))}")
                return
            try:
                extras = _llm_extras(con)
            except (sqlite3.Error, IndexError):  # a tool table of an unforeseen shape: do without
                extras = _llm_extras(None)
            con.row_factory, con.text_factory = None, bytes  # decoded per row: one bad row is one reject
            rows = con.execute("SELECT rowid AS _rowid, * FROM responses ORDER BY conversation_id, datetime_utc, rowid")
            columns = [d[0] for d in rows.description]
            conversation, history = None, []
            for values in rows:
                position.line += 1
                row = dict(zip(columns, values))
                rowid = row.pop("_rowid")
                try:
                    row = {k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in row.items()}
                except UnicodeDecodeError:
                    yield Reject(name, rowid, "a column is not UTF-8 text", _excerpt(repr(row).encode()))
                    continue
                if row["conversation_id"] is None or row["conversation_id"] != conversation:
                    conversation, history = row["conversation_id"], []
                turn = {"prompt": row["prompt"], "system": row["system"], "response": row["response"],
                        "tool_calls": extras["tool_calls"].get(row["id"], []),
                        "tool_results": extras["tool_results"].get(row["id"], [])}
                yield RawRecord(name, rowid, {
                    **row, "_llm_logs_db": True, "_history": list(history),
                    "_tools": [extras["tools"][t] for t in extras["links"].get(row["id"], []) if t in extras["tools"]],
                    "_tool_calls": turn["tool_calls"], "_tool_results": turn["tool_results"],
                    "_schema": extras["schemas"].get(row.get("schema_id")),
                })
                history.append(turn)
        except sqlite3.Error as exc:  # a damaged file: what was read stands, the rest is one reject
            if position.line == 0:
                yield Reject(name, 0, f"unreadable SQLite database: {exc}")
            else:
                yield Reject(name, position.line + 1, f"unreadable SQLite database after {position.line} rows: {exc}")


def _llm_extras(con: sqlite3.Connection | None) -> dict[str, dict]:
    """The tool and schema tables of newer llm versions, keyed for lookup by response id."""
    found: dict[str, dict] = {"tools": {}, "links": defaultdict(list), "tool_calls": defaultdict(list),
                              "tool_results": defaultdict(list), "schemas": {}}
    if con is None:
        return found
    con.row_factory = sqlite3.Row
    con.text_factory = lambda raw: raw.decode("utf-8", "replace")
    tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    if "tools" in tables:
        found["tools"] = {r["id"]: {"name": r["name"], "description": r["description"],
                                    "input_schema": r["input_schema"]} for r in con.execute("SELECT * FROM tools")}
    for link in ("tool_responses", "response_tools"):  # the name changed with llm's node-tree schema
        if link in tables:
            for r in con.execute(f"SELECT response_id, tool_id FROM [{link}] ORDER BY rowid"):
                found["links"][r["response_id"]].append(r["tool_id"])
    for table, keep in (("tool_calls", ("name", "arguments", "tool_call_id")),
                        ("tool_results", ("name", "output", "tool_call_id"))):
        if table in tables:
            for r in con.execute(f"SELECT * FROM [{table}] ORDER BY id"):
                found[table][r["response_id"]].append({k: r[k] for k in keep})
    if "schemas" in tables:
        found["schemas"] = {r["id"]: r["content"] for r in con.execute("SELECT id, content FROM schemas")}
    return found
