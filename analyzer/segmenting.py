"""Split one request into system / fewshot / tools / history / input / output and count each part.

What one request shows on its own:

* ``system``: system and developer messages (not named ``example_*``).
* ``fewshot``: messages named ``example_*`` (the cookbook's way to mark examples), example blocks
  written inside the system text (:mod:`analyzer.examples`), and Anthropic tools' ``input_examples``.
* ``tools``: tool and function definitions and a ``json_schema`` response format.
* ``input``: the live turn, every message after the last assistant message, plus the tokens that
  prime the reply (3; 2 for reasoning models).
* the *middle*: user/assistant turns before the live turn. Whether they are few-shot examples or a
  real conversation's history cannot be told from one request: examples repeat, at the same place,
  across the template's requests, history does not. The middle is kept per message (position,
  hash, tokens) and :mod:`analyzer.examples` classifies it once the template's requests are in.

Counts follow the cookbook (:mod:`analyzer.tokenizing`); the per-message overhead belongs to the
message's segment, so the prompt kinds add up to the counted prompt tokens.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from .examples import example_spans, without_examples
from .media import MEDIA_PART_TYPES, part_tokens
from .models import Request
from .tokenizing import Counter, content_text

if TYPE_CHECKING:
    from .deriving import Derivation

SYSTEM_ROLES = ("system", "developer")

# Variable spans masked before a system text keys its template: a prompt that stamps today's date
# or a customer id into its instructions is still one template.
_VARIABLE_SPANS = [
    # A name after a greeting ("Hello Anna,", "Dear Dr. Okafor"): personalised prompts greet each user.
    (re.compile(r"\b(Hi|Hello|Hey|Dear|Good (?:morning|afternoon|evening)|Welcome(?: back)?)(,?[ \t]+)"
                r"(?:(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?[ \t]+)?[A-Z][\w'-]+(?:[ \t]+[A-Z][\w'-]+)?"), r"\1\2<name>"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?\b"), "<date>"),
    (re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?(\s*[ap]\.?m\b\.?)?", re.I), "<time>"),
    (re.compile(r"\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"\d+(?:[.,]\d+)*"), "<n>"),
]


def digest(text: str) -> str:
    """A short stable hash for a text: 96 bits, ample for the distinct texts of one database."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def mask_variables(text: str) -> str:
    """The text with names in greetings, e-mail addresses, dates, times, ids and numbers replaced by placeholders."""
    for pattern, placeholder in _VARIABLE_SPANS:
        text = pattern.sub(placeholder, text)
    return text


@dataclass(frozen=True)
class StaticText:
    """A distinct static text (system prompt, named example, tool list) and its tokens."""

    hash: str
    kind: str
    tokens: int
    text: str


@dataclass(frozen=True)
class MiddleMessage:
    """A turn before the live one: a few-shot example or history, decided across the template."""

    position: int
    role: str
    hash: str
    tokens: int
    exchange_hash: str | None = None  # an assistant turn: the turns since the previous one and this one


@dataclass
class Segmented:
    """The anatomy of one request."""

    template_id: str  # the template: a provider prompt id's, else this version's until versions are linked
    version_id: str = ""  # the exact static part: masked system text, named examples, tools (or prompt id + version)
    system_text: str = ""
    system: int = 0
    fewshot_named: int = 0
    tools: int = 0
    input: int = 0
    output: int = 0
    input_hash: str = ""  # the live turn: distinct ones are the training examples the logs hold
    exchange_hash: str | None = None  # the live turn and what was returned, as they read when sent back
    output_kind: str = ""  # label | json | tool_call | text | none: what kind of task this is
    middle: list[MiddleMessage] = field(default_factory=list)
    statics: list[StaticText] = field(default_factory=list)
    middle_id: str | None = None  # the run of middle turns as stored (middle_turns): many requests share one
    input_derived: bool = False  # input tokens = reported prompt - the counted rest (analyzer.deriving)
    output_derived: bool = False  # output tokens = reported completion - reasoning

    @property
    def middle_tokens(self) -> int:
        """Tokens of all middle turns (few-shot and history together)."""
        return sum(m.tokens for m in self.middle)

    @property
    def prompt_tokens(self) -> int:
        """Counted prompt tokens: the sum of every prompt segment."""
        return self.system + self.fewshot_named + self.tools + self.middle_tokens + self.input


