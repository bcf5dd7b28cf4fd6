"""Anthropic Message Batches: request lines and result lines, staged apart and joined on ``custom_id``.

A request line is ``{custom_id, params: {…Messages request…}}``; a result line is ``{custom_id,
result: {type: succeeded, message} | {type: errored, error} | {type: canceled | expired}}``
(formats.md §3). Neither carries a time: the joined request is dated by its result file (see
:mod:`analyzer.batches`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import BadRecord
from ..models import BatchPart, RawRecord
from .context import ReadContext

NAME = "anthropic-batch"
DESCRIPTION = ("Anthropic Message Batches request lines (`custom_id`, `params`) and result lines "
               "(`custom_id`, `result.type`), joined on `custom_id`")

_RESULTS = {"succeeded", "errored", "canceled", "expired"}


def detect(data: Any, ctx: ReadContext) -> bool:
    """A Message Batches request line (``params``) or result line (``result.type``)."""
    if not isinstance(data, dict) or not isinstance(data.get("custom_id"), str):
        return False
    if isinstance(data.get("params"), dict):
        return True
    result = data.get("result")
    return isinstance(result, dict) and result.get("type") in _RESULTS


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[BatchPart]:
    """Stage one line as the request half or the result half of a batch request."""
    half = "request" if "params" in record.data else "result"
    yield BatchPart("anthropic", half, record.data["custom_id"], record.data)


def combine(request: dict[str, Any], result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The request/response record that a joined request and result line stand for, and its format's name.

    Raises:
        BadRecord: the request never ran (canceled, or expired before its turn), so nothing was billed.
    """
    outcome = result["result"]
    kind = outcome.get("type")
    if kind == "succeeded":
        response = outcome.get("message")
    elif kind == "errored":
        response = outcome.get("error")  # {"type": "error", "error": {"type", "message"}}, as the API answers
    else:
        raise BadRecord(f"batch request {kind}: it never ran and was not billed")
    return "anthropic-messages", {"request": request["params"], "response": response}
