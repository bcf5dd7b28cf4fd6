"""Key-like strings out of everything crossover stores or prints: provider keys, bearer tokens, JWTs.

Logs carry secrets where nobody meant to put them: a key pasted into a system prompt, an error
saying "Incorrect API key provided: sk-…", a header in a rejected line. :func:`redact` replaces
each with ``[REDACTED]`` before the text reaches a column (segment texts, template labels, errors,
usage, user ids, reject excerpts and reasons, staged batch lines). Hashes are taken from the text
as logged, so a template is recognised the same whether or not its prompt held a key.

The patterns are shapes, not a list of every provider: known prefixes (OpenAI ``sk-``, Anthropic
``sk-ant-``, AWS ``AKIA``, GitHub ``ghp_``/``github_pat_``, Slack ``xox?-``, Google ``AIza``, Stripe
``sk_live_``/``rk_live_``, Hugging Face ``hf_``), ``Bearer`` tokens, JWTs, and long tokens that mix
upper case, lower case and digits the way generated secrets do (40 characters or more: shorter
ones are too often ordinary identifiers).
"""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

_KEYS = re.compile(
    r"(?:"
    r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}"
    r"|\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"
    r"|\bgithub_pat_[A-Za-z0-9_]{40,}"
    r"|\bxox[abprse]-[A-Za-z0-9\-]{10,}"
    r"|\bAIza[0-9A-Za-z_\-]{35}"
    r"|\bhf_[A-Za-z0-9]{30,}"
    r"|\bglpat-[A-Za-z0-9_\-]{20,}"
    r"|\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    r"|(?<=[Bb]earer )[A-Za-z0-9._~+/=\-]{16,}"
    r"|(?<![A-Za-z0-9_\-+/])(?=[A-Za-z0-9_\-+/]*[A-Z])(?=[A-Za-z0-9_\-+/]*[a-z])(?=[A-Za-z0-9_\-+/]*[0-9])"
    r"[A-Za-z0-9_\-+/]{40,}={0,2}"
    r")")

# What any of those shapes needs, found far faster. Each needs a run of at least 11 characters of
# [A-Za-z0-9_-+/] (the shortest, a JWT's "eyJ" and 8 more), but a bearer token, which needs "earer ".
# _KEYS tries a dozen alternatives at every character, 40 µs on a usage object; most texts hold no
# such run, and in a run of lower case and underscores only the prefixed shapes can start (sk_live_, ghp_,
# github_pat_, hf_), each of which holds "k_", "gh" or "hf_". A text that passes neither test
# cannot match _KEYS, so it is returned as it is: the same result, without the scan.
_RUN = re.compile(r"[A-Za-z0-9_\-+/]{11,}")
_RISKY_RUN = re.compile(r"[A-Z0-9\-+/]|k_|gh|hf_")


def redact(text: str | None) -> str | None:
    """``text`` with every key-like string replaced by ``[REDACTED]`` (None stays None)."""
    if not text:
        return text
    if "earer " in text:
        return _KEYS.sub(REDACTED, text)
    for run in _RUN.findall(text):
        if _RISKY_RUN.search(run):
            return _KEYS.sub(REDACTED, text)
    return text
