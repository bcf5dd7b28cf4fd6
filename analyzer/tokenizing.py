"""Count tokens the way OpenAI bills them, offline.

tiktoken downloads its BPE rank files on first use, which fails on an air-gapped machine. We ship
the two published files (gzipped) in ``analyzer/encodings/``, check each one's sha256 against the
hash tiktoken itself expects, and build the encodings from them with tiktoken's own pattern and
special tokens, so counts are identical to tiktoken's and no download is ever attempted.

The chat overheads and the tool-definition rules are those of the OpenAI cookbook
(``How_to_count_tokens_with_tiktoken``): 3 tokens per message, 1 per ``name``, 3 to prime the reply;
per function ``func_init`` (7 for o200k models, 10 for cl100k models), 3 to open the properties,
3 per property, −3 to open an enum and 3 per enum item, 12 to close the tool list.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from base64 import b64decode
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tiktoken
from tiktoken_ext import openai_public

ENCODINGS_DIR = Path(__file__).parent / "encodings"

# The sha256 tiktoken expects of each rank file (tiktoken_ext/openai_public.py).
EXPECTED_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

# Model name prefixes and their encoding, longest first wins. gpt-4o must be tested before gpt-4.
# gpt-oss is absent on purpose: it uses o200k_harmony, whose chat format we do not ship.
_O200K_PREFIXES = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4")
# Reasoning models bill one token less per request than the cookbook's reply priming of 3: seen on
# every text-only o3-mini and gpt-5 request of the recorded pydantic-ai traffic (9 of 9).
_PRIMED_BY_TWO = ("o1", "o3", "o4", "gpt-5")
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada")
#: Encoding used for models tiktoken has no tokenizer for (Claude, Gemini, Llama…): the cookbook's
#: own fallback. Counts for those models are estimates, flagged as such.
FALLBACK_ENCODING = "o200k_base"

#: Distinct cached texts per counter before the cache is emptied: static prompts come back at once,
#: and the cache of a month of long conversations cannot grow without bound.
CACHE_LIMIT = 200_000
REPLY_PRIMING = 3  # every reply is primed with <|start|>assistant<|message|> (cookbook)
TOOLS_END = 12  # func_end: closes the whole tool list, once per request


def _load_ranks(name: str) -> dict[bytes, int]:
    path = ENCODINGS_DIR / f"{name}.tiktoken.gz"
    data = gzip.decompress(path.read_bytes())
    digest = hashlib.sha256(data).hexdigest()
    if digest != EXPECTED_SHA256[name]:
        raise RuntimeError(f"{path}: sha256 {digest} is not tiktoken's {EXPECTED_SHA256[name]}")
    return {b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}


@functools.cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """Return the named encoding built from the shipped rank files (never downloads)."""
    if name not in EXPECTED_SHA256:
        raise KeyError(f"no shipped encoding {name!r}; shipped: {', '.join(sorted(EXPECTED_SHA256))}")
    ranks = _load_ranks(name)
    # Borrow tiktoken's own constructor (pattern and special tokens) with our ranks, so that a
    # tiktoken upgrade that changes either is followed, and nothing is fetched.
    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = lambda *args, **kwargs: ranks
    try:
        spec = getattr(openai_public, name)()
    finally:
        openai_public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**spec)


def base_model_name(model: str) -> str:
    """Strip provider prefixes and fine-tune wrappers: ``ft:gpt-4o-2024-08-06:org::id`` → ``gpt-4o-2024-08-06``."""
    name = (model or "").strip().lower()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    return name.rsplit("/", 1)[-1]


def encoding_name_for_model(model: str) -> tuple[str, bool]:
    """Return (encoding name, exact) for a model; exact is False when the fallback is used."""
    name = base_model_name(model)
    if name.startswith(_O200K_PREFIXES):
        return "o200k_base", True
    if name.startswith(_CL100K_PREFIXES):
        return "cl100k_base", True
    return FALLBACK_ENCODING, False


@dataclass(frozen=True)
class Rules:
    """The cookbook's per-model overheads."""

    per_message: int = 3
    per_name: int = 1
    func_init: int = 7
    reply_priming: int = REPLY_PRIMING


