"""Token cost of the non-text parts of a prompt (images, audio, files), by each provider's published rule.

An image's tokens depend on its pixel size, which a logged request carries only inside the image
bytes: we read the size from the header of a base64 image (PNG, JPEG, GIF, WebP), decoding just
enough of it, and apply the rule of the model's provider. Where the request alone cannot tell the
cost (an image behind an http URL or a file id, audio, PDF and other files) the answer is None and
the caller falls back to the usage the provider reported.

OpenAI, https://platform.openai.com/docs/guides/images-vision#calculating-costs (the same page is
served at https://developers.openai.com/api/docs/guides/images-vision). Two rules, one table below
(``OPENAI_IMAGE_RULES``) saying which model takes which:

* Tiles (gpt-4o, chatgpt-4o-latest, gpt-4.1, gpt-4.5, gpt-4o-mini, o1, o1-pro, o3, gpt-5,
  gpt-5-chat-latest, computer-use-preview): ``detail: low`` costs the base tokens; otherwise scale
  to fit 2048x2048, then so the shortest side is 768, count the 512 px tiles covering it, and
  tokens = base + per_tile * tiles. Base/per tile: 85/170 for 4o, 4.1 and 4.5; 2833/5667 for
  4o-mini; 75/150 for o1, o1-pro and o3; 70/140 for gpt-5 and gpt-5-chat-latest; 65/129 for
  computer-use-preview. gpt-4-turbo and the gpt-4 vision previews take 85/170 from the page's
  earlier version, https://platform.openai.com/docs/guides/vision#calculating-costs.
* Patches (gpt-4.1-mini, gpt-4.1-nano, gpt-5-mini, gpt-5-nano, o4-mini): count the 32 px patches
  covering the image; past 1536, shrink by the page's formula to fit 1536; multiply by 1.62
  (gpt-4.1-mini, gpt-5-mini), 2.46 (gpt-4.1-nano, gpt-5-nano) or 1.72 (o4-mini).

Limits: ``detail: auto`` lets the model choose and is counted as ``high`` (an upper bound); a
detail value the page does not describe gives None; the patch rule has no detail setting, so detail
is ignored there. The page says neither how scaled sizes nor multiplied counts are rounded: scaled
sizes are truncated and counts rounded to nearest, which fits the bills users reported (1452
patches on gpt-4.1-mini billed 2352 = 1452 * 1.62). Models not in the table (gpt-5.1 and later,
o3-mini, gpt-image-1, Azure deployment names…) give None: no published rule names them.
Users have reported bills above the patch formula for some elongated images (4000x1474 billed
the full 1536 patches on gpt-4.1-mini, where the formula gives 1449) and a pricing calculator
using lower gpt-5-mini/nano multipliers; the figures here are the page's.

Anthropic, https://platform.claude.com/docs/en/build-with-claude/vision#evaluate-image-size: an
image costs ceil(w/28) * ceil(h/28) tokens, after being shrunk to the largest aspect-preserving
size within the model's limits (long edge 1568 px and 1568 tokens; 2576 px and 4784 tokens for
Claude 4.7 and later), by the rule of
https://platform.claude.com/docs/en/build-with-claude/vision-coordinates#how-claude-resizes-and-pads-images.
This replaces the older estimate ceil(w*h/750) after a 1568 px / ~1.15 megapixel resize, which
that page used to give (1092x1092: ~1590 then, 1521 now). Limit: the tier is read from the
version in the model name, so a name without a Claude version gets the standard tier.

Audio and files are None: OpenAI publishes no per-second token rule for audio input, and a PDF is
billed as its extracted text plus an image of each page (OpenAI's file inputs, Anthropic's
``document`` blocks), which depends on the file's contents, not on anything the request states.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from dataclasses import dataclass

from .tokenizing import base_model_name

#: Part types whose tokens this module prices (or knows it cannot): every other part is text or a
#: tool block, counted by the text counter.
MEDIA_PART_TYPES = frozenset({"image_url", "input_audio", "file", "input_image", "input_file", "image", "document"})


@dataclass(frozen=True)
class Tiles:
    """OpenAI's tile rule: ``base`` tokens, plus ``per_tile`` per 512 px tile at high detail."""

    base: int
    per_tile: int


@dataclass(frozen=True)
class Patches:
    """OpenAI's patch rule: 32 px patches (at most 1536) times ``percent`` / 100."""

    percent: int  # the multiplier in hundredths, so 1.62 * patches is exact integer arithmetic


