"""The house style's layering, checked on the source: the CLI is an adapter, the data flows one way."""

from __future__ import annotations

import ast
from pathlib import Path

import analyzer

PACKAGE = Path(analyzer.__file__).parent


def imports(module: Path) -> set[str]:
    """Top-level names of modules a file imports (relative imports as ``analyzer.x``)."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # close enough for these checks: every relative import is analyzer.<name>
                found |= {f"analyzer.{node.module}" if node.module else f"analyzer.{a.name}" for a in node.names}
            else:
                found.add(node.module)
    return found


MODULES = {p.relative_to(PACKAGE).as_posix(): imports(p) for p in PACKAGE.rglob("*.py")}


def test_only_the_cli_and_its_docs_import_click():
    users = {name for name, names in MODULES.items() if any(n == "click" or n.startswith("click.") for n in names)}
    assert users == {"cli.py", "docs.py"}


def test_costs_rendering_and_queries_do_not_import_each_other():
    for module, others in (("costs.py", {"rendering", "queries"}), ("queries.py", {"costs", "rendering"}),
                           ("rendering.py", {"queries"})):
        assert not {f"analyzer.{o}" for o in others} & MODULES[module], module


def test_steps_never_import_the_api_or_cli():
    for name, names in MODULES.items():
        if name not in {"api.py", "cli.py", "docs.py", "__init__.py", "__main__.py"}:
            assert not {"analyzer.api", "analyzer.cli"} & names, name


def test_every_module_opens_with_a_docstring():
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), path.name
