"""Token counting: the cookbook's published numbers, offline encodings identical to tiktoken's."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys

import pytest
import tiktoken

from analyzer import tokenizing
from analyzer.tokenizing import REPLY_PRIMING, Counter, encoding_name_for_model

# The OpenAI cookbook's examples (How_to_count_tokens_with_tiktoken), with the API's own counts.
COOKBOOK_MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
    {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."},
]
COOKBOOK_TOOLS = [{"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "description": "The unit of temperature to return", "enum": ["celsius", "fahrenheit"]},
    }, "required": ["location"]}}}]
COOKBOOK_TOOL_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant that can answer to questions about the weather."},
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]


@pytest.mark.parametrize(("model", "expected"), [("gpt-4o", 124), ("gpt-4o-mini", 124), ("gpt-4", 129), ("gpt-4-0613", 129)])
def test_cookbook_messages(model, expected):
    counter = Counter(model)
    assert sum(counter.message(m) for m in COOKBOOK_MESSAGES) + REPLY_PRIMING == expected


@pytest.mark.parametrize(("model", "expected"), [("gpt-4o", 101), ("gpt-4o-mini", 101), ("gpt-4", 105), ("gpt-3.5-turbo", 105)])
def test_cookbook_tools(model, expected):
    counter = Counter(model)
    total = sum(counter.message(m) for m in COOKBOOK_TOOL_MESSAGES) + REPLY_PRIMING + counter.tools(COOKBOOK_TOOLS)
    assert total == expected


@pytest.mark.parametrize(("model", "encoding", "exact"), [
    ("gpt-4o-2024-08-06", "o200k_base", True), ("gpt-4.1-mini", "o200k_base", True), ("o3-mini", "o200k_base", True),
    ("gpt-5-2025-08-07", "o200k_base", True), ("ft:gpt-4o-mini-2024-07-18:acme::x1", "o200k_base", True),
    ("gpt-4-0613", "cl100k_base", True), ("gpt-3.5-turbo", "cl100k_base", True), ("openai/gpt-4o", "o200k_base", True),
    ("claude-sonnet-4-5", "o200k_base", False), ("llama-3.3-70b", "o200k_base", False),
    ("gpt-oss-120b", "o200k_base", False),
])
def test_encoding_per_model(model, encoding, exact):
    assert encoding_name_for_model(model) == (encoding, exact)


def test_shipped_encodings_equal_tiktokens_own(tmp_path, monkeypatch):
    """Tokens from the shipped files equal those of tiktoken reading the same published files."""
    # tiktoken's cache is keyed by the sha1 of the download URL; seeding it lets tiktoken load offline.
    import gzip

    for name in ("o200k_base", "cl100k_base"):
        url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
        data = gzip.decompress((tokenizing.ENCODINGS_DIR / f"{name}.tiktoken.gz").read_bytes())
        (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(data)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    texts = ["hello world", "naïve café — 東京 🚀 <|endoftext|> tabs\tand\n\nnewlines", "x" * 5000,
             " 12345 67.89 2026-10-01T08:00:00Z", "def f(x):\n    return x ** 2  # comment"]
    for name in ("o200k_base", "cl100k_base"):
        theirs, ours = tiktoken.get_encoding(name), tokenizing.get_encoding(name)
        for text in texts:
            assert ours.encode_ordinary(text) == theirs.encode_ordinary(text)
        assert ours.n_vocab == theirs.n_vocab and ours.special_tokens_set == theirs.special_tokens_set


def test_counting_never_touches_the_network(tmp_path):
    """In a fresh interpreter with sockets disabled and an empty tiktoken cache, counting works."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network disabled in this test')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
        "from analyzer.tokenizing import Counter\n"
        "print(Counter('gpt-4o').text('hello world'), Counter('gpt-4').text('hello world'))\n"
    )
    env = {"TIKTOKEN_CACHE_DIR": str(tmp_path / "empty"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["2", "2"]


def test_corrupted_rank_file_is_refused(tmp_path, monkeypatch):
    import gzip

    (tmp_path / "o200k_base.tiktoken.gz").write_bytes(gzip.compress(b"aGVsbG8= 0\n"))
    monkeypatch.setattr(tokenizing, "ENCODINGS_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="sha256"):
        tokenizing._load_ranks("o200k_base")


def test_reasoning_models_prime_the_reply_with_two_tokens():
    assert tokenizing.rules_for_model("o3-mini-2025-01-31").reply_priming == 2
    assert tokenizing.rules_for_model("gpt-5-2025-08-07").reply_priming == 2
    assert tokenizing.rules_for_model("gpt-4o").reply_priming == 3


def test_special_token_text_counts_as_text():
    assert Counter("gpt-4o").text("<|endoftext|>") > 1


def test_name_and_tool_calls_count():
    counter = Counter("gpt-4o")
    plain = counter.message({"role": "user", "content": "hi"})
    named = counter.message({"role": "user", "content": "hi", "name": "bob"})
    assert named == plain + counter.text("bob") + 1
    call = {"role": "assistant", "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}
    assert counter.message(call) == 3 + counter.text("assistant") + counter.text("f") + counter.text('{"a": 1}')


def test_socket_module_untouched():
    # The subprocess test above patches sockets in its own interpreter only.
    assert socket.socket.connect.__name__ == "connect"


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(tokenizing, "CACHE_LIMIT", 10)
    counter = Counter("gpt-4o")
    counts = [counter.text(f"text number {i}", cache=True) for i in range(25)]
    assert len(counter._cache) <= 10 and counts == [Counter("gpt-4o").text(f"text number {i}") for i in range(25)]


def test_claude_tool_use_system_prompt_is_counted_by_model_and_tool_choice():
    # docs.anthropic.com "Tool use pricing and tokens": Claude 3 Haiku adds 264 tokens (auto) or 340
    # (any/tool) to a request with tools; later models 346 or 313. None for a request without tools.
    tools = [{"type": "function", "function": {"name": "route", "parameters": {"type": "object", "properties": {}}}}]
    haiku3, sonnet4 = Counter("claude-3-haiku-20240307"), Counter("claude-sonnet-4-20250514")
    bedrock = Counter("us.anthropic.claude-sonnet-4-20250514-v1:0")
    base = Counter("gpt-4o").tools(tools)  # the same rendering, without a provider prompt
    assert haiku3.tools(tools, tool_choice="auto") - base == 264
    assert haiku3.tools(tools, tool_choice="any") - base == 340
    assert sonnet4.tools(tools) - base == 346
    assert sonnet4.tools(tools, tool_choice="tool") - base == 313
    assert bedrock.tools(tools, tool_choice="any") - base == 313
    assert sonnet4.tools([]) == 0
