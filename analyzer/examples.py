"""Few-shot examples: the blocks written inside a system prompt's text, and the turns a template repeats.

A system prompt often carries its examples inline; their tokens are few-shot tokens, not system
tokens. :func:`example_spans` says where they are, :func:`without_examples` what is left; both are
pure. Turns before the live one are examples or a conversation's history depending on the other
requests of their template, so :func:`classify_middle_turns` decides them once all requests are in,
over the database (the rule is in its docstring, the statements in :mod:`analyzer.storage`).
Where a rule cannot tell an example from an instruction it leaves the text to the system prompt:
a missed example costs less than instructions counted as few-shot.

Three rules; their spans are merged when they overlap or are apart only by whitespace.

1. Tags: ``<example>…</example>`` or any tag whose name contains "example" in any case
   (``<examples>``, ``<example_1>``, ``<good_example>``, ``<Example id="2">``), from the opening tag
   to its matching closing tag, so a wrapper is one span. Not examples: an unclosed or self-closing
   tag, a tag quoted in backticks, a pair with no letter or digit inside (``<example>...</example>``).
2. Headings: a line that is ``Example``/``Examples``, maybe numbered, bold or a markdown heading
   (``Example 1:``, ``### Example 2``, ``**Example 3**``, ``Examples:``), or that with up to five
   words and a colon (``Example output:``). The block runs to the next such heading, or stops at a
   line that opens another section (a markdown heading, a line ending with ``:`` that is not an
   Input/Output-style label, a non-example tag, a ``---`` rule) or at two blank lines. The last
   block of a run has no next heading to prove where it ends, so it takes the heading's paragraph
   (or the paragraph under a bare heading) and then only paragraphs that look like example content
   (a label, a code fence, an indented or quoted line). Limits: text between two example headings
   is taken whole, instructions included; an example with a line ending in ``:`` is cut there.
   "for example", "e.g." and sentences such as "Example answers must be short." never match.
3. Labelled pairs: an ``Input:`` line then an ``Output:`` line (also ``User``/``Assistant``,
   ``Human``/``AI`` or ``Assistant``, ``Text``/``Label``, ``Q``/``A``, ``Question``/``Answer``),
   labels in any case and maybe bold (``**Input:**``). A value runs over the following lines up to
   a blank line, the next label or a section break (blank lines only inside code fences); pairs
   apart by at most one blank line form one span. The run's last value, which nothing bounds, takes
   only example-like lines (indented, quoted, fenced) after an inline value. Limits: a lone label
   (``Output: JSON only``) is not an example, but a format description written as an
   ``Input:``/``Output:`` pair is; a line ending in ``:`` between the two labels breaks the pair.

Code fences (```` ``` ````, ``~~~``) are opaque to rules 2 and 3: nothing inside them starts or ends a block.
"""

from __future__ import annotations

import functools
import re

from . import storage

__all__ = ["classify_middle_turns", "example_spans", "without_examples"]

_TAG = re.compile(r"<(/?)([A-Za-z][\w.:-]*)([^<>]*)>")
_HEADING = re.compile(r"examples?\b(?:[ \t]*#?\d+\b)?", re.I)
_TITLE_WORDS = re.compile(r"[\w'/()-]+(?:[ \t]+[\w'/()-]+){0,4}")
_LABEL = re.compile(r"(?:\*\*|__)?(input|output|user|assistant|human|ai|text|label|q|a|question|answer)"
                    r"(?:\*\*|__)?[ \t]*:", re.I)
_SECOND = {"input": {"output"}, "user": {"assistant"}, "human": {"ai", "assistant"}, "text": {"label"},
           "q": {"a"}, "question": {"answer"}}
_MARKDOWN = re.compile(r"#{1,6}[ \t]")
_RULE = re.compile(r"(?:-{3,}|\*{3,}|_{3,}|={3,})")
_FENCE = ("```", "~~~")
_QUOTES = ("{", "[", '"', "\u201c", ">")

# Line kinds. _FENCED is code-fence content: always content, never a heading, label or break.
_BLANK, _FENCED, _HEAD, _LABELLED, _EXTAG, _BREAK, _TEXT = range(7)


