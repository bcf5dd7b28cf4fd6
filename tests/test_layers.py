"""The house style's layering, checked on the source: the CLI is an adapter, the data flows one way."""

from __future__ import annotations

import ast
import re
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


#: A statement in a string literal: what a module that talks to a database holds.
SQL = re.compile(r"\b(SELECT\b.+?\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+(\s+AS\s+\w+)?\s+SET|DELETE\s+FROM|"
                 r"CREATE\s+(OR\s+REPLACE\s+)?(TEMP\s+)?(TABLE|VIEW)|ALTER\s+TABLE|DROP\s+(TABLE|VIEW)|PRAGMA|"
                 r"BEGIN\s+TRANSACTION|COMMIT|ROLLBACK)\b", re.S)
#: Modules outside storage/ allowed SQL, each with the reason.
SQL_EXCEPTIONS = {
    # The llm tool's logs.db is an input format (the user's SQLite file, read-only), not our database:
    # its format reads its own files.
    "parsers/llm_logs.py",
}


def holds_sql(module: Path) -> bool:
    """Whether any string literal of a file (f-string parts included) is a SQL statement."""
    return any(isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)
               for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))))


def test_only_the_cli_and_its_docs_import_click():
    users = {name for name, names in MODULES.items() if any(n == "click" or n.startswith("click.") for n in names)}
    assert users == {"cli.py", "docs.py"}


def test_only_storage_imports_duckdb():
    users = {name for name, names in MODULES.items() if any(n == "duckdb" or n.startswith("duckdb.") for n in names)}
    assert users and all(name.startswith("storage/") for name in users), sorted(users)


def test_only_storage_holds_sql():
    holders = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if holds_sql(p)}
    assert {name for name in holders if not name.startswith("storage/")} == SQL_EXCEPTIONS
    assert {"storage/migrations.py", "storage/reads.py"} <= holders  # the check sees SQL where it is


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


def test_an_ingest_worker_imports_neither_duckdb_nor_polars_nor_the_report():
    # Each worker is a whole process: what it imports is paid once per core (see analyzer.working).
    import subprocess
    import sys

    probe = ("import sys, analyzer.working; "
             "print(sorted(m for m in ('duckdb', 'polars', 'rich', 'click', 'genai_prices', 'analyzer.api') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_storage_package_names_each_of_its_lazy_exports_once():
    from analyzer import storage

    # __all__ stays a literal, which linters read; it, the lazy table and what type checkers are
    # shown (the imports under TYPE_CHECKING) must name the same things.
    assert sorted(storage.__all__) == sorted(storage._NAMES)
    # What type checkers are shown (the imports under TYPE_CHECKING) is what the package gives.
    tree = ast.parse((PACKAGE / "storage" / "__init__.py").read_text(encoding="utf-8"))
    [block] = [n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"]
    shown = {(n.module, a.name, a.asname or a.name) for n in block.body for a in n.names}
    assert shown == {(module, name, alias) for alias, (module, name) in storage._NAMES.items()}
    for name in storage.__all__:
        assert getattr(storage, name) is not None


def test_no_lazy_storage_name_is_also_a_submodule():
    # Once imported, a submodule is an attribute of its package, and would hide a lazy name like it.
    from analyzer import storage

    submodules = {p.stem for p in (PACKAGE / "storage").glob("*.py")}
    assert not submodules & set(storage._NAMES)


def private_imports(module: Path) -> set[str]:
    """``from X import _name`` in a file, as ``X._name`` (relative imports resolved as :func:`imports` does)."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            source = f"{'.' * node.level}{node.module or ''}"
            found |= {f"{source}.{a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")}
    return found


def test_no_module_imports_the_private_names_of_another_step():
    # What two steps share has a public home (analyzer.pending: a file to read, its parts, their
    # results); within the storage package its modules may share their own helpers.
    found = {name: private_imports(PACKAGE / name) for name in MODULES}
    crossing = {name: names for name, names in found.items() if names and not name.startswith("storage/")}
    assert crossing == {}
    assert private_imports(PACKAGE / "storage" / "shards.py")  # the check sees a private import where one is
