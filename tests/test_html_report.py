"""The HTML report: its charts' series agree with the report's figures, the page fetches nothing, is the
same byte for byte on every run, and paints in a real browser."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict

import pytest

from analyzer import api, curves
from analyzer.rendering import OutputFormat, render_report

from .conftest import REPO, SAMPLE_LOGS, bench_script, invoke


def _screenshots():
    return bench_script("screenshots")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    db = tmp_path_factory.mktemp("html") / "sample.duckdb"
    api.ingest([str(SAMPLE_LOGS)], db=str(db))
    projection = api.report(str(db))
    return db, projection, render_report(projection, OutputFormat.HTML)


def test_each_option_crosses_today_at_its_reported_breakeven(sample):
    _, projection, _ = sample
    crossed = 0
    for t in projection.templates:
        chart = curves.cost_chart(t)
        for curve, month, cost in chart.crossings():
            # The curves are drawn from the projection; they must meet where the report says they do,
            # to the half hundredth of a month the report rounds break-even to.
            k = int(month)
            closing = (chart.today.cumulative[k + 1] - chart.today.cumulative[k]) - (
                curve.cumulative[k + 1] - curve.cumulative[k])
            assert abs(cost - curve.at(month)) <= 0.005 * abs(closing) + 0.01, (t.template_id, curve.key)
            crossed += 1
    assert crossed >= 3  # the GO classifier's fine-tunes, trimming and caching all pay back within the year


def test_each_curve_ends_at_the_option_net_over_the_horizon(sample):
    _, projection, _ = sample
    for t in projection.templates:
        chart = curves.cost_chart(t)
        nets = {o.key: o.net_savings_horizon for o in t.options}
        for curve in chart.options:
            assert curve.cumulative[0] == pytest.approx(next(o.upfront for o in t.options if o.key == curve.key))
            # Today's total less the option's, over the horizon, is what the report says the option nets.
            assert chart.today.cumulative[-1] - curve.cumulative[-1] == pytest.approx(nets[curve.key], abs=0.5)


def test_daily_volume_is_the_saved_query_daily_volume(sample):
    db, projection, _ = sample
    _, rows = api.query("daily_volume", str(db))
    by_day: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    for row in rows.iter_rows(named=True):
        by_day[row["template_id"]][row["day"]] += row["estimated_requests"]
    for t in projection.templates:
        series = curves.volume_series(t, projection.window)
        assert len(series.days) == projection.window.days and sum(series.daily) > 0
        for day, value in zip(series.days, series.daily, strict=True):
            assert value == pytest.approx(by_day[t.template_id].get(day, 0.0), abs=0.2), (t.template_id, day)


def test_the_trend_is_the_level_the_projection_grows_from(sample):
    _, projection, _ = sample
    for t in projection.templates:
        series = curves.volume_series(t, projection.window)
        middle = len(series.trend) // 2  # 31 days: the 16th is the window's middle
        assert series.trend[middle] == pytest.approx(t.daily_requests)
        assert (series.trend[-1] > series.trend[0]) == (t.volume.growth_per_month > 0)


def test_the_page_has_three_charts_per_template_and_fetches_nothing(sample):
    _, projection, html = sample
    assert html.count("<svg") == 3 * len(projection.templates)
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", html, re.I)
    # Nothing outside: no src or href (xlink:href included) and no CSS url() or @import that leaves the page.
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//|@import", html, re.I)
    references = re.findall(r"""(?:href=["']|url\()#([^"')]+)""", html)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert references and set(references) <= set(ids)  # every reference stays inside the page
    assert len(ids) == len(set(ids))  # ids prefixed per chart: no two charts share one


def test_the_page_says_what_each_template_should_do(sample):
    _, projection, html = sample
    for t in projection.templates:
        assert f'<span class="badge {t.decision.lower()}">{t.decision}</span>' in html
    assert "fine-tuning break-even range" not in html  # legend text is drawn as paths, not page text
    assert html.count("Cumulative cost over 12 months") == len(projection.templates)


def test_the_page_is_the_same_byte_for_byte_from_another_process(sample):
    db, projection, html = sample
    assert render_report(projection, OutputFormat.HTML) == html
    # A new process would draw with a fresh random hash salt and today's date if they were not fixed.
    again = subprocess.run([sys.executable, "-m", "analyzer", "report", "--db", str(db), "--format", "html"],
                           capture_output=True, text=True, timeout=300, cwd=REPO)
    assert again.returncode == 0, again.stderr
    assert again.stdout == html


def test_without_matplotlib_html_stops_before_any_work(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    out = invoke(["analyze", str(tmp_path / "no-such-logs"), "--format", "html"], code=2).output
    assert "pip install 'crossover-analyzer[html]'" in out and "no-such-logs" not in out
    assert "Traceback" not in out


def test_the_page_paints_in_a_headless_browser(sample, tmp_path):
    shots = _screenshots()
    browser = shots.find_browser()
    if browser is None:
        pytest.skip(f"no headless browser on PATH (looked for {', '.join(shots.BROWSERS)}); "
                    "on Debian: apt-get install chromium")
    from PIL import Image  # installed with matplotlib

    _, _, html = sample
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    png = tmp_path / "report.png"
    shots.screenshot(browser, page.as_uri(), png, width=1280, height=1900)
    image = Image.open(png).convert("RGB")
    assert image.size == (1280, 1900)
    colours = image.getcolors(maxcolors=1 << 20)
    white = sum(n for n, c in colours if min(c) > 245)
    assert white < 0.9 * 1280 * 1900  # not a blank page
    # The few-shot part of the token bar and the GO badge: the SVG charts and the page's style were painted.
    near = {name: sum(n for n, c in colours if all(abs(a - b) <= 6 for a, b in zip(c, rgb, strict=True)))
            for name, rgb in {"fewshot": (0xdd, 0x84, 0x52), "go": (0x17, 0x6b, 0x2c)}.items()}
    assert near["fewshot"] > 5_000 and near["go"] > 100, near


def test_a_template_without_a_price_gets_no_cost_chart_and_says_why(sample):
    from dataclasses import replace

    _, projection, _ = sample
    unpriced = replace(projection.templates[1], current_cost_per_request=None)
    assert curves.cost_chart(unpriced) is None
    page = render_report(replace(projection, templates=[projection.templates[0], unpriced]), OutputFormat.HTML)
    assert page.count("<svg") == 3 + 2 and "No cumulative cost: " in page and "has no list price" in page
