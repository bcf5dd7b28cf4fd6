"""Count tokens the way OpenAI bills them, offline.

tiktoken downloads its BPE rank files on first use, which fails on an air-gapped machine. We ship
the two published files (gzipped) in ``analyzer/encodings/``, check each one's sha256 against the
hash tiktoken itself expects, and build the encodings from them with tiktoken's own pattern and
special tokens, so counts are identical to tiktoken's and no download is ever attempted.

The chat overheads are those of the OpenAI cookbook (``How_to_count_tokens_with_tiktoken``): 3 tokens
per message, 1 per ``name``, 3 to prime the reply. Tool definitions are counted as the model reads
them: rendered into a TypeScript ``namespace functions`` block (see :func:`render_functions`), which
reproduces the cookbook's own API figures for its tool example exactly and 4 of the 7 tool setups
of recorded traffic (the other 3 within one token), where the cookbook's per-property estimate was
off by 1 to 5 tokens on all 7. Where recorded traffic showed another rule (reasoning models'
priming, search-preview models, tool results), the rule says so, with its evidence.
"""

from __future__ import annotations

import ctypes
import functools
import gzip
import hashlib
import json
from binascii import a2b_base64
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
# Search-preview models bill the texts of the messages only: no per-message overhead, no role, no
# reply priming. Every recorded text-only request agrees: the two of the pydantic-ai traffic (11 and
# 12 billed = 6+5 and 6+6 content tokens, where the cookbook counts 22 and 23) and the one OpenAI
# published in a public API guide (system 16 + user 10 tokens, 26 billed). All three have two
# messages, so "no overheads" and "11 less per request" cannot be told apart yet; the first is what
# the size of the gap (two messages' 3+1 and the priming 3) says.
_CONTENT_ONLY = ("gpt-4o-search-preview", "gpt-4o-mini-search-preview")
# Gemini bills the texts only: the recorded text-only requests of the pydantic-ai traffic match the
# content's count with no per-message, role or priming tokens, and a response schema, which steers
# decoding rather than joining the prompt, adds nothing to promptTokenCount (13 structured-output
# requests billed 7-26 tokens where their schemas alone are 41-202).
_GEMINI = ("gemini", "gemma")
_CL100K_PREFIXES = ("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada", "davinci-002", "babbage-002")
# Completion models (/v1/completions) read the prompt as it is: no messages, roles or priming.
_COMPLETION_ONLY = ("gpt-3.5-turbo-instruct", "davinci-002", "babbage-002", "text-davinci", "text-curie",
                    "text-babbage", "text-ada")
#: Encoding used for models tiktoken has no tokenizer for (Claude, Gemini, Llama…): the cookbook's
#: own fallback. Counts for those models are estimates, flagged as such.
FALLBACK_ENCODING = "o200k_base"

#: Distinct cached texts per counter before the cache is emptied: static prompts come back at once,
#: and the cache of a month of long conversations cannot grow without bound.
CACHE_LIMIT = 200_000
REPLY_PRIMING = 3  # every reply is primed with <|start|>assistant<|message|> (cookbook)
# The tool definitions join the request's system message under a "# Tools" heading: the rendered
# namespace plus 5 tokens. With no system or developer message they make a system message of their
# own, 4 tokens more (3 per message, 1 for the role). Fitted on the cookbook's tool example (system
# message present; 101 billed on gpt-4o, 105 on gpt-4 and gpt-3.5-turbo: all three exact) and on
# the 7 distinct tool setups (tool list, system message or not) of the recorded pydantic-ai
# requests on gpt-4o, gpt-4o-mini and gpt-4.1-mini: 4 exact (3 without a system message, 1 with),
# the other 3 one token over (each has properties without a description: not understood yet).
TOOLS_IN_SYSTEM = 5
TOOLS_OWN_MESSAGE = 4
# The Responses API bills the same tool block less on gpt-4o and gpt-4.1: 2 tokens with a system
# message (instructions), 6 without. Every recorded text-only Responses request with function tools
# on those models shows it against the Chat count of the same tools (pydantic-ai traffic: 6, 7, 7,
# 6, 7 without instructions, 2 and 2 with; the two structured-output cases 6 and 6 once their schema
# is counted by :func:`render_response_format`). Reasoning models (gpt-5, o-series) bill the Chat
# count there (within 3 tokens on 9 requests): no saving.
RESPONSES_TOOLS_SAVING = (2, 6)  # (with a system message, without)
# A tool result costs 8 tokens more than the cookbook's per-message count of a "tool" message with
# its content (the tool_call_id is not billed). The recorded pydantic-ai requests show the cost of
# one call and its result together: each such pair adds 8 in 8 of 9 cases (7 in the last, on
# gpt-4.1-mini), whatever the length of the call id. The API refuses a tool call without its
# result, so the pair cost is booked on the result.
TOOL_RESULT = 8


