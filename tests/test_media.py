"""analyzer.media: image headers, data URLs, and the providers' published image token rules."""

import base64
import struct
import zlib

import pytest

from analyzer.media import (
    anthropic_image_tokens,
    anthropic_resized_size,
    image_size,
    image_size_from_url,
    openai_image_tokens,
    part_tokens,
)


def png(width: int, height: int) -> bytes:
    """A real, decodable 8-bit grayscale PNG, black."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = (b"\x00" + b"\x00" * width) * height  # filter byte 0 then the pixels, per row
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def jpeg(width: int, height: int, exif: int = 0) -> bytes:
    """SOI, JFIF APP0, optional APP1 padding (an EXIF stand-in), a baseline SOF0 frame header, EOI."""
    def segment(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body
    out = b"\xff\xd8" + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    while exif > 0:  # a segment holds at most 65533 bytes
        size = min(exif, 60000)
        out += segment(0xE1, b"\x00" * size)
        exif -= size
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return out + b"\xff\xff" + segment(0xC0, sof) + b"\xff\xd9"  # with a fill byte before SOF0


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b";"


def webp(chunk: bytes, body: bytes) -> bytes:
    payload = b"WEBP" + chunk + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


def vp8(width: int, height: int) -> bytes:  # lossy: frame tag, start code, 14-bit sizes
    return webp(b"VP8 ", b"\x30\x01\x00\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\x00" * 8)


def vp8l(width: int, height: int) -> bytes:  # lossless: signature 0x2f, then 14 + 14 bits of size - 1
    return webp(b"VP8L", b"\x2f" + struct.pack("<I", (width - 1) | (height - 1) << 14) + b"\x00" * 4)


def vp8x(width: int, height: int) -> bytes:  # extended: flags, reserved, then 24-bit size - 1
    return webp(b"VP8X", b"\x10\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"))


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.mark.parametrize("make", [png, jpeg, gif, vp8, vp8l, vp8x])
def test_image_size_reads_each_format(make):
    assert image_size(make(37, 21)) == (37, 21)
    assert image_size(make(300, 2)) == (300, 2)


def test_image_size_large_and_odd_sizes():
    assert image_size(jpeg(4032, 3024, exif=70_000)) == (4032, 3024)  # frame header behind 70 KB of EXIF
    assert image_size(vp8(16383, 1)) == (16383, 1)  # the 14-bit maximum
    assert image_size(vp8x(20000, 9)) == (20000, 9)  # VP8X's canvas goes past 14 bits
    assert image_size(png(1024, 1024)) == (1024, 1024)


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n", jpeg(10, 10)[:30], b"\xff\xd8\xff\xda",
                                  b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"%PDF-1.7\n", gif(0, 5)])
def test_image_size_unknown_or_truncated(data):
    assert image_size(data) is None


def test_image_size_from_url():
    assert image_size_from_url(data_url(png(640, 480))) == (640, 480)
    assert image_size_from_url(data_url(vp8l(5, 7), "image/webp")) == (5, 7)
    assert image_size_from_url(data_url(jpeg(1920, 1080, exif=100_000), "image/jpeg")) == (1920, 1080)
    wrapped = base64.encodebytes(gif(12, 34)).decode()  # base64 with newlines in it
    assert image_size_from_url("data:image/gif;base64," + wrapped) == (12, 34)
    urlsafe = base64.urlsafe_b64encode(jpeg(255, 254)).decode().rstrip("=")
    assert image_size_from_url("data:image/jpeg;base64," + urlsafe) == (255, 254)


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "http://example.com/a.jpg", "data:image/png,rawbytes",
                                 "data:image/png;base64,!!!!", "data:image/png;base64,", "data:text/plain;base64,aGk=",
                                 "", None])
def test_image_size_from_url_none(url):
    assert image_size_from_url(url) is None


def test_openai_tiles_worked_examples():
    # The three worked examples of the OpenAI page, for gpt-4o.
    assert openai_image_tokens("gpt-4o", 1024, 1024, "high") == 765  # 768x768, 4 tiles
    assert openai_image_tokens("gpt-4o", 2048, 4096, "high") == 1105  # 1024x2048, 768x1536, 6 tiles
    assert openai_image_tokens("gpt-4o", 4096, 8192, "low") == 85
    assert openai_image_tokens("gpt-4o", 1024, 1024) == 765  # auto counted as high
    assert openai_image_tokens("gpt-4o", 512, 512, "high") == 255  # not enlarged to 768: one tile


@pytest.mark.parametrize("model, low, high_1024", [
    ("gpt-4o-mini", 2833, 2833 + 4 * 5667),  # the table's figures applied to the 1024x1024 example
    ("gpt-4.1", 85, 765), ("gpt-4.5-preview", 85, 765), ("chatgpt-4o-latest", 85, 765), ("gpt-4-turbo", 85, 765),
    ("o1", 75, 675), ("o1-pro", 75, 675), ("o3", 75, 675),
    ("gpt-5", 70, 630), ("gpt-5-chat-latest", 70, 630), ("computer-use-preview", 65, 581),
])
def test_openai_tile_table(model, low, high_1024):
    assert openai_image_tokens(model, 1024, 1024, "low") == low
    assert openai_image_tokens(model, 1024, 1024, "high") == high_1024


def test_openai_patch_worked_examples():
    # The page's examples give patches (1024 and 1452); the multiplier then applies per model.
    assert openai_image_tokens("gpt-4.1-mini", 1024, 1024) == 1659  # 1024 * 1.62 = 1658.88
    assert openai_image_tokens("gpt-4.1-mini", 1800, 2400) == 2352  # 33 * 44 = 1452 patches * 1.62
    assert openai_image_tokens("gpt-5-mini", 2400, 1800) == 2352
    assert openai_image_tokens("gpt-4.1-nano", 1024, 1024) == 2519  # * 2.46 = 2519.04
    assert openai_image_tokens("gpt-5-nano", 1800, 2400) == 3572  # * 2.46 = 3571.92
    assert openai_image_tokens("o4-mini", 1024, 1024) == 1761  # * 1.72 = 1761.28
    assert openai_image_tokens("o4-mini", 1024, 1024, "low") == 1761  # the patch rule has no detail level
    assert openai_image_tokens("gpt-4.1-mini", 20, 20) == 2  # one patch, 1.62 rounded
    assert openai_image_tokens("gpt-4.1-mini", 8000, 8000) == 2464  # shrunk to 39 * 39 = 1521 patches


def test_openai_model_names():
    assert openai_image_tokens("gpt-4o-2024-08-06", 1024, 1024) == 765
    assert openai_image_tokens("ft:gpt-4o-2024-08-06:acme::abc123", 1024, 1024) == 765
    assert openai_image_tokens("openai/gpt-4.1-mini-2025-04-14", 1024, 1024) == 1659
    assert openai_image_tokens("GPT-4o-mini-2024-07-18", 1024, 1024, "low") == 2833
    for model in ("o3-mini", "gpt-5.1", "gpt-image-1", "gemini-2.0-flash", "claude-sonnet-4-5", "", "my-deployment"):
        assert openai_image_tokens(model, 1024, 1024) is None, model
    assert openai_image_tokens("gpt-4o", 1024, 1024, "original") is None  # a detail the rule does not describe
    assert openai_image_tokens("gpt-4o", 0, 1024) is None


@pytest.mark.parametrize("size, standard, high_res", [
    # The table of Anthropic's vision page: standard tier, then high-resolution tier (Claude 4.7+).
    ((200, 200), 64, 64), ((1000, 1000), 1296, 1296), ((1092, 1092), 1521, 1521),
    ((1920, 1080), 1560, 2691), ((2000, 1500), 1564, 3888), ((3840, 2160), 1560, 4784),
])
def test_anthropic_docs_table(size, standard, high_res):
    assert anthropic_image_tokens(*size) == standard
    assert anthropic_image_tokens(*size, model="claude-sonnet-4-5-20250929") == standard
    assert anthropic_image_tokens(*size, model="claude-opus-4-7") == high_res
    assert anthropic_image_tokens(*reversed(size), model="claude-opus-4-7") == high_res  # portrait alike


def test_anthropic_resize():
    assert anthropic_resized_size(1920, 1080) == (1456, 819)  # the token limit, not the edge, decides
    assert anthropic_resized_size(3840, 2160, "claude-opus-4-7") == (2576, 1449)
    assert anthropic_resized_size(1075, 1520) == (924, 1307)  # the A4 scan: under 1568 px, still resized
    assert anthropic_image_tokens(1075, 1520) == 33 * 47
    assert anthropic_resized_size(1568, 7698) == (319, 1568)  # a tall screenshot meets the edge limit
    assert anthropic_image_tokens(0, 100) == 0


def test_anthropic_tier_from_model_name():
    for model in ("claude-opus-4-8", "anthropic/claude-sonnet-5", "us.anthropic.claude-opus-4-7-v1:0"):
        assert anthropic_image_tokens(1920, 1080, model=model) == 2691, model
    for model in ("claude-opus-4-20250514", "claude-3-5-sonnet-20240620", "claude-haiku-4-5", "claude-opus-4-1"):
        assert anthropic_image_tokens(1920, 1080, model=model) == 1560, model


def test_part_tokens_openai_chat_and_responses():
    url = data_url(png(1024, 1024))
    assert part_tokens({"type": "image_url", "image_url": {"url": url}}, "gpt-4o") == 765
    assert part_tokens({"type": "image_url", "image_url": {"url": url, "detail": "low"}}, "gpt-4o") == 85
    assert part_tokens({"type": "image_url", "image_url": url}, "gpt-4.1-mini") == 1659
    assert part_tokens({"type": "input_image", "image_url": url, "detail": "low"}, "gpt-4o-mini") == 2833
    assert part_tokens({"type": "input_image", "image_url": url}, "o3") == 675
    # Claude through an OpenAI-compatible gateway: Anthropic's rule.
    assert part_tokens({"type": "image_url", "image_url": {"url": url}}, "anthropic/claude-sonnet-4-5") == 37 * 37


@pytest.mark.parametrize("part", [
    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    {"type": "input_image", "file_id": "file-abc"},
    {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "high"},
    {"type": "input_audio", "input_audio": {"data": base64.b64encode(b"RIFF....WAVE").decode(), "format": "wav"}},
    {"type": "file", "file": {"file_data": data_url(b"%PDF-1.7\n", "application/pdf"), "filename": "a.pdf"}},
    {"type": "input_file", "file_id": "file-abc"},
    {"type": "text", "text": "hello"},
    {"type": "image_url", "image_url": {"url": data_url(b"garbage")}},
])
def test_part_tokens_unknowable_openai(part):
    assert part_tokens(part, "gpt-4o") is None


def test_part_tokens_anthropic():
    data = base64.b64encode(png(1000, 1000)).decode()
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
    assert part_tokens(block, "claude-sonnet-4-5-20250929") == 1296
    jpg = base64.b64encode(jpeg(3840, 2160)).decode()
    big = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": jpg}}
    assert part_tokens(big, "claude-3-5-sonnet-20240620") == 1560
    assert part_tokens(big, "claude-opus-4-7") == 4784
    assert part_tokens(block, "") == 1296  # an Anthropic block with no model: the standard tier


@pytest.mark.parametrize("part", [
    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    {"type": "image", "source": {"type": "file", "file_id": "file_011"}},
    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "bm90IGFuIGltYWdl"}},
    {"type": "image"},
    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjcK"}},
    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain text"}},
    {"type": "tool_use", "id": "t1", "name": "f", "input": {}},
])
def test_part_tokens_unknowable_anthropic(part):
    assert part_tokens(part, "claude-sonnet-4-5") is None
