"""crossover: would fine-tuning pay off? Read LLM request logs and decide, per prompt template.

The library's verbs are those of the CLI (see :mod:`analyzer.api`). They are imported on first use
(PEP 562): a worker process of ``ingest`` imports ``analyzer.extracting`` and must not pay for the
report, the prices and the terminal it never uses (about 30 MB and half a second each).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["analyze", "count", "formats", "ingest", "list_queries", "prices", "query", "report", "templates"]

if TYPE_CHECKING:
    from .api import analyze, count, formats, ingest, list_queries, prices, query, report, templates


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import api

    return getattr(api, name)
