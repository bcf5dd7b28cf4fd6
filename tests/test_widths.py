"""Every table fits the terminal it is printed on: at 80, 100 and 120 columns, through click and in a real one."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from analyzer import api

from .conftest import ingested_sample, invoke

WIDTHS = (80, 100, 120)
COMMANDS = (["report"], ["templates"], ["templates", "--versions"], ["prices"], ["query", "--list"],
            ["query", "daily_volume"], ["query", "cost_by_model_day"], ["formats"])


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    """The sample logs ingested once for the module."""
    return ingested_sample(tmp_path_factory, "sample")


def _too_wide(text: str, width: int) -> list[str]:
    return [line for line in text.splitlines() if len(line.rstrip()) > width]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_tables_fit_the_width_click_gives(sample_db, monkeypatch, args, width):
    monkeypatch.setenv("COLUMNS", str(width))
    out = invoke([*args, *(["--db", str(sample_db)] if args != ["formats"] else [])]).output
    assert out.strip() and not _too_wide(out, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_headers_and_dates_are_whole_or_named_as_left_out(sample_db, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    for args in (["templates"], ["prices"]):
        out = invoke([*args, "--db", str(sample_db)]).output
        rows = api.templates(str(sample_db)) if args == ["templates"] else api.prices(db=str(sample_db))
        header = out.splitlines()[0]
        for name in rows.columns:
            assert re.search(rf"(?<!\w){name}(?!\w)", out), (name, out)  # in the header, or in "more columns: …"
        assert "…" not in header
        shown_dates = re.findall(r"\b2026-10-\d\d\b", out)
        assert "first" not in header or shown_dates  # a date column shown is shown whole
        assert not re.search(r"2026-1…|2026-10…", out)


def test_wide_shows_every_column_however_wide(sample_db, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    narrow = invoke(["templates", "--db", str(sample_db)]).output
    wide = invoke(["templates", "--wide", "--db", str(sample_db)]).output
    assert "more columns" in narrow and "more columns" not in wide
    assert "static_cached_share" in wide.splitlines()[0] and _too_wide(wide, 80)
    report = invoke(["report", "--wide", "--db", str(sample_db)]).output
    assert "FT break-even months" in report and "upkeep" in report


def test_report_leads_each_template_with_its_action(sample_db, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = invoke(["report", "--db", str(sample_db)]).output
    projection = api.report(str(sample_db))
    lines = out.splitlines()
    for t in projection.templates:
        [head] = [i for i, line in enumerate(lines) if re.match(rf"{re.escape(t.decision)}\s", line)
                  and t.template_id in lines[i + 1:i + 5][-1] + "".join(lines[i + 1:i + 5])][:1]
        assert lines[head].split(None, 1)[1].split()[0] in t.recommendation.text
    [go] = [t for t in projection.templates if t.decision == "GO"]
    # The sample's router: trim the examples first, then fine-tune the smaller model, netting the best option.
    assert [s.option for s in go.recommendation.steps] == ["trim_fewshot", "finetune_smaller"]
    assert go.recommendation.net_savings_horizon == go.best_option.net_savings_horizon
    total = sum(t.recommendation.net_savings_horizon for t in projection.templates)
    assert projection.overall.recommended_net_horizon == pytest.approx(total)
    assert f"net +${total:,.0f} over 12 months" in " ".join(lines[:3])
    assert out.count("Next steps:") == 1 and out.count("crossover query token_anatomy") == 1


# A real terminal ----------------------------------------------------------------------------------

RUNS = itertools.count()


def _crossover() -> list[str]:
    found = shutil.which("crossover")
    return [found] if found else [sys.executable, "-m", "analyzer"]


def run_in_tmux(args: list[str], width: int, tmp_path, env: str = "", escapes: bool = False) -> str:
    """Run crossover in a detached tmux pane ``width`` columns wide; its screen and scrollback, wrapped lines joined.

    Joined (-J), a line the terminal had to wrap comes back as one line longer than the pane.
    """
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed: the real-terminal check needs it")
    run = next(RUNS)
    socket, done = f"crossover-test-{os.getpid()}-{run}", tmp_path / f"done-{run}"
    command = " ".join([f"env -u COLUMNS -u NO_COLOR -u FORCE_COLOR {env}", *_crossover(), *args])
    script = f"{command}; echo finished > {done}; sleep 600"
    try:
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-x", str(width), "-y", "50", "-s", "t", script],
                       check=True, timeout=30)
        deadline = time.monotonic() + 120
        while not done.exists():
            assert time.monotonic() < deadline, "crossover did not finish in the tmux pane"
            time.sleep(0.2)
        capture = ["tmux", "-L", socket, "capture-pane", "-p", "-J", "-S", "-", "-t", "t", *(["-e"] if escapes else [])]
        return subprocess.run(capture, check=True, capture_output=True, text=True, timeout=30).stdout
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=30)  # our own server only


@pytest.mark.parametrize("width", (80, 120))
def test_report_and_tables_fit_a_real_terminal(sample_db, tmp_path, width):
    for args in (["report"], ["templates"], ["prices"], ["query", "--list"]):
        screen = run_in_tmux([*args, "--db", str(sample_db)], width, tmp_path)
        assert screen.strip() and not _too_wide(screen, width), (args, _too_wide(screen, width))


def test_decisions_are_coloured_on_a_terminal_and_plain_under_no_color(sample_db, tmp_path):
    coloured = run_in_tmux(["report", "--db", str(sample_db)], 100, tmp_path, escapes=True)
    assert re.search(r"\x1b\[[0-9;]*m\s*GO\s*\x1b\[", coloured) and re.search(r"\x1b\[[0-9;]*mNO-GO", coloured)
    plain = run_in_tmux(["report", "--db", str(sample_db)], 120, tmp_path, env="NO_COLOR=1", escapes=True)
    assert "NO-GO" in plain and "\x1b[" not in plain
    piped = invoke(["report", "--db", str(sample_db)]).output  # click's runner: not a terminal
    assert "NO-GO" in piped and "\x1b[" not in piped