def middle_list_id(middle: list[MiddleMessage] | tuple[MiddleMessage, ...]) -> str | None:
    """The id of a run of middle turns: the hash of every stored field of each; None for no turns."""
    if not middle:
        return None
    return digest("\x1e".join(f"{m.position}\x1f{m.role}\x1f{m.hash}\x1f{m.tokens}\x1f{m.exchange_hash or ''}"
                               for m in middle))


def _message_key(message: dict) -> str:
    # Role, name and content identify a turn; tool calls are part of an assistant turn's identity.
    key = f"{message.get('role')}\x1f{message.get('name') or ''}\x1f{content_text(message.get('content'))}"
    calls = message.get("tool_calls")
    return key + "\x1f" + json.dumps(calls, sort_keys=True, default=str) if calls else key


@functools.lru_cache(maxsize=4096)
def _template_key(system_text: str) -> str:
    # Masking is the costliest step of segmenting and a template's system text repeats on every
    # request, so each distinct text is masked once.
    return digest(mask_variables(system_text))


def segment(request: Request, counter: Counter, memo: Memo | None = None,
            derivation: Derivation | None = None) -> Segmented:
    """Split and count one request with the counter of its model.

    With a ``memo`` (one per counter), what repeats across requests (each distinct message, each
    distinct static part) is split and counted once; with a ``derivation`` too, the live input and
    output may be taken from the reported usage (:mod:`analyzer.deriving`). Without either, every
    part of the request is counted from scratch: the reference the fast path must agree with.
    """
    if memo is not None:
        split = _split_plain(request)
        if split is not None:
            return _segment_memoized(request, counter, memo, split, derivation)
    return _segment_reference(request, counter)


def _segment_reference(request: Request, counter: Counter) -> Segmented:
    """Split and count every part of one request, sharing nothing with other requests."""
    system_texts: list[str] = []
    named: list[dict] = []
    turns: list[dict] = []
    seg = Segmented(template_id="")
    unpriced: str | int | None = None  # where the first medium no rule prices sits: a kind, or a middle position
    for message in request.messages:
        media, unknown = _media(message, request.model)
        if str(message.get("name") or "").startswith("example_"):
            named.append(message)
            seg.fewshot_named += counter.message(message, cache=True) + media
            unpriced = unpriced or ("fewshot" if unknown else None)
        elif message.get("role") in SYSTEM_ROLES:
            text = content_text(message.get("content"))
            system_texts.append(text)
            tokens = counter.message(message, cache=True) + media
            unpriced = unpriced or ("system" if unknown else None)
            # Examples inside the instructions: their share is what the text loses without them, so
            # that system and few-shot still add up to the message's tokens.
            inline = (counter.text(text, cache=True) - counter.text(without_examples(text), cache=True)
                      if example_spans(text) else 0)
            seg.system += tokens - inline
            seg.fewshot_named += inline
        else:
            turns.append(message)

    last_assistant = max((i for i, m in enumerate(turns) if m.get("role") == "assistant"), default=-1)
    asked: list[str] = []  # the keys of the turns since the previous assistant turn
    for position, message in enumerate(turns[: last_assistant + 1]):
        media, unknown = _media(message, request.model)
        tokens = counter.message(message, cache=True) + media
        key, exchange = _message_key(message), None
        if message.get("role") == "assistant":
            exchange, asked = _exchange(tuple(asked), key), []
        else:
            asked.append(key)
        seg.middle.append(MiddleMessage(position, str(message.get("role")), _key_digest(key), tokens, exchange))
        unpriced = unpriced if unpriced is not None or not unknown else len(seg.middle) - 1
    live = turns[last_assistant + 1 :]
    seg.input = counter.rules.reply_priming
    for message in live:
        media, unknown = _media(message, request.model)
        seg.input += counter.message(message) + media
        unpriced = unpriced if unpriced is not None or not unknown else "input"
    seg.input_hash = _turns_hash(tuple(_message_key(m) for m in live))

    tools_text = _count_tools(seg, request, counter, bool(system_texts))
    seg.output = output_tokens(request.output, counter)
    seg.output_kind = output_kind(request.output, seg.output)
    if request.output:
        seg.exchange_hash = _exchange(tuple(_message_key(m) for m in live),
                                      _message_key({**request.output, "role": "assistant"}))
    if unpriced is not None:
        _bill_unpriced(seg, unpriced, request.reported_prompt_tokens)
    seg.middle_id = middle_list_id(seg.middle)
    _name_template(seg, request, "\n\n".join(system_texts), named, tools_text)
    return seg


