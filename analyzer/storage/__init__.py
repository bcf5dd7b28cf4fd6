"""The DuckDB database's one home: the rest of crossover calls what this package re-exports.

Only this package imports DuckDB or holds SQL (saved queries aside, in ``queries/``). Its modules:

* :mod:`.connection`: where the database is, opening it read-only or writable, the memory limit;
* :mod:`.migrations`: the ordered, recorded steps that build the schema;
* :mod:`.tables`: the one declaration of each table and view (the README's schema comes from it);
* :mod:`.arrow`: polars frames into and out of DuckDB through the Arrow C stream (no pyarrow);
* :mod:`.rows`: the batches of rows ingest writes, typed from the declarations;
* :mod:`.bookkeeping`: each file's ``files`` row, ``meta``, transactions;
* :mod:`.batch_parts`: the staged halves of batch requests;
* :mod:`.derived`: the final pass's reads and writes (versions, few-shot, prices);
* :mod:`.reads`: what the report, ``templates`` and ``prices`` read.

Every file is written in one transaction (see :mod:`analyzer.ingesting`), and request ids are
primary keys: re-reading a request already stored inserts nothing.
"""

from __future__ import annotations

from .arrow import frame
from .batch_parts import mark_joined, shared_custom_ids, unjoined_pairs
from .batch_parts import waiting as batch_lines_waiting
from .bookkeeping import (
                          FileRow,
                          add_to_file,
                          delete_meta,
                          file_row,
                          forget_file,
                          forget_lines_after,
                          get_meta,
                          record_file,
                          set_file_mtime,
                          set_meta,
                          transaction,
)
from .connection import DEFAULT_DB, MEMORY_LIMIT, Connection, Error, connect, db_path, private_files
from .derived import (
                          add_price,
                          classify_middle_turns,
                          rebuild_templates,
                          refresh_versions,
                          set_version_templates,
                          unpriced_days,
                          version_texts,
)
from .reads import (
    calibration,
    export_candidates,
    file_fingerprints,
    models,
    prices_used,
    production_by_day,
    request_costs,
    template_labels,
    template_request_costs,
    template_rows,
    templates_info,
)
from .rows import BATCH_TABLES, Rows
from .rows import write as write_rows
from .tables import TABLES, VIEWS

__all__ = [
    "BATCH_TABLES", "DEFAULT_DB", "MEMORY_LIMIT", "TABLES", "VIEWS", "Connection", "Error", "FileRow", "Rows",
    "add_price", "add_to_file", "batch_lines_waiting", "calibration", "classify_middle_turns", "connect",
    "db_path", "delete_meta", "export_candidates", "file_fingerprints",
    "private_files", "file_row", "forget_file", "forget_lines_after", "frame", "get_meta",
    "mark_joined", "models", "prices_used", "production_by_day",
    "rebuild_templates", "record_file", "refresh_versions", "request_costs", "set_file_mtime", "set_meta",
    "set_version_templates", "shared_custom_ids", "template_labels", "template_request_costs", "template_rows",
    "templates_info", "transaction",
    "unjoined_pairs", "unpriced_days", "version_texts", "write_rows",
]