#: Model family → image rule, as the OpenAI page lists them. Dated snapshots (``-2024-08-06``) of a
#: family share its rule; a name missing here has no published rule.
OPENAI_IMAGE_RULES: dict[str, Tiles | Patches] = {
    "gpt-4o": Tiles(85, 170),
    "chatgpt-4o-latest": Tiles(85, 170),
    "gpt-4.1": Tiles(85, 170),
    "gpt-4.5": Tiles(85, 170),
    "gpt-4.5-preview": Tiles(85, 170),
    "gpt-4-turbo": Tiles(85, 170),
    "gpt-4-vision-preview": Tiles(85, 170),
    "gpt-4-1106-vision-preview": Tiles(85, 170),
    "gpt-4o-mini": Tiles(2833, 5667),
    "o1": Tiles(75, 150),
    "o1-pro": Tiles(75, 150),
    "o3": Tiles(75, 150),
    "gpt-5": Tiles(70, 140),
    "gpt-5-chat-latest": Tiles(70, 140),
    "computer-use-preview": Tiles(65, 129),
    "gpt-4.1-mini": Patches(162),
    "gpt-4.1-nano": Patches(246),
    "gpt-5-mini": Patches(162),
    "gpt-5-nano": Patches(246),
    "o4-mini": Patches(172),
}

_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")
# claude-opus-4-7, claude-sonnet-4-5-20250929, claude-3-5-sonnet-20240620, bedrock's
# anthropic.claude-3-opus-…: the family word is optional and a dated suffix is not a minor version.
_CLAUDE_VERSION = re.compile(r"claude-(?:[a-z]+-)?(\d+)(?:[-.](\d{1,2})(?!\d))?")
_CLAUDE_STANDARD = (1568, 1568)  # (long edge px, visual tokens)
_CLAUDE_HIGH_RES = (2576, 4784)  # Claude 4.7 and later
_CLAUDE_PATCH = 28
_OPENAI_PATCH, _OPENAI_PATCH_CAP = 32, 1536


# --- image size from the header ---------------------------------------------------------------

