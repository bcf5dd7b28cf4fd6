"""Legacy OpenAI Completions (``/v1/completions``): a ``prompt`` and its ``text_completion``.

Still what vLLM and other OpenAI-compatible servers serve, and what older fine-tuned models
(``davinci-002``, ``babbage-002``, ``gpt-3.5-turbo-instruct``) take. ``prompt`` is one string or a
list of strings, each a prompt of its own whose choices and usage the response sums; a prompt sent
as token ids is rejected with that reason, since its text cannot be segmented. Each prompt becomes
one user message; a completion model bills the text alone, which :mod:`analyzer.tokenizing`'s rules
for those models say. The output is the choices' texts, joined. A streamed call is rebuilt from its
chunks, which carry ``choices[].text`` pieces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import BadRecord
from ..models import RawRecord, Request
from . import streams
from .common import Exchange, as_int, content_id, header, number, sample_rate
from .context import ReadContext
from .openai_chat import deployment

NAME = "openai-completions"
DESCRIPTION = ("OpenAI legacy Completions (`/v1/completions`, vLLM and compatible servers): a request with "
               "`prompt` (string or list) and its `text_completion` response, bare, wrapped or recorded")

# The request parameters of /v1/completions (OpenAI's reference, and vLLM's extras).
_PARAMETERS = frozenset({
    "model", "prompt", "suffix", "max_tokens", "temperature", "top_p", "n", "stream", "stream_options", "logprobs",
    "echo", "stop", "presence_penalty", "frequency_penalty", "best_of", "logit_bias", "user", "seed",
    "top_k", "min_p", "repetition_penalty", "use_beam_search", "ignore_eos", "skip_special_tokens",
})


def detect(data: Any, ctx: ReadContext) -> bool:
    """A Completions call: by its URL, by a ``text_completion`` response, or a body with a ``prompt`` \
and no messages."""
    exchange = ctx.unwrap(data) or _bare(data)
    if exchange is None or not isinstance(exchange.request, dict):
        return False
    url = exchange.url or ""
    if url:
        return url.split("?")[0].endswith("/completions") and "/chat/completions" not in url
    body, response = exchange.request, exchange.response
    if isinstance(response, dict) and response.get("object") == "text_completion":
        return True
    # Other records have a `prompt` and a `model` too (llm's logs.db rows, Anthropic's legacy
    # /v1/complete): a body is a Completions request only when every field is one of its parameters.
    return "prompt" in body and "model" in body and body.keys() <= _PARAMETERS


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Request]:
    """Turn one record into a :class:`Request`.

    Raises:
        BadRecord: the record lacks what a request needs (model, a text prompt).
    """
    exchange = ctx.unwrap(record.data) or _bare(record.data)
    if exchange is None or not isinstance(exchange.request, dict):
        raise BadRecord("no Completions request in record")
    body = exchange.request
    response = _response(exchange.response)
    model = (response or {}).get("model") or body.get("model") or deployment(exchange.url)
    if not model:
        raise BadRecord("no model in request or response")
    request = Request(
        model=str(model),
        requested_model=body.get("model") or deployment(exchange.url) or None,
        messages=[{"role": "user", "content": text} for text in _prompts(body.get("prompt"))],
        timestamp=exchange.time(ctx.naive_zone),
        user=body.get("user"),
        session_id=exchange.wrapper.get("session_id"),
        sample_rate=sample_rate(exchange.wrapper),
        latency_ms=number(exchange.wrapper.get("latency_ms") or exchange.wrapper.get("durationMs")),
    )
    if response is not None:
        _read_response(request, response)
    if exchange.status_code and exchange.status_code >= 400 and request.status != "error":
        request.status, request.error = "error", f"HTTP {exchange.status_code}"
    request.request_id = ((response or {}).get("id") or header(exchange.response_headers, "x-request-id")
                          or content_id(body, response))
    yield request


def _bare(data: Any) -> Exchange | None:
    # A bare body has no wrapper for unwrap to find, and no `messages` that would make it a chat body.
    return Exchange(data, None, None) if isinstance(data, dict) and "prompt" in data else None


def _prompts(prompt: Any) -> list[str]:
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        return prompt
    if isinstance(prompt, list) and prompt and all(isinstance(p, int | list) for p in prompt):
        raise BadRecord("prompt sent as token ids: no text to segment")
    raise BadRecord("`prompt` is neither a string nor a list of strings")


def _response(body: Any) -> dict[str, Any] | None:
    chunks = streams.events(body) if not isinstance(body, dict) else None
    if chunks:
        return _merged(chunks)
    return body if isinstance(body, dict) else None


def _merged(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Streamed ``text_completion`` chunks as one response: each choice's text pieces joined, the last usage."""
    merged: dict[str, Any] = {"object": "text_completion"}
    texts: dict[int, list[str]] = {}
    for chunk in chunks:
        for key in ("id", "model", "created"):
            if merged.get(key) in (None, "") and chunk.get(key) not in (None, ""):
                merged[key] = chunk[key]
        if isinstance(chunk.get("usage"), dict):
            merged["usage"] = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if isinstance(choice, dict):
                texts.setdefault(streams.as_index(choice.get("index")), []).append(str(choice.get("text") or ""))
    merged["choices"] = [{"index": i, "text": "".join(texts[i])} for i in sorted(texts)]
    return merged


def _read_response(request: Request, response: dict[str, Any]) -> None:
    error = response.get("error")
    if error:
        request.status = "error"
        request.error = str(error.get("message") if isinstance(error, dict) else error)
        return
    choices = [c for c in response.get("choices") or [] if isinstance(c, dict)]
    if choices:
        request.output = {"role": "assistant", "content": "".join(str(c.get("text") or "") for c in choices)}
    usage = response.get("usage")
    if isinstance(usage, dict):
        request.raw_usage = usage
        request.reported_prompt_tokens = as_int(usage.get("prompt_tokens"))
        request.reported_output_tokens = as_int(usage.get("completion_tokens"))
        details = usage.get("prompt_tokens_details") if isinstance(usage.get("prompt_tokens_details"), dict) else {}
        request.reported_cached_tokens = as_int(details.get("cached_tokens"))
