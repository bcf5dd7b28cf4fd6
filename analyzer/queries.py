"""Saved queries: ``queries/*.sql`` files with a title, a description and parameters in a header.

A header is the file's leading ``--`` comments, as ``-- key: value`` lines::

    -- title: Daily volume by template and model
    -- description: Requests per day ...
    -- params: model, since=2026-01-01

A parameter with ``=`` has a default and may be left out. Without a ``params`` line, parameters are the ``$name`` \
placeholders found in the SQL once comments
and string literals are removed. Names starting with ``_`` are filled by code, never by the user.
Queries run on a read-only connection; a missing parameter fails before anything runs.

A parameter named ``file`` or ``path``, or ending in ``_file`` or ``_path``, is a log file's path:
its value is resolved as ingest resolves the files it records (:func:`analyzer.reading.stored_name`),
so ``--param file=logs/a.jsonl`` finds the file recorded as ``/home/me/logs/a.jsonl``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import polars as pl

from . import reading, storage
from .errors import MissingParameter, QueryFailed, QueryNotFound

_HEADER = re.compile(r"^--\s*(\w+)\s*:\s*(.*)$")
_STRINGS_AND_COMMENTS = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.S)
_PARAM = re.compile(r"\$([A-Za-z_]\w*)")
_PATH_PARAM = re.compile(r"^(file|path)$|_(file|path)$")


def is_path_param(name: str) -> bool:
    """Whether a parameter holds a log file's path, resolved like ingest's (see the module docstring)."""
    return bool(_PATH_PARAM.search(name))


def _as_recorded(value: str) -> str:
    # Empty means "every file" in the saved queries. A file gone since its ingest resolves as it did then.
    if not value:
        return value
    path = Path(value)
    return reading.stored_name(path) if path.exists() else str(path.resolve())


@dataclass(frozen=True)
class SavedQuery:
    """One saved query."""

    name: str
    title: str
    description: str
    params: tuple[str, ...]
    sql: str
    path: str
    defaults: tuple[tuple[str, str], ...] = ()


def queries_dir() -> Path:
    """Where the saved queries are: a checkout's ``queries/``, else the installed ``analyzer/query_files``.

    Tests and ``python -m analyzer`` in a checkout import the source tree, where the installed
    name does not exist, so the checkout's folder is looked for first.
    """
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "queries").is_dir():
        return root / "queries"
    return Path(str(resources.files("analyzer.query_files")))


def parse(path: Path) -> SavedQuery:
    """Read one ``.sql`` file and its header."""
    sql = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    for line in sql.splitlines():
        if not line.startswith("--"):
            if line.strip():
                break
            continue
        match = _HEADER.match(line)
        if match:
            header[match.group(1).lower()] = match.group(2).strip()
        elif header:  # a continuation line extends the last key (long descriptions)
            last = list(header)[-1]
            header[last] += " " + line[2:].strip()
    defaults: dict[str, str] = {}
    if "params" in header:
        names = []
        for entry in (p.strip() for p in header["params"].split(",")):
            if entry:
                name, has_default, default = entry.partition("=")
                names.append(name.strip())
                if has_default:
                    defaults[name.strip()] = default.strip()
        params = tuple(names)
    else:
        found = _PARAM.findall(_STRINGS_AND_COMMENTS.sub("", sql))
        params = tuple(dict.fromkeys(p for p in found if not p.startswith("_")))
    return SavedQuery(path.stem, header.get("title", path.stem), header.get("description", ""), params, sql,
                      str(path), tuple(defaults.items()))


def catalogue() -> list[SavedQuery]:
    """Every saved query, by name."""
    return [parse(p) for p in sorted(queries_dir().glob("*.sql"))]


def find(name_or_path: str) -> SavedQuery:
    """A saved query by name, or any ``.sql`` file by path.

    Raises:
        QueryNotFound: neither exists.
    """
    path = Path(name_or_path)
    if path.suffix == ".sql" and path.is_file():
        return parse(path)
    candidate = queries_dir() / f"{name_or_path}.sql"
    if candidate.is_file():
        return parse(candidate)
    names = ", ".join(q.name for q in catalogue())
    raise QueryNotFound(f"no saved query {name_or_path!r}; saved: {names}")


def run(con: storage.Connection, query: SavedQuery, params: dict[str, str] | None = None) -> pl.DataFrame:
    """Run a saved query with its parameters and return the rows.

    Raises:
        MissingParameter: a parameter the query needs was not given.
    """
    params = {**dict(query.defaults), **(params or {})}
    missing = [p for p in query.params if p not in params]
    if missing:
        raise MissingParameter(f"query {query.name} needs --param {missing[0]}=VALUE "
                               f"(needs: {', '.join(query.params)})")
    unknown = [p for p in params if p not in query.params]
    if unknown:
        raise MissingParameter(f"query {query.name} takes no parameter {unknown[0]!r} "
                               f"(takes: {', '.join(query.params) or 'none'})")
    params = {k: _as_recorded(v) if is_path_param(k) else v for k, v in params.items()}
    used = set(_PARAM.findall(_STRINGS_AND_COMMENTS.sub("", query.sql)))
    try:
        return storage.frame(con, query.sql, {k: v for k, v in params.items() if k in used})
    except storage.Error as exc:  # the user's own SQL, or a write on the read-only connection
        raise QueryFailed(f"query {query.name} failed: {str(exc).splitlines()[0]}") from None