def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from the header of a PNG, JPEG, GIF or WebP (VP8, VP8L, VP8X) image.

    None if unknown.
    """
    size = _header_size(data)
    return size if size and size[0] > 0 and size[1] > 0 else None


def _header_size(data: bytes) -> tuple[int, int] | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    return None


# Start-of-frame markers carry the size; C4 (huffman), C8 (reserved) and CC (arithmetic) do not.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    # Walk the segments: the frame header may come after EXIF, ICC profiles and tables.
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # standalone markers have no length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return None
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF  # the top two bits are the upscaling hint
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def image_size_from_url(url: str) -> tuple[int, int] | None:
    """Decode a `data:image/...;base64,` URL's header only (decode just enough bytes) and return its size.

    None for http(s) URLs or bad data.
    """
    if not isinstance(url, str) or not url.startswith("data:"):
        return None
    meta, sep, payload = url.partition(",")
    if not sep or not meta.lower().endswith(";base64"):
        return None
    return size_from_base64(payload)


def size_from_base64(payload: str) -> tuple[int, int] | None:
    """The image size from base64 text, decoding a growing prefix until the header is read."""
    if not isinstance(payload, str):
        return None
    text = payload.strip()
    # A few KB hold a PNG, GIF or WebP header; a JPEG's frame header can sit behind 64 KB of EXIF.
    # Doubling the prefix keeps the work within twice one full decode, even for an unknown format.
    n = 4096
    while True:
        data = _b64_prefix(text, n)
        if data is None:
            text = _clean_b64(text)  # whitespace or URL-safe letters broke the prefix: normalise once
            data = _b64_prefix(text, n)
            if data is None:
                return None
        size = image_size(data)
        if size is not None or n >= len(text):
            return size
        n *= 2


def _b64_prefix(text: str, n: int) -> bytes | None:
    chunk = text[:n - n % 4] if n < len(text) else text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(chunk, validate=True)
    except (binascii.Error, ValueError):
        return None


def _clean_b64(text: str) -> str:
    return "".join(text.split()).replace("-", "+").replace("_", "/").rstrip("=")


# --- OpenAI ------------------------------------------------------------------------------------

def openai_image_rule(model: str) -> Tiles | Patches | None:
    """The image rule of an OpenAI model, snapshots and fine-tunes included; None when unpublished."""
    name = base_model_name(model)
    return OPENAI_IMAGE_RULES.get(name) or OPENAI_IMAGE_RULES.get(_SNAPSHOT.sub("", name))


def openai_image_tokens(model: str, width: int, height: int, detail: str = "auto") -> int | None:
    """Tokens OpenAI bills for one image input, by its published rule for that model family.

    None when no published rule applies.
    """
    rule = openai_image_rule(model)
    if rule is None or width <= 0 or height <= 0:
        return None
    if isinstance(rule, Patches):
        return (_openai_patches(width, height) * rule.percent + 50) // 100
    detail = (detail or "auto").lower()
    if detail == "low":
        return rule.base
    if detail not in ("high", "auto"):
        return None  # "auto" lets the model choose: counted as high, the upper bound
    return rule.base + rule.per_tile * _openai_tiles(width, height)


def _openai_tiles(width: int, height: int) -> int:
    # Both steps only shrink: a small image is not enlarged to 768 px (a 512x512 image is one tile).
    longest = max(width, height)
    if longest > 2048:
        width, height = width * 2048 // longest, height * 2048 // longest
    shortest = min(width, height)
    if shortest > 768:
        width, height = width * 768 // shortest, height * 768 // shortest
    return math.ceil(width / 512) * math.ceil(height / 512)


def _openai_patches(width: int, height: int) -> int:
    p = _OPENAI_PATCH
    if math.ceil(width / p) * math.ceil(height / p) > _OPENAI_PATCH_CAP:
        # The page's shrink: to the patch budget, then down to a whole number of patches on one side.
        r = math.sqrt(p * p * _OPENAI_PATCH_CAP / (width * height))
        fits = [math.floor(side * r / p) / (side * r / p) for side in (width, height) if side * r >= p]
        r *= min(fits, default=1.0)
        width, height = width * r, height * r
    # The epsilon keeps 1408.0000001 px at 44 patches: the page's worked example lands exactly on it.
    patches = max(math.ceil(width / p - 1e-9), 1) * max(math.ceil(height / p - 1e-9), 1)
    return min(patches, _OPENAI_PATCH_CAP)


# --- Anthropic ---------------------------------------------------------------------------------

def _claude_limits(model: str) -> tuple[int, int]:
    match = _CLAUDE_VERSION.search(base_model_name(model))
    if match and (int(match[1]), int(match[2] or 0)) >= (4, 7):
        return _CLAUDE_HIGH_RES
    return _CLAUDE_STANDARD


def _claude_patches(width: int, height: int) -> int:
    return math.ceil(width / _CLAUDE_PATCH) * math.ceil(height / _CLAUDE_PATCH)


def anthropic_resized_size(width: int, height: int, model: str = "") -> tuple[int, int]:
    """The size Claude shrinks an image to before counting it (the docs' reference rule), unchanged if it fits."""
    max_edge, max_tokens = _claude_limits(model)

    def fits(w: int, h: int) -> bool:
        # The edge limit applies to the padded size: each side rounded up to whole patches.
        padded = _CLAUDE_PATCH * max(math.ceil(w / _CLAUDE_PATCH), math.ceil(h / _CLAUDE_PATCH))
        return padded <= max_edge and _claude_patches(w, h) <= max_tokens

    if width <= 0 or height <= 0 or fits(width, height):
        return width, height
    if height > width:
        h, w = anthropic_resized_size(height, width, model)
        return w, h
    # Largest long edge that fits, by bisection; round() is half-to-even like the docs' reference,
    # which the page says matches the live API on exact .5 ties.
    ratio = width / height
    lo, hi = 1, width  # lo always fits, hi never does
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if fits(mid, max(round(mid / ratio), 1)):
            lo = mid
        else:
            hi = mid
    return lo, max(round(lo / ratio), 1)


def anthropic_image_tokens(width: int, height: int, model: str = "") -> int:
    """Anthropic's published rule: shrink to the model tier's limits, then tokens = ceil(w/28) * ceil(h/28).

    ``model`` picks the tier (Claude 4.7 and later: 2576 px / 4784 tokens; else 1568 px / 1568).
    """
    if width <= 0 or height <= 0:
        return 0
    return _claude_patches(*anthropic_resized_size(width, height, model))


# --- content parts -----------------------------------------------------------------------------

def part_tokens(part: dict, model: str) -> int | None:
    """Tokens for one content part of an OpenAI Chat (`image_url`, `input_audio`, `file`), Responses
    (`input_image`, `input_file`) or Anthropic (`image` with base64/url source, `document`) message.

    None when it cannot be known from the request (an http URL image without dimensions, audio,
    files): the caller then falls back to reported usage. Text and tool parts are None too: they
    are the text counter's (see ``MEDIA_PART_TYPES``).
    """
    if not isinstance(part, dict):
        return None
    kind, detail, size = part.get("type"), None, None
    if kind in ("image_url", "input_image"):
        ref, detail = part.get("image_url"), part.get("detail")
        if isinstance(ref, dict):  # Chat nests {"url", "detail"}; Responses puts both on the part
            ref, detail = ref.get("url"), ref.get("detail", detail)
        size = image_size_from_url(ref) if isinstance(ref, str) else None  # a file_id has no size
    elif kind == "image":
        source = part.get("source") if isinstance(part.get("source"), dict) else {}
        if source.get("type") == "base64":
            size = size_from_base64(source.get("data"))
        elif source.get("type") == "url":
            size = image_size_from_url(source.get("url"))
    # input_audio, file, input_file, document: no rule prices them from the request (module docstring).
    if size is None:
        return None
    # The model's provider decides, not the part's shape: gateways send Chat image_url parts to Claude.
    if "claude" in base_model_name(model) or (kind == "image" and openai_image_rule(model) is None):
        return anthropic_image_tokens(*size, model=model)
    return openai_image_tokens(model, *size, detail=str(detail or "auto"))
