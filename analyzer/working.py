"""An ingest worker process: read the files it is given into spooled batches of rows.

Its own module, so that a spawned worker imports only what reading needs (parsing, segmenting,
counting) and neither DuckDB nor polars: each worker is a whole process holding its tokenizers,
and every megabyte it imports is paid once per core. :mod:`analyzer.ingesting` writes what it spools.
For the same reason a parent spawns its workers inside :func:`skip_our_main` (the ingest's pool and
:mod:`analyzer.sharding`'s).
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator

from . import sources
from .extracting import FileReader, FileResult
from .storage import Rows, Spool

_READER: FileReader | None = None


def start(format_name: str | None, timezone_name: str | None, reference: bool, keep_text: bool = True,
          parent: int | None = None, spool: str | None = None) -> None:
    """Set up this worker: its reader, and a watch that ends it when its parent is gone."""
    global _READER
    _READER = FileReader(format_name, timezone_name, reference, keep_text)
    if parent is not None:
        threading.Thread(target=_die_with, args=(parent, spool), daemon=True, name="crossover-parent-watch").start()


#: How often a worker checks that the process that started it is still there.
PARENT_POLL = 0.5


def _die_with(parent: int, spool: str | None) -> None:
    """End this worker when its parent is gone (killed, even with SIGKILL, which runs no cleanup):
    a worker holds a file's rows, some hundred MB, and nobody would ever collect its result. The
    spool folder the parent could not remove goes with it."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    if spool:
        shutil.rmtree(spool, ignore_errors=True)
    os._exit(1)


def read(path: str, result: FileResult, spool: str, end: int | None) -> tuple[FileResult, list[Spool]]:
    """Read one file (or its piece up to byte ``end``); spool each batch's rows as JSON-lines files."""
    spooled: list[Spool] = []

    def emit(rows: Rows) -> None:
        batch = rows.spool(os.path.join(spool, uuid.uuid4().hex))
        if batch.paths:
            spooled.append(batch)

    assert _READER is not None, "worker not started"
    _READER.read(sources.as_path(path), result, emit, end)
    return result, spooled


@contextlib.contextmanager
def skip_our_main() -> Iterator[None]:
    """Workers spawned meanwhile do not run the ``crossover`` command's script again.

    A spawned worker imports the parent's main module first. The ``crossover`` script's is
    ``analyzer.cli``, and with it the report, the prices and the terminal: some 30 MB and half a
    second in every worker, for nothing it reads with. Named as a package's ``__main__``, the
    module is left alone (multiprocessing's own rule for ``python -m``). A script of the user's
    is still imported, as multiprocessing does: it may register formats the workers need.
    """
    main = sys.modules.get("__main__")
    cli = sys.modules.get("analyzer.cli")
    ours = (main is not None and cli is not None and getattr(main, "__spec__", None) is None
            and getattr(main, "main", None) is getattr(cli, "main", object()))
    if not ours:
        yield
        return
    main.__spec__ = importlib.machinery.ModuleSpec("analyzer.__main__", None)
    try:
        yield
    finally:
        main.__spec__ = None