def _count_tools(seg: Segmented, request: Request, counter: Counter, has_system: bool) -> str:
    """Count a request's tools and response format onto ``seg``; return their text as keyed ("" if none)."""
    if not (request.tools or request.response_format):
        return ""
    # Tool definitions join the system message, or come in a message of their own without one.
    seg.tools = (counter.tools(request.tools, system_message=has_system, tool_choice=request.tool_choice,
                               responses=request.api == "responses")
                 + counter.response_format(request.response_format, joins=has_system or bool(request.tools)))
    # Anthropic's tool `input_examples` show the model calls to imitate: few-shot, in JSON.
    seg.fewshot_named += sum(counter.text(json.dumps(example), cache=True)
                             for tool in request.tools for example in _input_examples(tool))
    return json.dumps([request.tools, request.response_format], sort_keys=True, separators=(",", ":"))


def _name_template(seg: Segmented, request: Request, system_text: str, named: list[dict], tools_text: str) -> None:
    """The static texts of a request (with their tokens, already on ``seg``), its template and version."""
    named_text = json.dumps([_message_key(m) for m in named]) if named else ""
    for kind, text, tokens in (("system", system_text, seg.system), ("fewshot", named_text, seg.fewshot_named),
                               ("tools", tools_text, seg.tools)):
        if text:
            seg.statics.append(StaticText(digest(text), kind, tokens, text))
    text_key = digest("\x1f".join([_template_key(system_text), digest(named_text), digest(tools_text)]))[:12]
    if request.prompt_id:  # the provider names the template: its versions are linked by that name
        seg.template_id = digest(f"prompt\x1f{request.prompt_id}")[:12]
        seg.version_id = digest(f"prompt\x1f{request.prompt_id}\x1f{request.prompt_version or text_key}")[:12]
    else:
        seg.template_id = seg.version_id = text_key
    seg.system_text = system_text


# The fast path ----------------------------------------------------------------------------------
#
# A template sends the same system prompt, few-shot turns and tools on every request: each distinct
# message is split and counted once, keyed by its raw form, and each distinct static part (system
# and named examples, tools, prompt id) once, so that only the live turn and the output cost real
# work. It covers text-only requests; one with media is segmented by the reference path, whose
# rules for billing media need the whole request.

#: Characters of logged text a memo may hold in its keys before it is emptied: a month of long
#: conversations must not grow it without bound, and static prompts come back at once.
MEMO_CHARS = 4_000_000


@dataclass(frozen=True)
class _Turn:
    """What a turn before the live one contributes, whatever the request it is in."""

    tokens: int
    key: str  # _message_key
    key_digest: str
    role: str


@dataclass(frozen=True)
class _Static:
    """A request's static part: system and named-example messages, tools and response format."""

    system: int
    fewshot_named: int
    tools: int
    statics: tuple[StaticText, ...]
    template_id: str
    version_id: str
    system_text: str


class Memo:
    """What one counter has split and counted before, by raw form; bounded by :data:`MEMO_CHARS`."""

    def __init__(self) -> None:
        self.turns: dict[object, _Turn] = {}
        self.middles: dict[tuple, tuple[tuple[MiddleMessage, ...], str | None]] = {}
        self.statics: dict[object, _Static] = {}
        self.chars = 0

    def remember(self, table: dict, key: object, value: object) -> None:
        self.chars += _size(key)
        if self.chars > MEMO_CHARS:
            self.turns.clear()
            self.middles.clear()
            self.statics.clear()
            self.chars = _size(key)
        table[key] = value


def _size(key: object) -> int:
    """About how many characters of logged text a memo key holds."""
    if isinstance(key, tuple):
        return sum(map(_size, key))
    return len(key) if isinstance(key, str | bytes) else 1


def _split_plain(request: Request) -> tuple[list, list, list] | None:
    """One pass over a text-only request's messages: (static messages, their raw keys, the other
    turns with theirs); None when a content is not a string, which the reference path reads."""
    output = request.output
    if output is not None and not isinstance(output.get("content"), str | None):
        return None
    statics, static_keys, turns = [], [], []
    for message in request.messages:
        role, content = message.get("role"), message.get("content")
        if content is not None and type(content) is not str:
            return None
        key = _raw_key(message, role, content)
        if key is None:
            return None
        name = message.get("name")
        if (name and str(name).startswith("example_")) or role in SYSTEM_ROLES:
            statics.append(message)
            static_keys.append(key)
        else:
            turns.append((message, key))
    return statics, static_keys, turns


