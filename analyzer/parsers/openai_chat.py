"""OpenAI Chat Completions: a request body with ``messages`` and, usually, its ``chat.completion``.

Accepted in the wrappers of formats.md §1 and §9: ``{request, response}`` and its spellings,
OpenPipe's ``reqPayload``/``respPayload``, recorded HTTP exchanges, or a bare request body (as
``crossover count`` reads). ``prompt_tokens`` includes cached tokens; ``completion_tokens``
includes reasoning tokens; an ``{"error": …}`` body is kept as a failed request. A streamed call,
logged as its chunks or as SSE text, is first rebuilt into the ``chat.completion`` it stands for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import BadRecord
from ..models import RawRecord, Request
from . import streams
from .common import (
    as_int,
    content_id,
    header,
    number,
    sample_rate,
    service_tier,
)
from .context import ReadContext

NAME = "openai-chat"
DESCRIPTION = (
    "OpenAI Chat Completions: a request with `messages` (bare, or wrapped as request/response, "
    "reqPayload/respPayload or a recorded HTTP exchange) and its `chat.completion` response"
)


def detect(data: Any, ctx: ReadContext) -> bool:
    """A record whose request is a Chat Completions body."""
    exchange = ctx.unwrap(data)
    if exchange is None or not isinstance(exchange.request, dict):
        return False
    if exchange.url and "/chat/completions" not in exchange.url:
        return False
    return isinstance(exchange.request.get("messages"), list)


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Request]:
    """Turn one record into a :class:`Request`.

    Raises:
        BadRecord: the record lacks what a request needs (model, time, well-formed messages).
    """
    exchange = ctx.unwrap(record.data)
    if exchange is None:
        raise BadRecord("no Chat Completions request in record")
    # Chunks (a list, or SSE text as VCR keeps it: formats.md §1, §9) merged into one completion,
    # read below like a plain one.
    exchange = streams.resolved(exchange, streams.chat_completion)
    body = exchange.request
    response = exchange.response if isinstance(exchange.response, dict) else None
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
        raise BadRecord("`messages` is not a list of messages with a role")
    # Azure names no model in the body: the URL names the deployment, the response the model.
    model = (response or {}).get("model") or body.get("model") or deployment(exchange.url)
    if not model:
        raise BadRecord("no model in request or response")
    tools = list(body.get("tools") or [])
    tools += [{"type": "function", "function": f} for f in body.get("functions") or []]
    request = Request(
        model=str(model),
        requested_model=body.get("model") or deployment(exchange.url) or None,
        messages=messages,
        tools=[t for t in tools if isinstance(t, dict)],
        response_format=body.get("response_format") if isinstance(body.get("response_format"), dict) else None,
        timestamp=exchange.time(ctx.naive_zone),
        user=body.get("user") or body.get("safety_identifier"),
        sample_rate=sample_rate(exchange.wrapper),
        latency_ms=number(exchange.wrapper.get("latency_ms") or exchange.wrapper.get("durationMs"))
        or number(header(exchange.response_headers, "openai-processing-ms")),
    )
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    request.session_id = metadata.get("session_id") or exchange.wrapper.get("session_id")
    if response is not None:
        _read_response(request, response)
    elif exchange.status_code and exchange.status_code >= 400:
        request.status, request.error = "error", f"HTTP {exchange.status_code}"
    request.request_id = (
        (response or {}).get("id")
        or header(exchange.response_headers, "x-request-id")
        or content_id(body, response)
    )
    yield request


def deployment(url: str | None) -> str:
    """The deployment an Azure OpenAI URL names (``…/openai/deployments/{name}/chat/completions``), else ""."""
    if not url or "/deployments/" not in url:
        return ""
    return url.split("/deployments/", 1)[1].split("/", 1)[0]


def _read_response(request: Request, response: dict[str, Any]) -> None:
    error = response.get("error")
    # An error body has no choices; a stream cut by an error has both: failed, with what it said.
    if error or ("error" in response and not response.get("choices")):
        request.status = "error"
        request.error = error.get("message") if isinstance(error, dict) else str(error)
        if not response.get("choices"):
            return
    choices = response.get("choices") or []
    if choices and isinstance(choices[0], dict):
        request.output = choices[0].get("message") or {}
    request.service_tier = service_tier(response.get("service_tier"))
    usage = response.get("usage")
    if isinstance(usage, dict):
        request.raw_usage = usage
        request.reported_prompt_tokens = as_int(usage.get("prompt_tokens"))
        request.reported_output_tokens = as_int(usage.get("completion_tokens"))
        details = usage.get("prompt_tokens_details") or {}
        # Mistral reports its cache reads as a top-level num_cached_tokens, inside prompt_tokens.
        request.reported_cached_tokens = as_int(details.get("cached_tokens", usage.get("num_cached_tokens")))
        request.reported_cache_write_tokens = as_int(details.get("cache_write_tokens"))  # newer models only
        request.reported_reasoning_tokens = as_int(
            (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
        )
        # Gemini's OpenAI-compatible endpoint leaves its thinking out of completion_tokens; it shows
        # only in total_tokens. The gap is billed output, and it is reasoning.
        total = as_int(usage.get("total_tokens"))
        if None not in (total, request.reported_prompt_tokens, request.reported_output_tokens):
            hidden = total - request.reported_prompt_tokens - request.reported_output_tokens
            if hidden > 0 and not request.reported_reasoning_tokens:
                request.reported_output_tokens += hidden
                request.reported_reasoning_tokens = hidden
