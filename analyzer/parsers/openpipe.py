"""OpenPipe logged calls (formats.md §9): ``reqPayload``/``respPayload`` with OpenPipe's own fields.

The payloads are an OpenAI Chat request and response, handed back to the registry; OpenPipe's
fields fill what they lack: ``requestedAt`` (epoch milliseconds), ``durationMs``, ``statusCode``
and ``errorMessage``, and ``inputTokens``/``outputTokens`` when the response has no usage. A
``cacheHit`` call was answered from OpenPipe's cache, not by the provider: it is kept (it is
traffic, and an example) but billed nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import BadRecord
from ..models import RawRecord
from .common import as_int, maybe_json, number
from .context import ReadContext

NAME = "openpipe"
DESCRIPTION = "OpenPipe logged call: `reqPayload`, `respPayload`, `requestedAt` (ms), `statusCode`, `cacheHit`"


def detect(data: Any, ctx: ReadContext) -> bool:
    """An OpenPipe LoggedCall: its payload and its own timing keys."""
    return isinstance(data, dict) and "reqPayload" in data and ("requestedAt" in data or "cacheHit" in data)


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Any]:
    """Yield the request of one logged call, parsed by the format of its payloads."""
    call = record.data
    body, response = maybe_json(call.get("reqPayload")), maybe_json(call.get("respPayload"))
    if not isinstance(body, dict):
        raise BadRecord("OpenPipe call without its request payload")
    pair = {"request": body, "response": response if isinstance(response, dict) else None,
            "timestamp": call.get("requestedAt") or call.get("receivedAt")}
    for request in ctx.parse_inner(record, pair, NAME, "the payloads of an OpenPipe call"):
        if isinstance(request, BadRecord):
            yield request
            continue
        request.format = NAME
        request.latency_ms = request.latency_ms or number(call.get("durationMs"))
        if request.reported_prompt_tokens is None:
            request.reported_prompt_tokens = as_int(call.get("inputTokens"))
            request.reported_output_tokens = as_int(call.get("outputTokens"))
        if call.get("cacheHit"):
            # Served from OpenPipe's cache: no provider call, so nothing billed.
            request.reported_prompt_tokens = request.reported_output_tokens = 0
            request.reported_cached_tokens = request.reported_cache_write_tokens = 0
        status = number(call.get("statusCode"))
        if (status is not None and status >= 400) or call.get("errorMessage"):
            request.status = "error"
            request.error = call.get("errorMessage") or f"HTTP {status:.0f}"
        yield request
