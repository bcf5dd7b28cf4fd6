"""OpenAI Batch API files: input lines and output lines, staged apart and joined on ``custom_id``.

An input line holds a Chat Completions or Responses request (``{custom_id, method, url, body}``);
an output line holds its response (``{id: batch_req_…, custom_id, response: {status_code, body} |
null, error}``). They live in different files, in no common order (formats.md §3), so each line is
staged as one half of a request; :mod:`analyzer.batches` joins the halves once both have been read
and hands the pair back here (:func:`combine`) to be read as the request it stands for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from ..errors import BadRecord
from ..models import BatchPart, RawRecord
from .context import ReadContext

NAME = "openai-batch"
DESCRIPTION = ("OpenAI Batch API input lines (`custom_id`, `method`, `url`, `body`) and output lines "
               "(`batch_req_…` id, `custom_id`, `response`/`error`), joined on `custom_id`")

#: The endpoints whose requests are read, and the format that reads each once joined.
ENDPOINTS = {"/v1/chat/completions": "openai-chat", "/v1/responses": "openai-responses"}
_RESPONSE_OBJECTS = {"chat.completion", "response"}


def detect(data: Any, ctx: ReadContext) -> bool:
    """A batch input line (a request ``body`` and its ``url``) or output line (``response``/``error``)."""
    if not isinstance(data, dict) or not isinstance(data.get("custom_id"), str):
        return False
    if isinstance(data.get("body"), dict) and isinstance(data.get("url"), str):
        return True
    return "response" in data and "error" in data


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[BatchPart]:
    """Stage one line as the request half or the result half of a batch request.

    Raises:
        BadRecord: a line for an endpoint whose requests are not prompts (embeddings, moderations…).
    """
    data = record.data
    custom_id = data["custom_id"]
    if "body" in data:
        path = urlparse(data["url"]).path.rstrip("/")
        if path not in ENDPOINTS:
            raise BadRecord(f"batch request for {data['url']}: only chat completions and responses are analysed")
        yield BatchPart("openai", "request", custom_id, data)
        return
    body = (data.get("response") or {}).get("body") if isinstance(data.get("response"), dict) else None
    if isinstance(body, dict) and body.get("object") not in _RESPONSE_OBJECTS and "error" not in body:
        raise BadRecord(f"batch result of a {body.get('object')!r}: only chat completions and responses are analysed")
    yield BatchPart("openai", "result", custom_id, data)


def combine(request: dict[str, Any], result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The request/response record that a joined input and output line stand for, and its format's name."""
    response = result.get("response") if isinstance(result.get("response"), dict) else {}
    body = response.get("body")
    if not isinstance(body, dict) and result.get("error"):
        body = {"error": result["error"]}  # the batch refused the line: a failed request
    record = {"request": request["body"], "response": body, "batch_request_id": result.get("id")}
    return ENDPOINTS[urlparse(request["url"]).path.rstrip("/")], record
