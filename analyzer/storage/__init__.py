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
* :mod:`.reads`: what the report, ``templates`` and ``prices`` read;
* :mod:`.comparisons`: what ``compare`` writes and the report reads back;
* :mod:`.shards`: map shards loaded, and the report's tables written to and read from a Parquet dataset.

Every file is written in one transaction (see :mod:`analyzer.ingesting`), and request ids are
primary keys: re-reading a request already stored inserts nothing.

Names are imported from their module on first use (PEP 562), not all at once: a worker process that
only builds rows (:mod:`.rows`) must not load DuckDB (some 35 MB, and import time, in every worker).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Each name this package gives, and the module and name it comes from.
_NAMES = {
    "frame": ("arrow", "frame"),
    "batch_lines_waiting": ("batch_parts", "waiting"),
    "mark_joined": ("batch_parts", "mark_joined"),
    "shared_custom_ids": ("batch_parts", "shared_custom_ids"),
    "unjoined_pairs": ("batch_parts", "unjoined_pairs"),
    "batch_partners": ("batch_parts", "partners"),
    "FileRow": ("bookkeeping", "FileRow"),
    "add_to_file": ("bookkeeping", "add_to_file"),
    "delete_meta": ("bookkeeping", "delete_meta"),
    "file_row": ("bookkeeping", "file_row"),
    "forget_file": ("bookkeeping", "forget_file"),
    "forget_lines_after": ("bookkeeping", "forget_lines_after"),
    "get_meta": ("bookkeeping", "get_meta"),
    "record_file": ("bookkeeping", "record_file"),
    "set_file_etag": ("bookkeeping", "set_file_etag"),
    "set_file_mtime": ("bookkeeping", "set_file_mtime"),
    "set_meta": ("bookkeeping", "set_meta"),
    "transaction": ("bookkeeping", "transaction"),
    "Connection": ("connection", "Connection"),
    "DEFAULT_DB": ("connection", "DEFAULT_DB"),
    "Error": ("connection", "Error"),
    "OutOfMemory": ("connection", "OutOfMemory"),
    "fit_pool": ("connection", "fit_pool"),
    "MEMORY_LIMIT": ("connection", "MEMORY_LIMIT"),
    "connect": ("connection", "connect"),
    "db_path": ("connection", "db_path"),
    "private_files": ("connection", "private_files"),
    "add_price": ("derived", "add_price"),
    "classify_middle_turns": ("derived", "classify_middle_turns"),
    "rebuild_templates": ("derived", "rebuild_templates"),
    "refresh_versions": ("derived", "refresh_versions"),
    "set_version_templates": ("derived", "set_version_templates"),
    "unpriced_days": ("derived", "unpriced_days"),
    "version_texts": ("derived", "version_texts"),
    "calibration": ("reads", "calibration"),
    "export_candidates": ("reads", "export_candidates"),
    "file_fingerprints": ("reads", "file_fingerprints"),
    "models": ("reads", "models"),
    "prices_used": ("reads", "prices_used"),
    "production_by_day": ("reads", "production_by_day"),
    "training_basis": ("reads", "training_basis"),
    "request_costs": ("reads", "request_costs"),
    "template_labels": ("reads", "template_labels"),
    "template_rows": ("reads", "template_rows"),
    "templates_info": ("reads", "templates_info"),
    "BATCH_TABLES": ("rows", "BATCH_TABLES"),
    "Rows": ("rows", "Rows"),
    "write_rows": ("rows", "write"),
    "Spool": ("rows", "Spool"),
    "write_spool": ("rows", "write_spool"),
    # Not "comparisons": a name of a submodule is the module itself once it is imported.
    "saved_comparisons": ("comparisons", "comparisons"),
    "save_comparison": ("comparisons", "save_comparison"),
    "load_shard": ("shards", "load_shard"),
    "use_filesystem": ("shards", "use_filesystem"),
    "REPORT_TABLES": ("shards", "REPORT_TABLES"),
    "copy_table": ("shards", "copy_table"),
    "row_count": ("shards", "row_count"),
    "migration_names": ("shards", "migration_names"),
    "open_dataset": ("shards", "open_dataset"),
    "TABLES": ("tables", "TABLES"),
    "VIEWS": ("tables", "VIEWS"),
}

if TYPE_CHECKING:  # what type checkers and editors see: the names as imported
    from .arrow import frame
    from .batch_parts import mark_joined, shared_custom_ids, unjoined_pairs
    from .batch_parts import partners as batch_partners
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
        set_file_etag,
        set_file_mtime,
        set_meta,
        transaction,
    )
    from .comparisons import comparisons as saved_comparisons
    from .comparisons import save_comparison
    from .connection import (
        DEFAULT_DB,
        MEMORY_LIMIT,
        Connection,
        Error,
        OutOfMemory,
        connect,
        db_path,
        fit_pool,
        private_files,
    )
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
        template_rows,
        templates_info,
        training_basis,
    )
    from .rows import BATCH_TABLES, Rows, Spool, write_spool
    from .rows import write as write_rows
    from .shards import REPORT_TABLES, copy_table, load_shard, migration_names, open_dataset, row_count, use_filesystem
    from .tables import TABLES, VIEWS


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _NAMES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # once found, a plain module attribute
    return value


__all__ = [
    "BATCH_TABLES", "DEFAULT_DB", "MEMORY_LIMIT", "TABLES", "VIEWS", "Connection", "Error", "OutOfMemory", "FileRow",
    "Rows",
    "add_price", "add_to_file", "batch_lines_waiting", "batch_partners", "calibration", "classify_middle_turns",
    "connect", "fit_pool",
    "db_path", "delete_meta", "export_candidates", "file_fingerprints",
    "private_files", "file_row", "forget_file", "forget_lines_after", "frame", "get_meta",
    "mark_joined", "models", "prices_used",
    "rebuild_templates", "record_file", "refresh_versions", "request_costs", "set_file_etag", "set_file_mtime",
    "set_meta",
    "set_version_templates", "shared_custom_ids", "template_labels", "template_rows", "templates_info", "transaction",
    "unjoined_pairs", "unpriced_days", "version_texts", "write_rows",
    "Spool", "write_spool", "saved_comparisons", "save_comparison", "production_by_day", "training_basis",
    "load_shard", "use_filesystem", "REPORT_TABLES", "copy_table", "row_count", "migration_names", "open_dataset",
]
