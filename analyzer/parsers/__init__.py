"""The registry of log formats: each format is one module with NAME, DESCRIPTION, detect and parse.

Built-in formats register through the same :func:`register` call a plugin would use. Detection is
per record (files mix shapes more often than one would hope) and always in registration order: the
first format that recognises a record reads it. Order matters, because some shapes contain others
(a LiteLLM payload or an Anthropic request also has a ``messages`` list that openai-chat would take
for a bare chat body), so containers and the more specific formats come first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import BadRecord, UnknownFormat
from ..models import BatchPart, RawRecord, Request

#: What ``parse`` yields: requests, a BadRecord for one part of a composite record that failed, or
#: one half of a batch request, staged until its other half is read.
Parsed = Request | BadRecord | BatchPart


@dataclass(frozen=True)
class LogFormat:
    """One log format: its name, what identifies it, and how to read it."""

    name: str
    description: str
    detect: Callable[[Any], bool]
    parse: Callable[[RawRecord], Iterator[Parsed]]


_REGISTRY: dict[str, LogFormat] = {}


def register(fmt: LogFormat) -> None:
    """Add a format; later registrations are tried after earlier ones."""
    _REGISTRY[fmt.name] = fmt


def formats() -> list[LogFormat]:
    """Every registered format, in detection order."""
    return list(_REGISTRY.values())


def get(name: str) -> LogFormat:
    """The format called ``name``.

    Raises:
        UnknownFormat: no format has that name.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownFormat(f"unknown format {name!r}; known: {', '.join(_REGISTRY)}") from None


def detect(data: Any) -> LogFormat | None:
    """The first format, in registration order, that recognises ``data``.

    No shortcut through the previous record's format: openai-chat would also take the Anthropic or
    LiteLLM record that follows a chat record in a mixed file.
    """
    for fmt in _REGISTRY.values():
        if fmt.detect(data):
            return fmt
    return None


def parse_inner(record: RawRecord, data: Any, container: str, what: str) -> Iterator[Parsed]:
    """Parse what a container record (a cassette interaction, an export row) holds, by its own format.

    Each request is stored as what it is, not as the container; ``what`` names the inner part in
    the reject when no format reads it.

    Raises:
        BadRecord: no format other than the container's reads ``data``.
    """
    fmt = detect(data)
    if fmt is None or fmt.name == container:
        raise BadRecord(f"no supported format for {what}")
    for item in fmt.parse(RawRecord(record.path, record.line, data)):
        if isinstance(item, Request):
            item.format = item.format or fmt.name
        yield item


def shape(data: Any) -> str:
    """A short description of a record no format recognises, for its reject reason."""
    if isinstance(data, dict):
        keys = ", ".join(list(data)[:6])
        return f"object with keys {keys}" if keys else "empty object"
    return type(data).__name__


def _register_builtins() -> None:
    # Imported here so that each module can import this one for `register` and `LogFormat`.
    from . import (
        anthropic_batch,
        anthropic_messages,
        helicone,
        langfuse,
        litellm,
        llm_logs,
        openai_batch,
        openai_chat,
        openai_responses,
        openpipe,
        otel_genai,
        vcr,
    )

    # Containers first (they hand their insides back to the registry); batch lines, whose input lines
    # openai-chat would take for wrapped chat bodies (without their response); then the formats whose
    # records also have a `messages` list (LiteLLM payloads, Anthropic), which openai-chat would
    # otherwise take for bare chat bodies.
    # Langfuse before openai-responses, which would take a lone GENERATION (`model` and `input`).
    for module in (llm_logs, vcr, openai_batch, anthropic_batch, otel_genai, helicone, openpipe, litellm, langfuse, anthropic_messages,
                   openai_responses, openai_chat):
        register(LogFormat(module.NAME, module.DESCRIPTION, module.detect, module.parse))


_register_builtins()
