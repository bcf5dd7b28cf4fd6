"""OpenPipe logged calls (formats.md §9, OpenPipe's LoggedCall), built field by field."""

from __future__ import annotations

import json

from analyzer import parsers
from analyzer.models import RawRecord

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Tag the review."},
                                             {"role": "user", "content": "Great blender."}]}
RESPONSE = {"id": "chatcmpl-op1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "positive"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 21, "completion_tokens": 1, "total_tokens": 22}}


def call(**extra):
    return {"requestedAt": 1790000000123, "receivedAt": 1790000000900, "reqPayload": BODY, "respPayload": RESPONSE,
            "statusCode": 200, "cacheHit": False, "durationMs": 777, "inputTokens": 21, "outputTokens": 1,
            "finishReason": "stop", "completionId": "chatcmpl-op1", "cost": 0.0000038, "model": "gpt-4o-mini",
            "tags": [{"name": "prompt_id", "value": "review-tagger"}], **extra}


def parse(data):
    fmt = parsers.detect(data)
    assert fmt is not None and fmt.name == "openpipe"
    [request] = list(fmt.parse(RawRecord("op.jsonl", 1, data), parsers.context()))
    return request


def test_logged_call_time_latency_and_usage():
    request = parse(call())
    assert request.format == "openpipe" and request.request_id == "chatcmpl-op1"
    assert request.timestamp.isoformat() == "2026-09-21T14:13:20.123000+00:00"  # epoch milliseconds
    assert request.latency_ms == 777 and request.reported_prompt_tokens == 21 and request.model == "gpt-4o-mini-2024-07-18"


def test_payloads_as_strings_and_usage_from_openpipe_fields():
    response = {k: v for k, v in RESPONSE.items() if k != "usage"}
    request = parse(call(reqPayload=json.dumps(BODY), respPayload=json.dumps(response)))
    assert (request.reported_prompt_tokens, request.reported_output_tokens) == (21, 1)


def test_a_cache_hit_is_traffic_but_bills_nothing():
    request = parse(call(cacheHit=True))
    assert request.status == "ok" and request.reported_prompt_tokens == 0 and request.reported_output_tokens == 0


def test_errors_keep_the_request():
    request = parse(call(statusCode=429, errorMessage="Rate limit reached", respPayload=None))
    assert request.status == "error" and request.error == "Rate limit reached" and request.output is None


def test_not_claimed_by_others_and_claims_no_plain_wrapper():
    assert not parsers.get("openpipe").detect({"request": BODY, "response": RESPONSE}, parsers.context())
    assert parsers.detect({"reqPayload": BODY, "respPayload": RESPONSE}).name == "openai-chat"
