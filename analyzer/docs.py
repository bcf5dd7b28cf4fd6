"""Generate the README's reference sections from the code, so that docs and code cannot drift.

``python -m analyzer.docs`` rewrites every block between ``<!-- generated:NAME -->`` and
``<!-- /generated:NAME -->`` in README.md; ``--check`` exits 1 when one is stale (the tests run it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from . import costs, parsers, queries, storage, weak_inputs
from .cli import cli
from .scenario import scenario_keys_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def command_help(name: str) -> str:
    """The ``--help`` text of one command, as a user sees it."""
    command = cli.commands[name]
    # The group's settings (its -h) as when run: click keeps a command's help option once made, so
    # a context without them would print whatever an earlier invocation left.
    with click.Context(command, info_name=f"crossover {name}", terminal_width=100, **cli.context_settings) as ctx:
        return command.get_help(ctx)


def commands_block() -> str:
    """One subsection per command with its help text."""
    parts = []
    for name in sorted(cli.commands):
        parts.append(f"### `crossover {name}`\n\n```\n{command_help(name)}\n```")
    return "\n\n".join(parts)


def queries_block() -> str:
    """The saved-queries catalogue."""
    lines = ["| name | title | parameters | description |", "|---|---|---|---|"]
    for q in queries.catalogue():
        params = ", ".join(f"`{p}`" for p in q.params) or "—"
        lines.append(f"| `{q.name}` | {q.title} | {params} | {q.description} |")
    return "\n".join(lines)


def formats_block() -> str:
    """The log formats, in detection order."""
    lines = ["| format | identified by |", "|---|---|"]
    lines += [f"| `{f.name}` | {f.description} |" for f in parsers.formats()]
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text safe in a markdown table cell: no column breaks, emphasis or HTML tags."""
    return text.replace("|", "\\|").replace("*", "\\*").replace("<", "\\<")


def schema_block() -> str:
    """Every table and view of the database, column by column, from their declarations."""
    parts = []
    for table in storage.TABLES.values():
        key = f" Primary key: {', '.join(f'`{k}`' for k in table.key)}." if table.key else ""
        parts.append(f"**`{table.name}`**: {table.description}{key}\n\n" + _columns(table.columns))
    for view in storage.VIEWS.values():
        base = f" Every column of `{view.base}`, then:" if view.base else ""
        parts.append(f"**`{view.name}`** (view): {view.description}{base}\n\n" + _columns(view.columns))
    return "\n\n".join(parts)


def _columns(columns: tuple[storage.tables.Column, ...]) -> str:
    lines = ["| column | type | holds |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type}{' NOT NULL' if c.not_null else ''} | {_cell(c.description)} |" for c in columns]
    return "\n".join(lines)


def codes_block() -> str:
    """The codes of the JSON report's warnings (``warning_codes``) and reasons (``reason_codes``)."""
    parts = []
    for title, codes in (("`warning_codes`", weak_inputs.CODES), ("`reason_codes`", costs.REASON_CODES)):
        lines = [f"| {title} code | given when |", "|---|---|"]
        parts.append("\n".join(lines + [f"| `{code}` | {_cell(when)} |" for code, when in codes.items()]))
    return "\n\n".join(parts)


BLOCKS = {"commands": commands_block, "queries": queries_block, "scenario": scenario_keys_markdown,
          "formats": formats_block, "schema": schema_block, "codes": codes_block}


def render(text: str) -> str:
    """The README text with every generated block brought up to date."""
    for name, make in BLOCKS.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- generated:{name} --> block")
        block = make()
        text = pattern.sub(lambda m, block=block: m.group(1) + block + "\n" + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    """Rewrite README.md, or with ``--check`` report whether it is stale."""
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in argv:
        if fresh != current:
            print("README.md is stale: run `python -m analyzer.docs`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
