"""Link the versions of each prompt template, once all requests are in.

A version is the exact static part a request was sent with (masked system text, named examples,
tools), or a provider prompt id and version. Versions are linked into templates:

* by the provider's prompt id where one is logged (Responses ``prompt.id``, Langfuse
  ``promptName``, OpenLLMetry ``traceloop.prompt.key``): all its versions are one template;
* otherwise by similarity: taken in the order they were first seen, a version joins the template
  whose first or latest version shares at least ``LINK_SIMILARITY`` of its word 3-grams (Jaccard,
  over the masked system text and the tool definitions), so a prompt edited a sentence at a time
  stays one template while two features that share a preamble do not. Limits: a rewrite that keeps
  less than that share starts a new template, and a version without system text or tools is never
  linked by similarity.

``template_versions`` records every version and when it was live; ``templates`` is derived from it.
"""

from __future__ import annotations

import re

from . import storage
from .segmenting import digest, mask_variables

LINK_SIMILARITY = 0.6
_WORD = re.compile(r"\w+|[^\w\s]")


def link_versions(con: storage.Connection) -> None:
    """Refresh each version's counts, link versions into templates, and rebuild ``templates``."""
    storage.refresh_versions(con)
    storage.set_version_templates(con, _link(storage.version_texts(con)))
    storage.rebuild_templates(con)


def _link(versions: list[tuple[str, str | None, str, str]]) -> dict[str, str]:
    """version_id → template_id, for versions given in the order they were first seen."""
    links: dict[str, str] = {}
    families: list[tuple[str, frozenset, frozenset]] = []  # template_id, first version's grams, latest version's
    for version_id, prompt_id, system_text, tools_text in versions:
        if prompt_id:
            links[version_id] = digest(f"prompt\x1f{prompt_id}")[:12]
            continue
        grams = _grams(mask_variables(system_text) + "\n" + tools_text)
        best, best_score = None, 0.0
        for i, (_, first, latest) in enumerate(families):
            score = max(_jaccard(grams, first), _jaccard(grams, latest))
            if score > best_score:
                best, best_score = i, score
        if grams and best is not None and best_score >= LINK_SIMILARITY:
            template_id, first, _ = families[best]
            families[best] = (template_id, first, grams)
            links[version_id] = template_id
        else:
            families.append((version_id, grams, grams))
            links[version_id] = version_id
    return links


def _grams(text: str) -> frozenset:
    words = _WORD.findall(text.lower())
    return frozenset(zip(words, words[1:], words[2:], strict=False)) if len(words) >= 3 else frozenset(words)


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
