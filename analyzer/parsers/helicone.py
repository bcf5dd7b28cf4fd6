"""Helicone request exports (formats.md §7): one row per request, the provider's bodies inside.

A row carries ``request_body`` and ``response_body`` (JSON, or JSON held in strings) with
Helicone's own time (``request_created_at``), latency (``delay_ms``), user and request id around
them. The bodies are whatever provider was called, so the pair is handed back to the registry
(OpenAI Chat, Responses, Anthropic…) and Helicone's fields fill what the bodies lack. Bodies are
present only in exports made with ``--include-body``; a row without them is rejected with that
reason. The CSV export is not read (JSONL and JSON only).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import BadRecord
from ..models import RawRecord
from .common import maybe_json, number
from .context import ReadContext

NAME = "helicone"
DESCRIPTION = ("Helicone export row: `request_id`, `request_created_at` and the provider's "
               "`request_body`/`response_body`")

_HELICONE_KEYS = ("request_created_at", "request_path", "target_url", "request_properties", "delay_ms")


def detect(data: Any, ctx: ReadContext) -> bool:
    """A Helicone export row: its request id and body keys, and one of its own fields."""
    return (isinstance(data, dict) and "request_id" in data and "request_body" in data
            and any(key in data for key in _HELICONE_KEYS))


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Any]:
    """Yield the request of one row, parsed by the format of its bodies."""
    row = record.data
    body, response = maybe_json(row.get("request_body")), maybe_json(row.get("response_body"))
    if not isinstance(body, dict) or not body:
        raise BadRecord("Helicone row without its request body (export with --include-body)")
    pair = {"request": body, "response": response if isinstance(response, dict) else None,
            "timestamp": row.get("request_created_at") or row.get("response_created_at")}
    provider = row.get("target_url") or row.get("provider") or "an unknown provider"
    for request in ctx.parse_inner(record, pair, NAME, f"the bodies of a Helicone row for {provider}"):
        if isinstance(request, BadRecord):
            yield request
            continue
        request.format = NAME
        request.request_id = request.request_id if not str(request.request_id).startswith("sha256:") else (
            str(row["request_id"]))  # the provider's id when the body has one, else Helicone's
        request.latency_ms = request.latency_ms or number(row.get("delay_ms"))
        request.user = request.user or row.get("request_user_id")
        status = number(row.get("response_status"))
        if status is not None and status >= 400 and request.status == "ok":
            request.status, request.error = "error", f"HTTP {status:.0f}"
        yield request
