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
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from ..errors import BadRecord, UnknownFormat
from ..models import BatchPart, Ignored, RawRecord, Request
from ..reading import Position, Reject
from . import (
    anthropic_batch,
    anthropic_messages,
    bedrock,
    gemini,
    helicone,
    langfuse,
    litellm,
    llm_logs,
    openai_batch,
    openai_chat,
    openai_completions,
    openai_responses,
    openpipe,
    otel_genai,
    vcr,
)
from .context import ReadContext

#: What ``parse`` yields: requests, a BadRecord for one part of a composite record that failed, one
#: half of a batch request, staged until its other half is read, or a record with nothing to count.
Parsed = Request | BadRecord | BatchPart | Ignored


@dataclass(frozen=True)
class LogFormat:
    """One log format: its name, what identifies it, and how to read it.

    ``detect(data, ctx)`` says whether a JSON record is of this format; ``parse(record, ctx)``
    yields what it holds. Both take their settings from the :class:`ReadContext`, never globals.
    """

    name: str
    description: str
    detect: Callable[[Any, ReadContext], bool]
    parse: Callable[[RawRecord, ReadContext], Iterator[Parsed]]
    files: OwnFiles | None = None  # set when the format is not JSON and reads its own files


@dataclass(frozen=True)
class OwnFiles:
    """How a format that is not JSON (simonw/llm's SQLite ``logs.db``) reads its own files."""

    owns: Callable[[Path], bool]  # a file read by this format, not as JSON, even when named directly
    finds: Callable[[Path], bool]  # a file to take when walking a directory
    read: Callable[[Path, Position], Iterator[RawRecord | Reject]]  # its records, or a reject per part


class Registry:
    """Log formats in detection order; a container format reaches the others through it."""

    def __init__(self) -> None:
        self._formats: dict[str, LogFormat] = {}

    def register(self, fmt: LogFormat) -> None:
        """Add a format; later registrations are tried after earlier ones."""
        self._formats[fmt.name] = fmt

    def formats(self) -> list[LogFormat]:
        """Every registered format, in detection order."""
        return list(self._formats.values())

    def get(self, name: str) -> LogFormat:
        """The format called ``name``.

        Raises:
            UnknownFormat: no format has that name.
        """
        try:
            return self._formats[name]
        except KeyError:
            raise UnknownFormat(f"unknown format {name!r}; known: {', '.join(self._formats)}") from None

    def detect(self, data: Any, ctx: ReadContext) -> LogFormat | None:
        """The first format, in registration order, that recognises ``data``.

        No shortcut through the previous record's format: openai-chat would also take the Anthropic or
        LiteLLM record that follows a chat record in a mixed file.
        """
        for fmt in self._formats.values():
            if fmt.detect(data, ctx):
                return fmt
        return None

    def owner(self, path: Path) -> LogFormat | None:
        """The format that reads ``path`` itself; None for a JSON log."""
        return next((f for f in self._formats.values() if f.files and f.files.owns(path)), None)

    def claims(self, path: Path) -> bool:
        """Whether a file met walking a directory is a log some format reads itself."""
        return any(f.files and f.files.finds(path) for f in self._formats.values())


#: The built-in formats and any a plugin registers.
REGISTRY = Registry()


def register(fmt: LogFormat) -> None:
    """Add a format to the registry; later registrations are tried after earlier ones."""
    REGISTRY.register(fmt)


def formats() -> list[LogFormat]:
    """Every registered format, in detection order."""
    return REGISTRY.formats()


def get(name: str) -> LogFormat:
    """The registered format called ``name`` (raises UnknownFormat)."""
    return REGISTRY.get(name)


def context(naive_zone: tzinfo = UTC, file_time: datetime | None = None) -> ReadContext:
    """A read context over the registry: the zone of naive times and the file's time."""
    return ReadContext(REGISTRY, naive_zone, file_time)


def owner(path: Path) -> LogFormat | None:
    """The registered format that reads ``path`` itself; None for a JSON log."""
    return REGISTRY.owner(path)


def claims(path: Path) -> bool:
    """Whether a file met walking a directory is a log a registered format reads itself."""
    return REGISTRY.claims(path)


def detect(data: Any, ctx: ReadContext | None = None) -> LogFormat | None:
    """The first registered format that recognises ``data`` (read with default settings unless ``ctx``)."""
    return REGISTRY.detect(data, ctx or context())


def shape(data: Any) -> str:
    """A short description of a record no format recognises, for its reject reason."""
    if isinstance(data, dict):
        keys = ", ".join(list(data)[:6])
        return f"object with keys {keys}" if keys else "empty object"
    return type(data).__name__


# Detection order. Containers first (they hand their insides back to the registry); batch lines,
# whose input lines openai-chat would take for wrapped chat bodies (without their response); then
# the formats whose records also have a `messages` list (LiteLLM payloads, Anthropic), which
# openai-chat would otherwise take for bare chat bodies. Langfuse before openai-responses, which
# would take a lone GENERATION (`model` and `input`). Bedrock's Converse bodies have `messages`
# too; Gemini's `contents` no other format reads. Legacy completions last: only a `prompt` is left.
BUILTINS = (llm_logs, vcr, openai_batch, anthropic_batch, otel_genai, helicone, openpipe, litellm, langfuse,
            bedrock, gemini, anthropic_messages, openai_responses, openai_chat,
            openai_completions)

for _module in BUILTINS:
    _files = OwnFiles(_module.owns, _module.finds, _module.read) if hasattr(_module, "read") else None
    register(LogFormat(_module.NAME, _module.DESCRIPTION, _module.detect, _module.parse, _files))