@functools.lru_cache(maxsize=4096)  # once per request, and a template's system text repeats; do not mutate the result
def example_spans(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the example blocks in a system text.

    Sorted, non-overlapping, and merged when adjacent (apart only by whitespace).
    """
    lines = text.split("\n")
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    kinds, labels = _classify(lines)

    def chars(first: int, last: int) -> tuple[int, int]:
        head, tail = lines[first], lines[last].rstrip()
        return offsets[first] + len(head) - len(head.lstrip()), offsets[last] + len(tail)

    spans = _tag_spans(text)
    spans += [chars(a, b) for a, b in _headed_blocks(lines, kinds)]
    spans += [chars(a, b) for a, b in _labelled_runs(lines, kinds, labels)]
    return _merge(text, spans)


def without_examples(text: str) -> str:
    """The text with the example blocks removed (what the system prompt is without its examples)."""
    kept, at = [], 0
    for start, end in example_spans(text):
        kept.append(text[at:start])
        at = end
    kept.append(text[at:])
    return "".join(kept)


#: A turn before the live one is a few-shot example when it sits at the same position, with the same
#: text, in at least this share of its template's requests (formats.md §12 suggests 80%)…
FEWSHOT_SHARE = 0.8
#: …and the template has at least this many requests: with fewer, repetition proves nothing.
FEWSHOT_MIN_REQUESTS = 5
#: Earlier turns can be told to be examples picked per request (never anyone's output) only where
#: outputs are logged: for at least this share of the version's requests.
DYNAMIC_MIN_LOGGED = 0.5


def classify_middle_turns(con: storage.Connection) -> None:
    """Decide which turns before the live one are few-shot examples and which are history.

    * Static few-shot: the same text sits at the same position in at least ``FEWSHOT_SHARE`` of the
      requests sent with its template version (versions of ``FEWSHOT_MIN_REQUESTS`` requests or
      more), and every turn before it is few-shot too (examples form a prefix).
    * Dynamic few-shot (examples picked per request): every earlier turn of a request none of whose
      exchanges (an assistant turn and the turns just before it) was ever a request's own live turn
      and output, in a version whose outputs are
      logged (``DYNAMIC_MIN_LOGGED`` of its requests, ``FEWSHOT_MIN_REQUESTS`` or more), and which
      does not follow an earlier request of its session.
    * History: the rest. A conversation grows turn by turn and sends back its earlier exchanges,
      or continues a session already seen.

    Segment totals on ``requests`` are then rewritten from the flags, so the result does not
    depend on the order in which files were read.
    """
    storage.classify_middle_turns(con, share=FEWSHOT_SHARE, min_requests=FEWSHOT_MIN_REQUESTS,
                                  min_logged=DYNAMIC_MIN_LOGGED)


def _tag_spans(text: str) -> list[tuple[int, int]]:
    # One pass with a stack per tag name, so a prompt full of unclosed tags stays linear; tags
    # nested in a wrapper give spans inside the wrapper's, which merging absorbs.
    open_tags: dict[str, list[re.Match[str]]] = {}
    spans = []
    for m in _TAG.finditer(text):
        closing, name, attrs = m.group(1), m.group(2).lower(), m.group(3)
        if "example" not in name:
            continue
        if not closing:
            quoted = m.start() > 0 and text[m.start() - 1] == "`"  # an instruction naming the tag, not using it
            if not quoted and not attrs.rstrip().endswith("/"):
                open_tags.setdefault(name, []).append(m)
        elif not attrs.strip() and open_tags.get(name):
            opening = open_tags[name].pop()
            if re.search(r"[^\W_]", text[opening.end():m.start()]):
                spans.append((opening.start(), m.end()))
    return spans


def _classify(lines: list[str]) -> tuple[list[int], list[str | None]]:
    kinds = [_TEXT] * len(lines)
    labels: list[str | None] = [None] * len(lines)
    fences = [i for i, line in enumerate(lines) if line.lstrip().startswith(_FENCE)]
    for opening, closing in zip(fences[::2], fences[1::2], strict=False):  # an unclosed last fence is plain text
        kinds[opening:closing + 1] = [_FENCED] * (closing + 1 - opening)
    for i, raw in enumerate(lines):
        if kinds[i] == _FENCED:
            continue
        line = raw.strip()
        label, tag = _LABEL.match(line), _TAG.match(line)
        if not line:
            kinds[i] = _BLANK
        elif _is_heading(line):
            kinds[i] = _HEAD
        elif label:
            kinds[i], labels[i] = _LABELLED, label.group(1).lower()
        elif tag and "example" in tag.group(2).lower():
            kinds[i] = _EXTAG
        elif tag or _MARKDOWN.match(line) or _RULE.fullmatch(line) or line.rstrip("*_ \t").endswith(":"):
            kinds[i] = _BREAK
    return kinds, labels


def _is_heading(line: str) -> bool:
    markdown = line.startswith("#")
    bare = line.lstrip("#").strip().replace("**", "").replace("__", "").strip()
    m = _HEADING.match(bare)
    if not m:
        return False
    tail = bare[m.end():].strip()
    if not tail or tail.startswith(":"):
        return True
    # A few title words are a heading only when closed by a colon or set as a markdown heading;
    # otherwise "Example answers must be short." would open a block.
    title = tail[:-1].rstrip() if tail.endswith(":") else tail if markdown else ""
    return bool(_TITLE_WORDS.fullmatch(title))


def _headed_blocks(lines: list[str], kinds: list[int]) -> list[tuple[int, int]]:
    blocks, n, i = [], len(kinds), 0
    while i < n:
        if kinds[i] != _HEAD:
            i += 1
            continue
        head, j, blanks = i, i + 1, 0
        while j < n:
            blanks = blanks + 1 if kinds[j] == _BLANK else 0
            if blanks == 2 or kinds[j] in (_HEAD, _BREAK):
                break
            j += 1
        bounded = j < n and kinds[j] == _HEAD  # the next example proves everything up to it belongs to this one
        last = max(k for k in range(head, j) if kinds[k] != _BLANK) if bounded else _cautious_end(lines, kinds, head, j)
        if bounded or last > head or _inline_text(lines[head]):  # a bare heading alone holds no example
            blocks.append((head, last))
        i = j
    return blocks


def _inline_text(heading: str) -> bool:
    _, colon, rest = heading.partition(":")
    return bool(colon and rest.strip("*_ \t"))


def _cautious_end(lines: list[str], kinds: list[int], head: int, stop: int) -> int:
    """The last line of a block that no following heading bounds: its first paragraph, then example-like ones."""
    last = head
    k = head + 1
    if not _inline_text(lines[head]) and k < stop and kinds[k] == _BLANK:
        k += 1  # a bare heading's paragraph may follow a blank line
    while k < stop and kinds[k] != _BLANK:
        last, k = k, k + 1
    while k < stop:
        k += 1  # the single blank line between paragraphs
        if k >= stop or not _looks_like_example(lines[k], kinds[k]):
            break
        while k < stop and kinds[k] != _BLANK:
            last, k = k, k + 1
    return last


def _looks_like_example(line: str, kind: int) -> bool:
    return kind in (_FENCED, _LABELLED, _EXTAG) or line.startswith(("  ", "\t")) or line.lstrip().startswith(_QUOTES)


def _labelled_runs(lines: list[str], kinds: list[int], labels: list[str | None]) -> list[tuple[int, int]]:
    n = len(kinds)

    def value_end(i: int) -> int:
        while i + 1 < n and kinds[i + 1] in (_TEXT, _FENCED):
            i += 1
        return i

    def answer(i: int) -> int | None:
        """The line of the second label answering the first label on line i, if it follows."""
        if kinds[i] != _LABELLED or labels[i] not in _SECOND:
            return None
        j = value_end(i) + 1
        if j < n and kinds[j] == _BLANK:
            j += 1
        return j if j < n and kinds[j] == _LABELLED and labels[j] in _SECOND[labels[i]] else None

    def cautious_end(j: int) -> int:
        # Nothing bounds the run's last value: "Output: positive\nReply in one word." is a pair
        # and an instruction, so after an inline value only example-like lines continue it.
        if not _LABEL.sub("", lines[j].strip(), count=1).strip("*_ \t"):
            return value_end(j)
        while j + 1 < n and kinds[j + 1] in (_TEXT, _FENCED) and _looks_like_example(lines[j + 1], kinds[j + 1]):
            j += 1
        return j

    runs, i = [], 0
    while i < n:
        second = answer(i)
        if second is None:
            i += 1
            continue
        start = i
        while True:
            j = value_end(second) + 1
            if j < n and kinds[j] == _BLANK:
                j += 1
            following = answer(j) if j < n else None
            if following is None:
                break
            second = following
        end = cautious_end(second)
        runs.append((start, end))
        i = end + 1
    return runs


def _merge(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and (start <= merged[-1][1] or text[merged[-1][1]:start].isspace()):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
