"""Read log files into the database: files read in parallel processes, each written in one transaction.

Reading a file (parse, segment, count: :mod:`analyzer.extracting`) is CPU-bound Python, so with more
than one core and enough bytes to read, worker processes read whole files and spool their batches
as Arrow IPC files; this process writes each file's batches in one transaction, in file order, so the
result is the same as reading the files one by one. DuckDB has a single writer, and an interrupted
file leaves nothing half-written behind.

Accounting is per unit read: a request (stored, or a duplicate of one already stored), a reject, or
half of a batch request waiting for its other half (pending), or a record with nothing to count
(ignored). For every file, records = stored + duplicates + rejected + pending + ignored, and the
``files`` row says so. When a batch request's halves are joined (:mod:`analyzer.batches`), its
lines move from pending: the request line's to what became of the request, the result line's to
duplicates (one request, logged twice). A file whose bytes are unchanged since it was read is
skipped; one whose bytes changed is read again whole.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from . import batches, examples, parsers, reading, sources, storage, templating, working
from .extracting import FileReader, FileResult
from .models import Caution
from .pending import Pending, count_written, fingerprint, first_result, merge_part, parts_of, with_pieces
from .storage import Rows

#: Below this many bytes to read, starting workers (each loads the tokenizer files, about a second)
#: costs more than it saves, and the files are read in this process.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024


#: The content hash recorded for a file that could not be read: it is not read again until it can be.
UNREADABLE = "unreadable"

#: Called as each file is finished: (its result, files finished so far, files in all).
OnFile = Callable[[FileResult, int, int], None]
#: Called as each piece of a file is written: (bytes read so far, bytes to read in all).
OnBytes = Callable[[int, int], None]


@dataclass
class IngestResult:
    """What became of every file of one run."""

    files: list[FileResult]
    batch_joined: int = 0  # batch requests built from their two halves in this run
    batch_waiting: dict[str, int] = field(default_factory=dict)  # lines still waiting, by half
    warnings: list[str] = field(default_factory=list)  # about the run, not one file
    cautions: list[Caution] = field(default_factory=list)  # weak input, coded (api.ingest fills it: weak_inputs)

    def total(self, name: str) -> int:
        """The sum of one counter (records, stored, duplicates, rejected, pending, ignored) over the files."""
        return sum(getattr(f, name) for f in self.files)


#: The ``meta`` key naming the file being written, and the line after which its rows are new
#: (null: the whole file), until its ``files`` row is; see :meth:`Ingestor._file_transaction`.
WRITING = "writing"


def _take_back(con: storage.Connection, name: str, since: int | None) -> None:
    """Drop the rows a file's unfinished writing stored: all of them (a whole read), or those after
    line ``since`` (a tail read, whose earlier lines are recorded in its ``files`` row)."""
    if since is None:
        storage.forget_file(con, name)
    else:
        storage.forget_lines_after(con, name, since)


#: The ``meta`` key that says a database keeps no record text (``--no-text``), and its value.
TEXT_KEY, NO_TEXT = "texts", "not kept"


class Ingestor:
    """Reads files into one database."""

    def __init__(self, con: storage.Connection, format_name: str | None = None, jobs: int = 1,
                 timezone_name: str | None = None, reference: bool = False, keep_text: bool = True):
        """``reference``: count every request from scratch (see :class:`FileReader`), to check the fast path.
        Without ``keep_text`` no record's text is stored, in this run or any later one into the database."""
        self.con = con
        self.format_name = format_name
        self.timezone_name = timezone_name
        self.reference = reference
        # Once a database is made without texts it stays so: a later run that forgot the flag
        # must not store the prompts the team chose not to keep.
        if not keep_text:
            storage.set_meta(con, {TEXT_KEY: NO_TEXT})
        self.keep_text = storage.get_meta(con, TEXT_KEY) != NO_TEXT
        self.reader = FileReader(format_name, timezone_name, reference, self.keep_text)  # also checks both names
        self._bytes, self._on_bytes = [0, 0], None
        self.jobs = jobs

    def ingest(self, paths: Iterable[str], on_file: OnFile | None = None, on_bytes: OnBytes | None = None
               ) -> IngestResult:
        """Read every log file under ``paths``, then derive few-shot, templates and prices.

        ``on_file(result, done, total)`` is called as each file is finished (read, skipped or
        unreadable), and ``on_bytes(done, total)`` as each piece of one is written (a large plain
        file's 64 MiB pieces, a gzip file whole), for progress displays.
        """
        recovered = self._recover()
        files = reading.find_files(paths, parsers.claims)
        results: list[FileResult] = []

        def finished(result: FileResult) -> None:
            results.append(result)
            if on_file:
                on_file(result, len(results), len(files))

        pending: list[Pending] = []
        for path in files:
            if sources.is_remote(path):
                found = self._object(path)
                if isinstance(found, FileResult):
                    finished(found)
                else:
                    pending.append(found)
                continue
            name = reading.stored_name(path)
            before = storage.file_row(self.con, name)
            try:
                stat = path.stat()
                # Same size and modification time as when it was read: unchanged, as make and rsync
                # judge, without reading it again to hash it (a second run over a month of logs).
                if (before and before.mtime_ns is not None
                        and (before.size, before.mtime_ns) == (stat.st_size, stat.st_mtime_ns)):
                    finished(FileResult(name, skipped=True))
                    continue
                size, content_hash, prefix_hash = self._identify(path, before, stat.st_size, _settled(stat.st_mtime_ns))
            except OSError as exc:  # vanished, unreadable, or a symlink to nothing
                if before is not None and before.content_hash == UNREADABLE:
                    finished(FileResult(name, skipped=True))  # recorded once, not again on every run
                else:
                    finished(self._unreadable(name, _unreadable_reason(path, exc)))
                continue
            if before and before.content_hash == content_hash:
                storage.set_file_mtime(self.con, name, _settled(stat.st_mtime_ns))
                finished(FileResult(name, skipped=True))
                continue
            # A database grows by rewriting its pages, not by appending lines: it is read again whole.
            if (before and before.lines_read is not None and size > before.size and prefix_hash == before.content_hash
                    and parsers.owner(path) is None):
                pending.append(Pending(path, name, size, content_hash, stat.st_mtime_ns, tail_of=before))
            elif before:
                pending.append(Pending(path, name, size, content_hash, stat.st_mtime_ns,
                                        warning="what was read before has changed: read again whole"))
            else:
                pending.append(Pending(path, name, size, content_hash, stat.st_mtime_ns))
        pending = [with_pieces(p) for p in pending]
        units = sum(len(p.pieces or (None,)) for p in pending)
        parallel = self.jobs > 1 and units > 1 and sum(p.size for p in pending) >= PARALLEL_MIN_BYTES
        self._bytes = [0, sum(p.size - p.start_byte for p in pending)]
        self._on_bytes = on_bytes
        for result in self._read_pending(pending, parallel):
            finished(result)
        run = IngestResult(results)
        if recovered:
            run.warnings.append(recovered)
        if pending or storage.get_meta(self.con, "final_pass") != "done":
            self.finish(run)
        else:  # nothing new, and the last final pass committed: what it derived still holds
            run.batch_waiting = storage.batch_lines_waiting(self.con)
        return run

    def _object(self, path: sources.RemotePath) -> Pending | FileResult:
        """An object in object storage, judged as a local file is (see :meth:`ingest`), except that its
        store's version (ETag, generation) and size, not a modification time, say it is unchanged
        without reading it."""
        name = sources.name_of(path)
        before = storage.file_row(self.con, name)
        try:
            found = sources.identity(path)
            if before and found.version is not None and (before.size, before.etag) == (found.size, found.version):
                return FileResult(name, skipped=True)
            size, content_hash, prefix_hash = self._identify(path, before, found.size, found.version)
        except OSError as exc:  # no such bucket or object, access denied, the store unreachable
            if before is not None and before.content_hash == UNREADABLE:
                return FileResult(name, skipped=True)
            return self._unreadable(name, f"cannot read object: {exc}")
        if before and before.content_hash == content_hash:  # uploaded again as it was
            storage.set_file_etag(self.con, name, found.version)
            return FileResult(name, skipped=True)
        if before and before.lines_read is not None and size > before.size and prefix_hash == before.content_hash:
            return Pending(path, name, size, content_hash, tail_of=before, etag=found.version)
        warning = "what was read before has changed: read again whole" if before else None
        return Pending(path, name, size, content_hash, warning=warning, etag=found.version)

    def _identify(self, path: Path | sources.RemotePath, before: storage.FileRow | None, size: int,
                  version: int | str | None) -> tuple[int, str | None, str | None]:
        """What a file is judged by: its size, its content hash, and the hash of the part read before
        (see :func:`~analyzer.pending.fingerprint`), all read here. ``size`` and ``version`` (a settled
        modification time, an object's ETag or generation) are what its stat or listing says: a
        :class:`~analyzer.sharding.ShardIngestor` names a new file by them and hashes it in its map task.
        """
        return fingerprint(path, before.size if before else None)

    def finish(self, run: IngestResult | None = None) -> None:
        """What depends on all requests: batch halves joined, template versions linked, few-shot vs history, prices."""
        from . import pricing  # pricing imports storage; keep the import graph one-way

        run = run if run is not None else IngestResult([])
        storage.fit_pool(self.con)
        with storage.transaction(self.con):
            run.batch_joined += batches.join(self.con, self.reader, run.files, run.warnings)
            run.batch_waiting = storage.batch_lines_waiting(self.con)
            templating.link_versions(self.con)
            examples.classify_middle_turns(self.con)
            pricing.fill_prices(self.con)
            storage.set_meta(self.con, {**pricing.versions(), "final_pass": "done"})

    def _read_pending(self, pending: list[Pending], parallel: bool) -> Iterator[FileResult]:
        """Read the files to read, yielding each one's result in order (:mod:`analyzer.sharding` maps them instead)."""
        return self._read_parallel(pending) if parallel else map(self._read_here, pending)

    def _read_here(self, item: Pending) -> FileResult:
        result = first_result(item)
        with self._file_transaction(item, result):
            for part, start, end, shift in parts_of(item, result):
                before = result.position.line if shift else 0  # lines of the pieces already read

                def emit(rows: Rows, before: int = before) -> None:
                    self._write_batch(_shifted(rows.frames(), before), result)

                self.reader.read(item.path, part, emit, end)
                merge_part(result, part, shift)
                self._advanced((end or item.size) - start)
        return result

    def _read_parallel(self, pending: list[Pending]) -> Iterator[FileResult]:
        spool = Path(tempfile.mkdtemp(prefix="crossover-spool-"))
        # Spawned, not forked: a fork of a process running polars' and DuckDB's thread pools can
        # inherit a held lock and hang.
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=working.start,
                                   initargs=(self.format_name, self.timezone_name, self.reference, self.keep_text,
                                             os.getpid(), str(spool)))
        try:
            # Every piece of every file is a task; results are written file by file, piece by piece,
            # in order, each file as one unit, as one process would. The workers start as tasks are
            # submitted.
            results = [first_result(p) for p in pending]
            with working.skip_our_main():
                parts = [[(pool.submit(working.read, str(p.path), part, str(spool), end), (end or p.size) - start,
                           shift)
                          for part, start, end, shift in parts_of(p, result)]
                         for p, result in zip(pending, results, strict=True)]
            for item, result, futures in zip(pending, results, parts, strict=True):
                with self._file_transaction(item, result):
                    for future, size, shift in futures:
                        part, spools = future.result()
                        for spooled in spools:
                            with storage.transaction(self.con):
                                count_written(result, storage.write_spool(self.con, spooled,
                                                                          result.position.line if shift else 0))
                            for path in spooled.paths.values():
                                os.remove(path)
                        merge_part(result, part, shift)
                        self._advanced(size)
                yield result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            shutil.rmtree(spool, ignore_errors=True)

    def _advanced(self, size: int) -> None:
        """Tell the progress display that ``size`` more bytes were read."""
        self._bytes[0] += size
        if self._on_bytes is not None:
            self._on_bytes(min(self._bytes[0], self._bytes[1]), self._bytes[1])

    @contextlib.contextmanager
    def _file_transaction(self, item: Pending, result: FileResult) -> Iterator[None]:
        """Write one file as one unit: all of its rows and its ``files`` row, or none of them.

        Its rows are committed batch by batch, not in one transaction: DuckDB holds a transaction's
        uncommitted rows in memory, so one transaction per file made memory grow with the file's
        size (500 MB for a 1 GB file against 218 MB for 10 MB; 371 MB when committed per batch).
        Until the ``files`` row is written, ``meta`` names the file being written; what it wrote is
        taken back at once if the run fails, or by the next run if this one was killed.
        """
        since = item.tail_of.lines_read if item.tail_of is not None else None
        storage.fit_pool(self.con)  # the indexes the file's inserts load grow with what is stored
        with storage.transaction(self.con):
            _take_back(self.con, item.name, since)
            # What the final pass derives is stale from the first committed batch on.
            storage.set_meta(self.con, {"final_pass": "pending", WRITING: json.dumps([item.name, since])})
        try:
            yield
        except BaseException:
            try:
                with storage.transaction(self.con):
                    _take_back(self.con, item.name, since)
                    storage.delete_meta(self.con, WRITING)
            except Exception:  # noqa: BLE001 - the marker stays, and the next run takes the rows back
                pass
            raise
        with storage.transaction(self.con):
            storage.delete_meta(self.con, WRITING)
            if result.position.incomplete:
                result.warnings.append(f"line {result.position.line + 1} is incomplete (still being written?): "
                                       "left for the next run")
            # The row describes the whole file: what was read before (a tail run) plus this run.
            before = item.tail_of
            totals = [a + b for a, b in zip((before.records, before.stored, before.duplicates, before.rejected,
                                             before.pending, before.ignored) if before else (0, 0, 0, 0, 0, 0),
                                            (result.records, result.stored, result.duplicates, result.rejected,
                                             result.pending, result.ignored), strict=True)]
            position = result.position
            # A last line still being written is not part of what was read: hash only what was.
            size, content_hash, mtime_ns, etag = item.size, item.content_hash, item.mtime_ns, item.etag
            if position.incomplete and position.offset is not None:
                size, content_hash, _ = fingerprint(item.path, limit=position.offset)
                mtime_ns = etag = None  # what is on disk is more than what was read: hash it next time
            storage.record_file(self.con, item.name, size, content_hash, ",".join(sorted(result.formats)), totals,
                                position.line, position.offset, _settled(mtime_ns), etag)

    def _write_batch(self, frames: dict[str, pl.DataFrame], result: FileResult) -> None:
        """Commit one batch of a file's rows (see :meth:`_file_transaction`)."""
        with storage.transaction(self.con):
            self._write(frames, result)

    def _recover(self) -> str | None:
        """Take back the rows of a file whose writing a killed run left unfinished; say which, if any."""
        marker = storage.get_meta(self.con, WRITING)
        if marker is None:
            return None
        name, since = json.loads(marker)
        with storage.transaction(self.con):
            _take_back(self.con, name, since)
            storage.delete_meta(self.con, WRITING)
        return (f"{name}: an earlier run stopped while writing it; what it had written was taken back "
                "and the file is read again")

    def _write(self, frames: dict[str, pl.DataFrame], result: FileResult) -> None:
        count_written(result, storage.write_rows(self.con, frames))

    def _unreadable(self, name: str, reason: str) -> FileResult:
        """A file that cannot be read: one reject, and a ``files`` row that says so, so that the next
        run does not add the same reject again (it reads the file once it can)."""
        result = FileResult(name, records=1, rejected=1, examples=[(0, reason)])
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = Rows()
        rows.tables["rejects"].append({"file": name, "line": 0, "reason": reason, "excerpt": "", "rejected_at": now})
        with storage.transaction(self.con):
            storage.forget_file(self.con, name)
            self._write(rows.frames(), result)
            storage.record_file(self.con, name, 0, UNREADABLE, "", [1, 0, 0, 1, 0, 0], 0, None, None)
        return result


def _shifted(frames: dict[str, pl.DataFrame], shift: int) -> dict[str, pl.DataFrame]:
    """Rows of a piece numbered from the piece's start, renumbered from the file's."""
    if not shift:
        return frames
    return {table: frame.with_columns(pl.col("line") + shift) if "line" in frame.columns else frame
            for table, frame in frames.items()}


#: A file modified this recently may change again within the clock's resolution without its time
#: changing: its time is not trusted to say it is unchanged (git's rule for "racily clean" files).
SETTLED_NS = 2_000_000_000


def _settled(mtime_ns: int | None) -> int | None:
    """A modification time old enough to recognise the file by, else None (hash it next time)."""
    return mtime_ns if mtime_ns is not None and time.time_ns() - mtime_ns >= SETTLED_NS else None


def _unreadable_reason(path: Path, exc: OSError) -> str:
    if path.is_symlink() and not path.exists():
        return f"cannot read file: a symlink to {os.readlink(path)}, which does not exist"
    return f"cannot read file: {exc.strerror or exc}"
