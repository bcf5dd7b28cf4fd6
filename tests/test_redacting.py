"""Planted keys of every shape appear nowhere crossover stores or prints."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from analyzer.redacting import _KEYS, REDACTED, redact

from .conftest import chat_line, invoke, table_dump

KEYS = [
    "sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4",  # OpenAI, legacy
    "sk-proj-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe9Dc8Ba7_-Q1w2E3r4",  # OpenAI project key
    "sk-svcacct-" + "Qa1Ws2Ed3Rf4Tg5Yh6Uj7Ik8Ol9P0qA1sD2fG3",  # OpenAI service account
    "sk-ant-api03-" + "Mn8Bv7Cx6Zl5Kj4Hg3Fd2Sa1Qw0Er9Ty8Ui7Op6-AbCdEf",  # Anthropic
    "AKIA" + "IOSFODNN7EXAMPLE",  # AWS access key id
    "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",  # GitHub classic token
    "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789",  # GitHub fine-grained
    "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",  # Slack bot token
    "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",  # Google API key
    "sk_live_" + "51H8a2b3C4d5E6f7G8h9I0j1K2l3M4n5",  # Stripe secret key
    "rk_live_" + "51H8a2b3C4d5E6f7G8h9I0j1K2l3M4n5X",  # Stripe restricted key
    "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",  # Hugging Face
    "glpat-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn",  # GitLab
    "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",  # JWT
    "tok" + "_Q9w8E7r6T5y4U3i2O1p0A9s8D7f6G5h4J3k2L1z0X9c8V7b6",  # a long generated token
    "Zm9v" + "YmFyQmF6UXV4MTIzNDU2Nzg5MEFiQ2RFZkdoSWpLbE1uT3A=",  # base64 secret
    "k3Y" + "9mP2qR7sT4uV8wX1yZ5aB6cD0eF3gH7iJ2kL9mN4oP",  # high-entropy, no prefix
]
BEARER = "Bearer " + "b3arerT0kenValue_ABCdef123456"


def planted_lines() -> list[str]:
    system = f"You are a support bot. Internal key: {KEYS[0]} and {KEYS[13]}. Label the ticket."
    lines = [chat_line(messages=[{"role": "system", "content": system}, {"role": "user", "content": "hi"}],
                       id="c1", prompt_tokens=20, user=KEYS[1])]
    tools = [{"type": "function", "function": {"name": "lookup", "description": f"uses {KEYS[2]} {KEYS[3]}",
                                               "parameters": {"type": "object"}}}]
    lines.append(chat_line(messages=[{"role": "system", "content": f"{KEYS[4]} {KEYS[5]} {KEYS[6]}"},
                                     {"role": "user", "content": "x"}], id="c2", tools=tools))
    error = chat_line(messages=[{"role": "user", "content": "y"}], id="c3")
    error["response"] = {"error": {"message": f"Incorrect API key provided: {KEYS[7]}. {BEARER}",
                                   "type": "invalid_request_error"}}
    error["status"] = 401
    lines.append(error)
    usage = chat_line(messages=[{"role": "system", "content": "Tag."}, {"role": "user", "content": "z"}],
                      id="c4", prompt_tokens=5)
    usage["response"]["usage"]["note"] = KEYS[8]
    lines.append(usage)
    out = [json.dumps(line) for line in lines]
    # rejected lines keep an excerpt: keys in their header
    out.append(json.dumps({"headers": {"Authorization": BEARER, "x-api-key": KEYS[9]}, "oops": [KEYS[10]]}))
    out.append('{"broken": "' + KEYS[11] + " " + KEYS[12] + '"')
    out.append(json.dumps({"timestamp": "2026-10-01T10:00:00Z", "request": {"model": "gpt-4o", "messages": [
        {"role": "system", "content": " ".join(KEYS[14:])}, {"role": "user", "content": "q"}]},
        "response": {"choices": 5, "k": KEYS[15]}}))
    return out


def test_redact_replaces_every_shape():
    for key in KEYS:
        assert key not in redact(f"text {key} text"), key
    assert redact(f"auth: {BEARER}") == f"auth: Bearer {REDACTED}"
    assert redact("sha256:" + "ab12" * 16) == "sha256:" + "ab12" * 16  # hashes stay
    assert redact("Summarise the text in one line.") == "Summarise the text in one line."


def test_planted_keys_appear_nowhere(tmp_path):
    log = tmp_path / "keys.jsonl"
    log.write_text("\n".join(planted_lines()) + "\n")
    outputs = [invoke(["ingest", str(log)]).output]
    for args in (["report"], ["report", "--format", "json"], ["templates", "--format", "json"],
                 ["query", "rejects_by_file", "-p", f"file={log}", "--format", "json"]):
        outputs.append(invoke(args).output)
    db = tmp_path / "crossover.duckdb"
    dump = table_dump(db)
    raw = db.read_bytes()
    secrets = KEYS + [BEARER.split()[1]]
    assert len(secrets) == 18
    for key in secrets:
        for where, text in [("output", "\n".join(outputs)), ("tables", dump)]:
            assert key not in text, (key, where)
        assert key.encode() not in raw, (key, "database bytes")
    assert REDACTED in dump


# Characters the key shapes are made of, the separators around them and the prefixes they start with,
# so that the generated texts come near every shape (and often match one) rather than being noise.
_NEAR_KEYS = st.lists(st.sampled_from([
    "sk-", "sk-ant-", "sk_live_", "rk_test_", "pk_", "AKIA", "ghp_", "gho_", "github_pat_", "xoxb-", "AIza",
    "hf_", "glpat-", "eyJ", ".", "Bearer ", "bearer ", "earer", " ", "\n", '"', ":", "=", "é", "_", "-", "+", "/",
    "a", "b", "k", "g", "h", "Z", "Q", "0", "7", "abcdefghij", "ABCDEFGHIJ", "0123456789", "a1B2c3D4e5",
]), max_size=40).map("".join)


@settings(max_examples=3000, deadline=None)
@given(_NEAR_KEYS)
# The shapes that can be all lower case and underscores, which only their prefixes give away.
@example("github_pat_" * 5)
@example("sk_live_" + "q" * 16)
@example("rk_test_" + "q" * 16)
@example("ghp_" + "q" * 30)
@example("hf_" + "q" * 30)
def test_the_quick_test_before_the_scan_never_changes_what_is_redacted(text):
    assert redact(text) == _KEYS.sub(REDACTED, text)


# Keys a usage object may have: plain names, and names that are, or hold, a key's shape.
_USAGE_KEYS = st.one_of(st.sampled_from(["prompt_tokens", "completion_tokens", "cached_tokens", "x_groq",
                                         "github_pat_" + "a" * 40, "sk_live_" + "b" * 20, "hf_" + "c" * 31]),
                        st.from_regex(r"[a-z_]{1,45}", fullmatch=True), st.text(max_size=45))
_USAGE_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                          st.text(max_size=60), st.just("sk-" + "d" * 30))
_USAGE = st.recursive(st.dictionaries(_USAGE_KEYS, _USAGE_VALUES, max_size=6),
                      lambda inner: st.dictionaries(_USAGE_KEYS, inner, max_size=4), max_leaves=12)


@settings(max_examples=1500, deadline=None)
@given(_USAGE)
@example({"github_pat_" + "a" * 40: 1})
@example({"prompt_tokens_details": {"sk_live_" + "b" * 20: 0}})
def test_a_usage_let_through_unredacted_is_one_redaction_leaves_alone(usage):
    from analyzer.extracting import _plain_usage, _usage_json

    text = _usage_json(usage)
    if _plain_usage(usage):
        assert redact(text) == text