def _raw_key(message: dict, role: object, content: object) -> object:
    """A message's identity as logged: (role, content) for the plain case, else its sorted JSON."""
    if len(message) == 2 and type(role) is str and type(content) is str:
        return role, content
    try:
        return orjson.dumps(message, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, odd values: not memoized
        return None


def _segment_memoized(request: Request, counter: Counter, memo: Memo, split: tuple[list, list, list],
                      derivation: Derivation | None) -> Segmented:
    """:func:`_segment_reference`'s result, with what repeats looked up (see the section comment)."""
    statics, static_keys, turns = split
    tools_key = (orjson.dumps([request.tools, request.response_format], option=orjson.OPT_SORT_KEYS)
                 if request.tools or request.response_format else b"")
    static_key = (tuple(static_keys), tools_key, request.tool_choice, request.api, request.prompt_id,
                  request.prompt_version)
    static = memo.statics.get(static_key)
    if static is None:
        static = _static_part(request, counter, statics)
        memo.remember(memo.statics, static_key, static)
    seg = Segmented(template_id=static.template_id, version_id=static.version_id, system_text=static.system_text,
                    system=static.system, fewshot_named=static.fewshot_named, tools=static.tools,
                    statics=list(static.statics))

    last_assistant = max((i for i, (m, _) in enumerate(turns) if m.get("role") == "assistant"), default=-1)
    if last_assistant >= 0:
        # The same run of earlier turns (a template's few-shot pairs) recurs whole: looked up at once.
        middle_key = tuple(k for _, k in turns[: last_assistant + 1])
        found = memo.middles.get(middle_key)
        if found is None:
            found = _middle(turns[: last_assistant + 1], counter, memo)
            memo.remember(memo.middles, middle_key, found)
        seg.middle, seg.middle_id = list(found[0]), found[1]
    live = [m for m, _ in turns[last_assistant + 1 :]]
    live_keys = tuple(_message_key(m) for m in live)
    # A live turn is new by nature: hashed directly, not through the caches meant for what repeats.
    live_hash = _turns_digest(live_keys)
    seg.input_hash = live_hash

    plan = derivation.plan(request, seg, counter) if derivation is not None else None
    if plan is not None and plan.input is not None and not plan.verify:
        seg.input, seg.input_derived = plan.input, True
    else:
        seg.input = counter.rules.reply_priming + sum(counter.message(m) for m in live)
    if plan is not None and plan.output is not None and not plan.verify:
        seg.output, seg.output_derived = plan.output, True
    else:
        seg.output = output_tokens(request.output, counter)
    if plan is not None and plan.verify:
        derivation.check(plan, seg)
    seg.output_kind = output_kind(request.output, seg.output)
    if request.output:
        seg.exchange_hash = _exchange_of(live_hash, _message_key({**request.output, "role": "assistant"}))
    return seg


def _middle(turns: list[tuple[dict, object]], counter: Counter, memo: Memo
            ) -> tuple[tuple[MiddleMessage, ...], str | None]:
    """The middle turns of a request, each distinct turn counted once, and their run's id."""
    middle, asked = [], []
    for position, (message, raw) in enumerate(turns):
        turn = memo.turns.get(raw)
        if turn is None:
            key = _message_key(message)
            # Not in the counter's text cache: this memo is the cache, and a month of conversations'
            # turns would fill the counter's with text seen once.
            turn = _Turn(counter.message(message), key, _key_digest(key), str(message.get("role")))
            memo.remember(memo.turns, raw, turn)
        exchange = None
        if turn.role == "assistant":
            exchange, asked = _exchange(tuple(asked), turn.key), []
        else:
            asked.append(turn.key)
        middle.append(MiddleMessage(position, turn.role, turn.key_digest, turn.tokens, exchange))
    return tuple(middle), middle_list_id(middle)


def _static_part(request: Request, counter: Counter, messages: list[dict]) -> _Static:
    """A request's static messages, tools and template, counted by the reference path itself: the
    other turns play no part in them, and this runs once per distinct static part."""
    seg = _segment_reference(dataclasses.replace(request, messages=messages, output=None), counter)
    return _Static(seg.system, seg.fewshot_named, seg.tools, tuple(seg.statics), seg.template_id, seg.version_id,
                   seg.system_text)


# Few-shot turns repeat on every request of a template: their hashes are computed once. The keys hold
# whole turns, so the caches stay small.
@functools.lru_cache(maxsize=4096)
def _key_digest(key: str) -> str:
    return digest(key)


def _turns_digest(keys: tuple[str, ...]) -> str:
    """The hash of a run of turns (their keys): a live turn, or the turns an earlier reply answered."""
    # The text json.dumps(list(keys)) gives, written by the C string encoder it calls, without the
    # encoder set up around it for every live turn.
    return digest("[" + ", ".join(map(_json_string, keys)) + "]")


#: The same, remembered: the turns earlier replies answered recur in every request of a template.
_turns_hash = functools.lru_cache(maxsize=4096)(_turns_digest)


@functools.lru_cache(maxsize=4096)
def _exchange(asked: tuple[str, ...], reply_key: str) -> str:
    """The hash of turns and the reply to them, as a request's live turn and output, or as sent back later."""
    return _exchange_of(_turns_hash(asked), reply_key)


#: json's own C encoder of one string, as json.dumps writes it (ASCII, escapes and quotes included).
_json_string = json.encoder.encode_basestring_ascii


def _exchange_of(asked_hash: str, reply_key: str) -> str:
    """The exchange hash from the hash of the turns asked and the key of the reply."""
    return digest(f"{asked_hash}\x1f{reply_key}")


def _media(message: dict, model: str) -> tuple[int, bool]:
    """Tokens of a message's images by the provider's published rule, and whether any medium had none."""
    content = message.get("content")
    if not isinstance(content, list):
        return 0, False
    tokens, unknown = 0, False
    for part in content:
        if isinstance(part, dict) and part.get("type") in MEDIA_PART_TYPES:
            n = part_tokens(part, model)
            tokens += n or 0
            unknown = unknown or n is None
    return tokens, unknown


def _bill_unpriced(seg: Segmented, where: str | int, reported: int | None) -> None:
    """Give media no rule prices (audio, files, images behind a URL) what the provider billed beyond the count.

    The gap between the reported prompt and the counted one goes to the segment holding the first
    such medium, so that segments still add up to the bill; without reported usage it stays uncounted.
    """
    gap = (reported or 0) - seg.prompt_tokens
    if gap <= 0:
        return
    if isinstance(where, int):
        seg.middle[where] = dataclasses.replace(seg.middle[where], tokens=seg.middle[where].tokens + gap)
    elif where == "input":
        seg.input += gap
    elif where == "system":
        seg.system += gap
    else:
        seg.fewshot_named += gap


def _input_examples(tool: dict) -> list:
    examples = (tool.get("function") or tool).get("input_examples")
    return examples if isinstance(examples, list) else []


def output_tokens(message: dict | None, counter: Counter) -> int:
    """Tokens of what the model returned: its text and any tool-call names and arguments."""
    if not message:
        return 0
    n = counter.text(content_text(message.get("content")))
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        n += counter.text(str(fn.get("name") or "")) + counter.text(str(fn.get("arguments") or ""))
    return n


#: Outputs of at most this many tokens are labels (classification-like tasks).
LABEL_MAX_TOKENS = 5


def output_kind(message: dict | None, tokens: int) -> str:
    """What the model returned: a short ``label``, ``json``, a ``tool_call``, free ``text``, or ``none``."""
    if not message:
        return "none"
    if message.get("tool_calls") or message.get("function_call"):
        return "tool_call"
    text = content_text(message.get("content")).strip()
    if not text:
        return "none"
    if text[:1] in "{[":
        try:
            json.loads(text)
            return "json"
        except ValueError:
            pass
    return "label" if tokens <= LABEL_MAX_TOKENS else "text"


def template_label(system_text: str, request: Request) -> str:
    """A readable name: the provider prompt id and the system prompt's first words, else the schema or tool names."""
    words = " ".join(system_text.split())
    if request.prompt_id:  # the provider's name for the template says most
        words = f"{request.prompt_id}: {words}" if words else f"prompt {request.prompt_id}"
    if words:
        return words if len(words) <= 60 else words[:59].rstrip() + "…"
    schema = ((request.response_format or {}).get("json_schema") or {}).get("name")
    if schema:
        return f"(no system prompt) schema {schema}"
    names = [(t.get("function") or t).get("name") for t in request.tools]
    if names:
        return "(no system prompt) tools " + ", ".join(str(n) for n in names[:3])
    return "(no system prompt)"
