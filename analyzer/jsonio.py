"""Decode JSON fast, with the standard library's answer wherever the fast decoder declines.

orjson parses log lines about twice as fast as ``json``, but refuses what ``json`` accepts (NaN and
Infinity, integers beyond 64 bits, lone surrogate escapes). Those lines are rare, so they are handed
to ``json``, and a record reads the same whichever decoder took it.

On that rare path two things no column or tokenizer can take are settled here, once: nesting too
deep to walk (over about a thousand levels) is a ``ValueError`` like any malformed JSON, and a lone
surrogate escape (``"\\ud800"``, half of a pair a logger cut) becomes U+FFFD, the replacement
character, so the text can still be stored and counted (one character off, not a lost request).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson


def loads(data: bytes | str) -> Any:
    """The JSON value in ``data``.

    Raises:
        UnicodeDecodeError: bytes that are not UTF-8.
        ValueError: not JSON (``json.JSONDecodeError``).
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        value = json.loads(data)
        escaped = _SURROGATE_ESCAPE if isinstance(data, str) else _SURROGATE_ESCAPE_BYTES
        return _without_surrogates(value) if escaped.search(data) else value
    except RecursionError:
        raise ValueError("nested too deeply") from None


#: A surrogate escape in the JSON text: only then can the decoded value hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\[uU][dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\\ud800-\\udfff]")


def _without_surrogates(value: Any) -> Any:
    """``value`` with each lone surrogate in its strings (keys included) replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    return value


_DECODER = json.JSONDecoder()


def decode_at(text: str, index: int) -> tuple[Any, int]:
    """The JSON value that starts at ``text[index]`` and the index after it (a document read piece by piece).

    Same policy as :func:`loads`: too deep is a ``ValueError``, lone surrogates become U+FFFD.

    Raises:
        ValueError: no complete JSON value starts there (``json.JSONDecodeError``), or one nested too deeply.
    """
    try:
        value, end = _DECODER.raw_decode(text, index)
        if "\\" in text[index:end] and _SURROGATE_ESCAPE.search(text, index, end):
            value = _without_surrogates(value)
        return value, end
    except RecursionError:
        raise ValueError("nested too deeply") from None


#: The decoders' messages, in a reader's terms: (start of the message, what it means in a log line).
MEANINGS = (
    ("Extra data", "more than one JSON value on the line (two records run together, or text after one)"),
    ("Invalid control character", "a raw control character (tab, newline) inside a string: the logger did not "
                                  "escape it"),
    ("Unterminated string", "a string never closed: the line was cut short"),
    ("Expecting value", "not JSON where a value should start (cut short, or not a JSON line at all)"),
    ("Expecting property name", "an object key is missing or not in double quotes"),
    ("Expecting ',' delimiter", "a comma is missing between two values, or the line was cut short"),
    ("Expecting ':' delimiter", "a colon is missing after an object key"),
)
COLUMN = re.compile(r"column (\d+)")


def explain(exc: ValueError) -> str:
    """What a JSON decoding error means for a log line, in the user's terms, with the column it happened at."""
    message = str(exc)
    # Our own messages ("nested too deeply") are already in the user's terms.
    meaning = next((words for start, words in MEANINGS if message.startswith(start)), None)
    if meaning is None:
        return f"malformed JSON: {message}"
    column = COLUMN.search(message)
    return f"malformed JSON: {meaning}" + (f", at character {int(column.group(1)):,}" if column else "")
