"""The plain data that flows between the steps: raw records in, parsed requests out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: The segment kinds of DESIGN.md, in report order. Prompt kinds add up to the counted prompt tokens.
PROMPT_KINDS = ("system", "fewshot", "tools", "history", "input")
SEGMENT_KINDS = (*PROMPT_KINDS, "output")


@dataclass(frozen=True)
class RawRecord:
    """One JSON value read from a log file, with where it came from."""

    path: str
    line: int
    data: Any


@dataclass
class Request:
    """One logged call to a model, in the provider-neutral shape the segmenter reads."""

    model: str
    messages: list[dict[str, Any]]
    timestamp: datetime | None = None
    request_id: str | None = None
    requested_model: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    response_format: dict[str, Any] | None = None
    output: dict[str, Any] | None = None  # the assistant message returned
    status: str = "ok"
    error: str | None = None
    reported_prompt_tokens: int | None = None  # all input tokens, cache reads and writes included
    reported_cached_tokens: int | None = None  # input tokens read from the provider's cache
    reported_cache_write_tokens: int | None = None  # input tokens written to the cache (Anthropic)
    reported_output_tokens: int | None = None
    reported_reasoning_tokens: int | None = None
    raw_usage: dict[str, Any] | None = None
    sample_rate: float | None = None
    user: str | None = None
    session_id: str | None = None
    latency_ms: float | None = None
    format: str | None = None  # set by a composite format (a cassette) to the format of this request
    service_tier: str | None = None  # standard | batch | flex | priority, when the log shows it
    prompt_id: str | None = None  # a provider-managed prompt template (Responses prompt.id, Langfuse promptName…)
    prompt_version: str | None = None
    tool_choice: str | None = None  # auto | any | tool | none, as Anthropic names them, when the request set one
    api: str | None = None  # "responses" for an OpenAI Responses call, whose tool block is billed apart


@dataclass(frozen=True)
class Ignored:
    """A record that is read but has nothing to count, and why: a framework's event span repeating a
    call stored from its own span (no prompt, no reply, no usage). Counted in its file, never a reject."""

    reason: str


@dataclass(frozen=True)
class BatchPart:
    """One half of a batch request: its request line or its result line, joined later on ``custom_id``.

    Batch input and output are separate files whose lines arrive in no particular order, so neither
    half is a request on its own; both are staged until the other half has been read.
    """

    provider: str  # openai | anthropic
    half: str  # request | result
    custom_id: str
    data: dict[str, Any]


@dataclass
class CountResult:
    """The segment breakdown of one request."""

    model: str
    encoding: str
    exact: bool
    prompt_tokens: int
    segments: dict[str, int]
    output_tokens: int
    reported_prompt_tokens: int | None
    warnings: list[Caution] = field(default_factory=list)  # where the report's breakdown may differ

    def breakdown(self) -> list[tuple[str, int]]:
        """The lines of the breakdown every format prints: each segment, the prompt, what was reported, the output."""
        lines = [*self.segments.items(), ("prompt", self.prompt_tokens)]
        if self.reported_prompt_tokens is not None:
            lines.append(("reported", self.reported_prompt_tokens))
        return [*lines, ("output", self.output_tokens)]

    def as_dict(self) -> dict[str, Any]:
        """The contract's JSON object (plus whether the tokenizer is the model's own)."""
        return {"model": self.model, "encoding": self.encoding, "prompt_tokens": self.prompt_tokens,
                "segments": self.segments, "output_tokens": self.output_tokens, "exact_tokenizer": self.exact,
                "reported_prompt_tokens": self.reported_prompt_tokens,
                "warnings": [w.text for w in self.warnings], "warning_codes": [w.as_dict() for w in self.warnings]}


@dataclass(frozen=True)
class Caution:
    """A warning about weak input, with a stable ``code`` a program can act on (:mod:`analyzer.weak_inputs`)."""

    code: str
    text: str

    def as_dict(self) -> dict[str, str]:
        """``{"code", "text"}``, as the JSON carries it."""
        return {"code": self.code, "text": self.text}
