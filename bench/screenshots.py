"""Screenshots of the sample's HTML report in headless Chromium, for the README (docs/*.png).

``python bench/screenshots.py`` reads ``sample_logs/`` into a scratch database, writes the HTML
report and takes two screenshots (into ``--out``, docs/ by default): the top of the page (summary
and the GO template with its charts) and the first NO-GO template's section.
tests/test_html_report.py uses :func:`screenshot` to check the page in a real browser. The browser
is started with everything that would reach the network turned off, so a screenshot shows only
what the page carries itself.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")


def find_browser() -> str | None:
    """The first Chromium-like browser on PATH; None when there is none."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def screenshot(browser: str, url: str, out: Path, width: int = 1280, height: int = 2000, timeout: float = 120) -> None:
    """A PNG of ``url`` at ``width`` × ``height`` pixels, taken by ``browser`` headless with a throwaway profile.

    Raises:
        RuntimeError: the browser exited without writing the file.
    """
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={out}",
                               f"--window-size={width},{height}", url],
                              capture_output=True, text=True, timeout=timeout)
    if not out.exists():
        raise RuntimeError(f"{browser} wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}")


PAGE_HEIGHT = 8000  # pixels: more than the sample's page is long
RULE = (221, 221, 221)  # the colour of the rule above each template's section (report_html.STYLE)


def crop_section(png: Path, out: Path, section: int, height: int) -> None:
    """Cut ``height`` pixels from ``png`` from the rule above template section ``section`` (0 = the first)."""
    from PIL import Image  # a dependency of matplotlib, which the HTML report needs anyway

    image = Image.open(png).convert("RGB")
    width, rows = image.size
    pixels = image.load()
    # A rule is a row whose middle half is all the rule's colour; its 2 pixels count once.
    rules = [y for y in range(rows) if all(pixels[x, y] == RULE for x in range(width // 4, 3 * width // 4, 8))]
    starts = [y for y in rules if y - 1 not in rules]
    if len(starts) <= section:
        raise RuntimeError(f"{png}: found {len(starts)} section rules, wanted section {section}")
    top = max(starts[section] - 10, 0)
    image.crop((0, top, width, min(top + height, rows))).save(out, optimize=True)


def sample_report(work: Path) -> Path:
    """The sample's HTML report, written under ``work``."""
    sys.path.insert(0, str(ROOT))
    from analyzer import api
    from analyzer.rendering import OutputFormat, render_report

    db = work / "sample.duckdb"
    api.ingest([str(ROOT / "sample_logs")], db=str(db))
    page = work / "report.html"
    page.write_text(render_report(api.report(str(db)), OutputFormat.HTML), encoding="utf-8")
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshots of the sample's HTML report for the README.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNGs (default: docs/)")
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print(f"no browser on PATH (looked for {', '.join(BROWSERS)}); on Debian: apt-get install chromium",
              file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        page = sample_report(Path(work))
        screenshot(browser, page.as_uri(), args.out / "report-top.png", height=1900)
        # Headless Chromium paints nothing when sent to a #fragment, so the NO-GO section is cut from
        # a screenshot of the whole page, where it starts at the second section's rule.
        whole = Path(work) / "whole.png"
        screenshot(browser, page.as_uri(), whole, height=PAGE_HEIGHT)
        crop_section(whole, args.out / "report-no-go.png", section=1, height=1500)
        print(args.out / "report-top.png", args.out / "report-no-go.png", sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
