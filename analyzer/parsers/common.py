"""What every format needs: times in any of the logged shapes, JSON held in strings, the wrappers.

Logging middleware wraps the provider's request and response in its own object (formats.md §9):
``{request|req|reqPayload|request_body|body, response|resp|respPayload|response_body, time…}``,
or records the HTTP exchange (``{request: {method, url, headers, body}, response: {status_code,
headers, body}}``). :func:`unwrap` finds the pair in either shape and the time around it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import BadRecord, BadTimezone
from ..jsonio import loads

REQUEST_KEYS = ("request", "req", "reqPayload", "request_body", "requestBody", "body")
RESPONSE_KEYS = ("response", "resp", "respPayload", "response_body", "responseBody")
TIME_KEYS = (
    "timestamp", "time", "ts", "logged_at", "requested_at", "requestedAt", "created_at", "createdAt",
    "startTime", "start_time", "datetime_utc", "date",
)

_NAIVE_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
#: The UTC time nearly every log writes, which datetime reads as it is: no rewriting needed.
_ZULU = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


def maybe_json(value: Any) -> Any:
    """Decode a value that is JSON held in a string (common in exports); leave others alone."""
    if isinstance(value, str | bytes) and value[:1] in ("{", "[", b"{", b"["):
        try:
            return loads(value)
        except ValueError:
            return value
    return value


def zone_named(name: str) -> tzinfo:
    """A time zone from an IANA name (``Europe/Paris``), ``UTC``, or a fixed offset (``+02:00``).

    Raises:
        BadTimezone: the name is none of those.
    """
    offset = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", name.strip())
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise BadTimezone(f"unknown time zone {name!r}: give an IANA name like Europe/Paris, UTC, or +02:00") from None


def parse_time(value: Any, naive_zone: tzinfo = UTC) -> datetime | None:
    """A UTC datetime from epoch s/ms/µs/ns (number or digits), ISO 8601 or RFC 1123.

    A time without a zone is a time in ``naive_zone`` (a read's ``--timezone``). None for what is no
    time, and for what cannot be one: NaN, infinities, numbers past the year 9999 or before year 1
    (whether a time is plausible for a log is the reader's question, not this one's).
    """
    try:
        return _parse_time(value, naive_zone)
    except (OverflowError, ValueError, OSError):  # out of datetime's range, or of the platform's
        return None


def _parse_time(value: Any, naive_zone: tzinfo) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) < 64 and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        value = float(value)
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            return None
        # Epoch magnitudes tell the unit apart: s ~1e9, ms ~1e12, µs ~1e15, ns ~1e18; past ns, no unit.
        for _ in range(3):
            if seconds <= 1e11:
                break
            seconds /= 1000.0
        if seconds > 1e11:
            return None
        return datetime.fromtimestamp(seconds, tz=UTC)
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = value.strip()
    if _ZULU.fullmatch(text):
        return datetime.fromisoformat(text)
    if _NAIVE_ISO.match(text):
        text = text.replace(" ", "T")
        # Python takes at most 6 fractional digits; Azure-style traces carry 7.
        text = re.sub(r"(\.\d{6})\d+$", r"\1", text)
        return datetime.fromisoformat(text).replace(tzinfo=naive_zone).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00")))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_zone)
    return parsed.astimezone(UTC)


def header(headers: Any, name: str) -> str | None:
    """One HTTP header from a dict whose values are strings or lists (VCR), any case."""
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if key.lower() == name:
            if isinstance(value, list):
                return str(value[0]) if value else None
            return str(value)
    return None


def _http_body(part: dict[str, Any]) -> Any:
    """The payload of a recorded HTTP request or response (VCR cassette or SDK snapshot)."""
    if "parsed_body" in part:
        return part["parsed_body"]
    body = part.get("body")
    if isinstance(body, dict) and "string" in body:  # VCR keeps raw bodies under body.string
        body = body["string"]
    return maybe_json(body)


def _is_http_exchange(request: Any) -> bool:
    return isinstance(request, dict) and ("method" in request or "uri" in request or "url" in request) and (
        "body" in request or "parsed_body" in request
    )


class Exchange:
    """A request payload, its response payload and what the wrapper said around them."""

    def __init__(self, request: Any, response: Any, wrapper: dict[str, Any] | None, headers: dict | None = None):
        self.request = request
        self.response = response
        self.wrapper = wrapper or {}
        self.response_headers = headers or {}
        self.url: str | None = None
        self.status_code: int | None = None

    def time(self, naive_zone: tzinfo = UTC) -> datetime | None:
        """The wrapper's own time, else the response's ``created``, else the HTTP ``date`` header.

        A wrapper's time logged without a zone is in ``naive_zone``."""
        for key in TIME_KEYS:
            if key in self.wrapper:
                found = parse_time(self.wrapper[key], naive_zone)
                if found:
                    return found
        if isinstance(self.response, dict):
            for key in ("created", "created_at"):
                found = parse_time(self.response.get(key))
                if found:
                    return found
        return parse_time(header(self.response_headers, "date"))


def unwrap(data: Any) -> Exchange | None:
    """Find the request/response pair in a logged record; None when there is none.

    Formats call it through :meth:`ReadContext.unwrap`, which computes it once per record.
    """
    if not isinstance(data, dict):
        return None
    request_key = next((k for k in REQUEST_KEYS if k in data), None)
    if request_key is None:
        if isinstance(data.get("messages"), list):  # a bare request body
            return Exchange(data, None, None)
        return None
    request = maybe_json(data[request_key])
    response_key = next((k for k in RESPONSE_KEYS if k in data), None)
    response = maybe_json(data[response_key]) if response_key else None
    if _is_http_exchange(request):
        http_response = response if isinstance(response, dict) else {}
        exchange = Exchange(_http_body(request), _http_body(http_response), data, http_response.get("headers"))
        exchange.url = request.get("uri") or request.get("url")
        status = http_response.get("status")
        exchange.status_code = status.get("code") if isinstance(status, dict) else http_response.get("status_code")
        return exchange
    return Exchange(request, response, data)


#: Service tiers as logged (OpenAI's response ``service_tier``, Anthropic's ``usage.service_tier``)
#: to the tier they are billed at. OpenAI's "default", "auto" and "scale" are billed at list price.
_TIERS = {"default": "standard", "auto": "standard", "scale": "standard", "standard": "standard",
          "flex": "flex", "priority": "priority", "batch": "batch"}


def service_tier(value: Any) -> str | None:
    """The billing tier (standard, batch, flex, priority) a logged ``service_tier`` stands for; None if unknown."""
    return _TIERS.get(value) if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    """An int from a usage field that may be missing, null, a float or a digit string."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinity
        raise BadRecord(f"usage field is not a number: {value!r}") from None


def sample_rate(wrapper: dict[str, Any]) -> float | None:
    """The share of calls the logger kept, when the wrapper says (``sample_rate``), checked to be in (0, 1]."""
    rate = number(wrapper.get("sample_rate"))
    if rate is not None and not 0 < rate <= 1:
        raise BadRecord(f"sample_rate {rate} is not in (0, 1]")
    return rate


def number(value: Any) -> float | None:
    """A float from a value that may be missing, a bool, or not a number at all."""
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def content_id(body: Any, response: Any) -> str:
    """A stable id for a request logged without one: the hash of its canonical JSON."""
    canonical = json.dumps([body, response], sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
