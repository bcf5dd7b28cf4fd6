"""What a person reads: bracketed text survives rich, numbers have one style, markdown holds the terminal's content."""

from __future__ import annotations

import json
import re

from analyzer import display

from .conftest import invoke
from .test_report import published_traffic


def test_bracketed_text_is_printed_not_taken_for_markup(tmp_path):
    published_traffic(tmp_path, days=2, per_day=5)
    (tmp_path / "s.toml").write_text('[finetune]\ntarget_model = "no-such-model"\n')
    out = invoke(["analyze", "logs", "--scenario", "s.toml", "--quiet"]).output
    assert "set [finetune] input_price and output_price" in re.sub(r"\s+", " ", out)
    listing = re.sub(r"\s+", " ", invoke(["query", "--list"]).output)
    assert "[traffic]" in listing or "[prices]" in listing


def test_one_number_style():
    assert display.count(8288) == "8,288" and display.usd(1181.0) == "$1,181" and display.usd(-0.001) == "$0"
    assert display.usd(0.0031164, per_request=True) == "$0.003116" and display.signed_usd(4923.8) == "+$4,924"
    # A column shares its decimals: 730 and 1,181.5 both with one.
    places = display.decimals([730.0, 1181.5])
    assert [display.number(v, places) for v in (730.0, 1181.5)] == ["730.0", "1,181.5"]
    assert display.decimals([7400.0, 74.0]) == 0 and display.short_model("gpt-4o-2024-08-06") == "gpt-4o"


def test_rows_columns_share_their_decimals(tmp_path):
    published_traffic(tmp_path, days=2, per_day=5)
    invoke(["ingest", "logs", "--quiet"])
    out = invoke(["prices", "--wide"]).output
    assert not re.search(r"\b\d+\.\d{2}\b.*\b\d+\.\d{6}\b", out.splitlines()[2])  # no 2.50 beside 0.000075


def test_markdown_holds_the_terminals_content_uncut(tmp_path):
    published_traffic(tmp_path, days=3, per_day=4)
    invoke(["ingest", "logs", "--quiet"])
    report = json.loads(invoke(["report", "--format", "json"]).stdout)
    [t] = report["templates"]
    markdown = invoke(["report", "--format", "markdown"]).output
    assert "tokens per request: system 1,500" in markdown and "per request now" in markdown
    assert f"## {t['decision']}: {t['label']}" in markdown and t["models"][0] in markdown  # whole, never cut
    assert t["recommendation"]["text"] in markdown and "## Next steps" in markdown


def test_report_as_csv_has_one_row_per_template_with_the_contract_keys(tmp_path):
    import csv
    import io

    published_traffic(tmp_path, days=3, per_day=4)
    invoke(["ingest", "logs", "--quiet"])
    [row] = list(csv.DictReader(io.StringIO(invoke(["report", "--format", "csv"]).stdout)))
    report = json.loads(invoke(["report", "--format", "json"]).stdout)["templates"][0]
    assert float(row["current_cost_per_request"]) == report["current_cost_per_request"]
    assert row["decision"] == report["decision"] and row["tokens_system"] == "1500.0"
    assert row["reasons"] == "; ".join(report["reasons"])


def test_dash_h_is_help_everywhere():
    assert "Usage: " in invoke(["-h"]).output
    assert "--wide" in invoke(["report", "-h"]).output
