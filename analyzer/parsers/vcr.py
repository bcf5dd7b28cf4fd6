"""VCR cassettes (pydantic-ai, openllmetry, langchain tests) as JSON: ``{"interactions": [...]}``.

Each interaction is a recorded HTTP exchange; it is handed back to the registry, so a cassette
yields requests of whatever formats its interactions hold. An interaction no format reads (a file
upload, a provider not supported yet) becomes a reject of its own, and the rest are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import BadRecord
from ..models import RawRecord
from .context import ReadContext

NAME = "vcr-cassette"
DESCRIPTION = "VCR cassette converted to JSON: `interactions` of recorded HTTP request/response pairs"


def detect(data: Any, ctx: ReadContext) -> bool:
    """A record with a list of ``interactions``."""
    return isinstance(data, dict) and isinstance(data.get("interactions"), list)


def parse(record: RawRecord, ctx: ReadContext) -> Iterator[Any]:
    """Yield the requests of every interaction, or a BadRecord for each one that cannot be read."""
    for number, interaction in enumerate(record.data["interactions"], start=1):
        if not isinstance(interaction, dict):
            yield BadRecord(f"interaction {number}: not an object")
            continue
        uri = (interaction.get("request") or {}).get("uri", "?")
        try:
            for item in ctx.parse_inner(record, interaction, NAME, str(uri)):
                yield BadRecord(f"interaction {number}: {item.reason}") if isinstance(item, BadRecord) else item
        except BadRecord as exc:
            yield BadRecord(f"interaction {number}: {exc.reason}")
