"""Docs match the code: the README's generated sections are fresh, and everything has its words."""

from __future__ import annotations

import re

from analyzer import docs, parsers, queries
from analyzer.cli import cli

from .conftest import REPO


def test_readme_generated_sections_are_fresh():
    current = docs.README.read_text(encoding="utf-8")
    assert docs.render(current) == current, "README.md is stale: run `python -m analyzer.docs`"


def test_every_command_has_help_and_a_readme_section():
    readme = docs.README.read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        assert command.help, name
        assert f"### `crossover {name}`" in readme


def test_every_saved_query_has_a_title_and_description():
    catalogue = queries.catalogue()
    assert len(catalogue) >= 5
    for q in catalogue:
        assert q.title != q.name and len(q.description) > 20, q.name


def test_every_format_is_described():
    for fmt in parsers.formats():
        assert fmt.description and fmt.name in docs.formats_block()


def test_readme_setup_is_the_two_commands_ci_runs():
    readme = docs.README.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    assert blocks[0] == "python -m pip install . && crossover analyze sample_logs/"
    assert blocks[1] == "python -m pip install '.[test]' && python -m pytest"
    assert blocks[1] in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_scenario_example_is_valid(tmp_path):
    from analyzer import scenario

    readme = docs.README.read_text(encoding="utf-8")
    [example] = re.findall(r"```toml\n(.*?)\n```", readme, re.S)
    (tmp_path / "example.toml").write_text(example, encoding="utf-8")
    loaded = scenario.load(tmp_path / "example.toml")
    assert loaded["finetune.target_model"] == "gpt-4o-mini" and loaded.prices["gpt-4o"]["input"] == 2.0
