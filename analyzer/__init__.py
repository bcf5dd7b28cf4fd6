"""crossover: would fine-tuning pay off? Read LLM request logs and decide, per prompt template.

The library's verbs are those of the CLI (see :mod:`analyzer.api`).
"""

from .api import analyze, count, formats, ingest, list_queries, prices, query, report, templates

__all__ = ["analyze", "count", "formats", "ingest", "list_queries", "prices", "query", "report", "templates"]