def rules_for_model(model: str) -> Rules:
    """Chat and tool overheads for a model, per the cookbook."""
    name = base_model_name(model)
    encoding, _ = encoding_name_for_model(model)
    if name.startswith("gpt-3.5-turbo-0301"):
        return Rules(per_message=4, per_name=-1, func_init=10)
    return Rules(func_init=10 if encoding == "cl100k_base" else 7,
                 reply_priming=REPLY_PRIMING - 1 if name.startswith(_PRIMED_BY_TWO) else REPLY_PRIMING)


class Counter:
    """Counts text, messages and tool definitions for one model.

    Static texts repeat across a template's requests, so callers pass ``cache=True`` for them and
    each distinct text is tokenized once; live text is counted directly so the cache stays small.
    """

    def __init__(self, model: str):
        self.model = model
        self.encoding_name, self.exact = encoding_name_for_model(model)
        self.encoding = get_encoding(self.encoding_name)
        self.rules = rules_for_model(model)
        self._cache: dict[str, int] = {}

    def text(self, text: str, cache: bool = False) -> int:
        """Tokens in a plain string; special-token text in logs counts as ordinary text."""
        if not text:
            return 0
        if cache:
            hit = self._cache.get(text)
            if hit is not None:
                return hit
        n = len(self.encoding.encode_ordinary(text))
        if cache:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[text] = n
        return n

    def message(self, message: dict[str, Any], cache: bool = False) -> int:
        """Tokens of one chat message with its overhead (cookbook: every key's value + 3, +1 per name)."""
        n = self.rules.per_message + self.text(str(message.get("role") or ""), cache=True)
        n += self.text(content_text(message.get("content")), cache=cache)
        name = message.get("name")
        if name:
            n += self.text(str(name), cache=True) + self.rules.per_name
        for call in message.get("tool_calls") or ():
            fn = call.get("function") or {}
            n += self.text(str(fn.get("name") or ""), cache=cache) + self.text(str(fn.get("arguments") or ""), cache=cache)
        legacy = message.get("function_call")
        if isinstance(legacy, dict):
            n += self.text(str(legacy.get("name") or ""), cache=cache) + self.text(str(legacy.get("arguments") or ""), cache=cache)
        return n

    def tools(self, tools: list[dict[str, Any]]) -> int:
        """Tokens of a tool list per the cookbook rules, nested object properties included."""
        functions = [t.get("function", t) for t in tools if isinstance(t, dict)]
        if not functions:
            return 0
        n = 0
        for fn in functions:
            n += self.rules.func_init
            n += self.text(f"{fn.get('name', '')}:{_strip_period(fn.get('description') or '')}", cache=True)
            n += self._properties(((fn.get("parameters") or {}).get("properties")) or {})
        return n + TOOLS_END

    def _properties(self, properties: dict[str, Any]) -> int:
        if not properties:
            return 0
        n = 3  # prop_init
        for key, spec in properties.items():
            spec = spec if isinstance(spec, dict) else {}
            n += 3  # prop_key
            if "enum" in spec:
                n += -3 + sum(3 + self.text(str(item), cache=True) for item in spec["enum"])
            kind = spec.get("type", "")
            kind = "|".join(kind) if isinstance(kind, list) else kind
            n += self.text(f"{key}:{kind}:{_strip_period(spec.get('description') or '')}", cache=True)
            # The cookbook stops at the top level; nested objects are counted the same way (an estimate).
            n += self._properties(spec.get("properties") or (spec.get("items") or {}).get("properties") or {})
        return n

    def response_format(self, response_format: dict[str, Any] | None) -> int:
        """Tokens of a ``json_schema`` response format: its compact JSON text (an estimate)."""
        if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
            return 0
        schema = response_format.get("json_schema") or {}
        return self.text(json.dumps(schema, separators=(",", ":"), sort_keys=True), cache=True)


def content_text(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a list joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if text is None and part.get("type") == "refusal":
                    text = part.get("refusal")
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return json.dumps(content, separators=(",", ":"))


def _strip_period(text: str) -> str:
    return text[:-1] if text.endswith(".") else text