def _load_ranks(name: str) -> dict[bytes, int]:
    path = ENCODINGS_DIR / f"{name}.tiktoken.gz"
    data = gzip.decompress(path.read_bytes())
    digest = hashlib.sha256(data).hexdigest()
    if digest != EXPECTED_SHA256[name]:
        raise RuntimeError(f"{path}: sha256 {digest} is not tiktoken's {EXPECTED_SHA256[name]}")
    # binascii's decoder straight, not base64.b64decode's per-call checks: 200,000 tokens are decoded
    # in every process that counts (0.22 s here, against 0.31 s; the encoder's own build is 0.3 s more).
    fields = data.split()  # "token rank" lines: tokens at even places, ranks at odd ones
    return dict(zip(map(a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True))


@functools.cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """Return the named encoding built from the shipped rank files (never downloads)."""
    if name not in EXPECTED_SHA256:
        raise KeyError(f"no shipped encoding {name!r}; shipped: {', '.join(sorted(EXPECTED_SHA256))}")
    encoding = _build(name)
    # The encoder keeps the Python dict of ranks only to be pickled; its Rust core has its own copy.
    # Dropped, it frees about 40 MB in every process that counts (ingest runs one per core), and
    # an Encoding of ours is never pickled: a worker process builds its own.
    encoding._mergeable_ranks = {}
    _release_freed_memory()
    return encoding


def _build(name: str) -> tiktoken.Encoding:
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


def _release_freed_memory() -> None:
    """Hand memory freed by Python back to the system (glibc keeps it in its arenas otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows): nothing to hand back
        pass


def base_model_name(model: str) -> str:
    """Strip provider prefixes and fine-tune wrappers: ``ft:gpt-4o-2024-08-06:org::id`` → ``gpt-4o-2024-08-06``;
    Azure's ``gpt-35-turbo`` → ``gpt-3.5-turbo``."""
    name = (model or "").strip().lower()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    name = name.rsplit("/", 1)[-1]
    # Azure names models without the dot a deployment name cannot hold: gpt-35-turbo is gpt-3.5-turbo.
    return "gpt-3.5" + name[6:] if name.startswith("gpt-35") else name


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
    reply_priming: int = REPLY_PRIMING
    per_role: bool = True  # the role's own tokens are billed
    per_tool_result: int = TOOL_RESULT
    schema_in_prompt: bool = True  # a json_schema response format is billed as prompt tokens
    tool_system: tuple[int, int] = (0, 0)  # the provider's tool-use system prompt: (tool_choice auto/none, any/tool)
    responses_tools_saving: tuple[int, int] = (0, 0)  # Responses API's cheaper tool block: (system, none)


# Anthropic adds a system prompt of its own to a request with tools (docs.anthropic.com, "Tool use
# pricing and tokens"): its size depends on the model and on tool_choice. Claude 3's are published
# per model; the later models share one size. The recorded custom-tool requests of the pydantic-ai
# traffic on Claude 4 / 4.5 models bill 295-367 tokens beyond the rest of their count.
_CLAUDE_TOOL_SYSTEM = (("claude-3-opus", (530, 281)), ("claude-3-sonnet", (159, 235)), ("claude-3-haiku", (264, 340)),
                       ("claude-3-5-haiku", (264, 340)))
_CLAUDE_TOOL_SYSTEM_LATER = (346, 313)


def _claude_tool_system(name: str) -> tuple[int, int]:
    model = name[name.index("claude"):]
    return next((sizes for prefix, sizes in _CLAUDE_TOOL_SYSTEM if model.startswith(prefix)), _CLAUDE_TOOL_SYSTEM_LATER)


def rules_for_model(model: str) -> Rules:
    """Chat and tool overheads for a model, per the cookbook and the recorded traffic."""
    name = base_model_name(model)
    if name.startswith("gpt-3.5-turbo-0301"):
        return Rules(per_message=4, per_name=-1)
    if name.startswith(_CONTENT_ONLY + _COMPLETION_ONLY):
        return Rules(per_message=0, per_name=0, reply_priming=0, per_role=False)
    if "claude" in name:  # claude-…, and Bedrock's (us.)anthropic.claude-…
        return Rules(tool_system=_claude_tool_system(name))
    if name.startswith(_GEMINI):
        return Rules(per_message=0, per_name=0, reply_priming=0, per_role=False, per_tool_result=0,
                     schema_in_prompt=False)
    if name.startswith(_PRIMED_BY_TWO):
        return Rules(reply_priming=REPLY_PRIMING - 1)
    return Rules(responses_tools_saving=RESPONSES_TOOLS_SAVING if name.startswith(("gpt-4o", "gpt-4.1")) else (0, 0))


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
        role = str(message.get("role") or "")
        n = self.rules.per_message + (self.text(role, cache=True) if self.rules.per_role else 0)
        if role == "tool":
            n += self.rules.per_tool_result
        n += self.text(content_text(message.get("content")), cache=cache)
        name = message.get("name")
        if name:
            n += self.text(str(name), cache=True) + self.rules.per_name
        for call in message.get("tool_calls") or ():
            fn = call.get("function") or {}
            n += (self.text(str(fn.get("name") or ""), cache=cache)
                  + self.text(str(fn.get("arguments") or ""), cache=cache))
        legacy = message.get("function_call")
        if isinstance(legacy, dict):
            n += (self.text(str(legacy.get("name") or ""), cache=cache)
                  + self.text(str(legacy.get("arguments") or ""), cache=cache))
        return n

    def tools(self, tools: list[dict[str, Any]], *, system_message: bool = True, tool_choice: str | None = None,
              responses: bool = False) -> int:
        """Tokens of a tool list: its rendered ``namespace functions`` block and the heading around it.

        ``system_message``: whether the request has a system or developer message for the block to
        join (the cookbook's example has one); without one the block costs the overhead of a message
        of its own, 4 tokens more. With function tools, the provider's own tool-use system prompt
        (:class:`Rules`), whose size ``tool_choice`` (any/tool forces a call) decides. ``responses``:
        the request is a Responses API call (:data:`RESPONSES_TOOLS_SAVING`).
        """
        text = render_functions(tools)
        if not text:
            return 0
        system = 0
        if any(t.get("type") == "function" for t in tools if isinstance(t, dict)):
            system = self.rules.tool_system[tool_choice in ("any", "tool")]
        saving = self.rules.responses_tools_saving[not system_message] if responses else 0
        return (self.text(text, cache=True) + TOOLS_IN_SYSTEM + (0 if system_message else TOOLS_OWN_MESSAGE) + system
                - saving)

    def response_format(self, response_format: dict[str, Any] | None, *, joins: bool = True) -> int:
        """Tokens of a ``json_schema`` response format, as the model reads it (:func:`render_response_format`).

        ``joins``: whether the section joins a system message or a tool block (one blank line, 1
        token); without either it is the developer message on its own, which bills nothing more.
        """
        if not self.rules.schema_in_prompt:
            return 0
        text = render_response_format(response_format)
        return self.text(text, cache=True) + (RESPONSE_FORMAT_JOIN if joins else 0) if text else 0


#: The blank line that joins the response-format section to the system text or tool block before it.
RESPONSE_FORMAT_JOIN = 1
# Keywords the model is not shown: Structured Outputs enforces them while decoding (every key of a
# strict schema is required and nothing else is allowed), so the schema in the prompt goes without.
_ENFORCED_KEYWORDS = ("required",)


def render_response_format(response_format: dict[str, Any] | None) -> str:
    """A ``json_schema`` response format as the model reads it; "" for ``text``, ``json_object`` or none.

    The ``# Response Formats`` section of OpenAI's harmony prompt format (openai-cookbook,
    ``articles/openai-harmony.md``): ``## {name}``, a ``// {description}`` line when there is one,
    then the schema as compact JSON, here without ``required`` and ``additionalProperties: false``.
    Fitted on the 5 distinct schemas of the recorded OpenAI traffic (pydantic-ai cassettes: flat and
    union-typed, strict and not, Chat and Responses, gpt-4o and gpt-5.4-mini): all 5 billed exactly
    this once Responses' own tool block (:data:`RESPONSES_TOOLS_SAVING`) is allowed for; the JSON of
    the whole schema was 1-55 tokens over. Whether ``required`` is dropped when it lists only some of
    the properties (an optional field of a non-strict schema) the recordings cannot tell.
    """
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return ""
    wrapper = response_format.get("json_schema")
    if not isinstance(wrapper, dict):
        return ""
    schema = wrapper.get("schema", wrapper)  # a bare schema where a logger dropped the wrapper
    head = f"# Response Formats\n\n## {wrapper.get('name') or 'response'}\n\n"
    if wrapper.get("description"):
        head += f"// {wrapper['description']}\n"
    return head + json.dumps(_shown_schema(schema), separators=(",", ":"), ensure_ascii=False)


def _shown_schema(schema: Any) -> Any:
    """A JSON schema less the keywords decoding enforces; property names are never touched."""
    if isinstance(schema, list):
        return [_shown_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    shown = {}
    for key, value in schema.items():
        if key in _ENFORCED_KEYWORDS or (key == "additionalProperties" and value is False):
            continue
        if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(value, dict):
            shown[key] = {name: _shown_schema(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf", "oneOf", "allOf", "not", "additionalProperties", "prefixItems"):
            shown[key] = _shown_schema(value)
        else:
            shown[key] = value
    return shown


def render_functions(tools: list[dict[str, Any]]) -> str:
    """The tool list as the model reads it: a TypeScript ``namespace functions`` block.

    The format is the one reverse-engineered by openai-chat-tokens (hmarr) and confirmed by the
    billed figures quoted at ``TOOLS_IN_SYSTEM``: one ``// description`` line and one
    ``type name = (_: {…}) => any;`` per function, a property per line (``?`` when optional), with
    its description as a comment at the top level. Chat (``{"function": …}``), Responses (flat) and
    Anthropic (``input_schema``) tool shapes are read alike; tools without a name are left out.
    """
    lines = ["namespace functions {", ""]
    found = False
    for tool in tools:
        fn = tool.get("function", tool) if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not fn.get("name"):
            continue
        found = True
        if fn.get("description"):
            lines.append(f"// {fn['description']}")
        params = fn.get("parameters") or fn.get("input_schema") or {}
        if isinstance(params, dict) and params.get("properties"):
            lines += [f"type {fn['name']} = (_: {{", _ts_properties(params, 0, params), "}) => any;"]
        else:
            lines.append(f"type {fn['name']} = () => any;")
        lines.append("")
    lines.append("} // namespace functions")
    return "\n".join(lines) if found else ""


def _ts_properties(schema: dict[str, Any], indent: int, root: dict[str, Any]) -> str:
    required = schema.get("required") or ()
    lines = []
    for key, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        if spec.get("description") and indent == 0:
            lines.append(f"// {spec['description']}")
        lines.append(f"{key}{'' if key in required else '?'}: {_ts_type(spec, indent, root)},")
    return "\n".join(" " * indent + line for line in lines)


def _ts_type(spec: dict[str, Any], indent: int, root: dict[str, Any], depth: int = 0) -> str:
    if depth > 8:  # a recursive $ref
        return "any"
    if "enum" in spec and isinstance(spec["enum"], list):
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in spec["enum"])
    if "const" in spec:
        return json.dumps(spec["const"], ensure_ascii=False)
    for union in ("anyOf", "oneOf"):
        if isinstance(spec.get(union), list):
            return " | ".join(_ts_type(s, indent, root, depth + 1) for s in spec[union] if isinstance(s, dict))
    ref = spec.get("$ref")
    if isinstance(ref, str):
        target = root
        for part in ref.lstrip("#/").split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return _ts_type(target, indent, root, depth + 1) if isinstance(target, dict) else "any"
    kind = spec.get("type")
    if isinstance(kind, list):
        return " | ".join(_ts_type({**spec, "type": k}, indent, root, depth + 1) for k in kind)
    if kind == "array":
        items = spec.get("items")
        return f"{_ts_type(items, indent, root, depth + 1)}[]" if isinstance(items, dict) and items else "any[]"
    if kind == "object" or "properties" in spec:
        if not spec.get("properties"):
            return "object"
        return "{\n" + _ts_properties(spec, indent + 2, root) + "\n}"
    return kind if isinstance(kind, str) and kind else "any"


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
