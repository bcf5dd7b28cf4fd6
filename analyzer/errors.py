"""Typed errors of the library; the CLI turns each into one line and an exit code, once."""


class AnalyzerError(Exception):
    """Base of every error the library raises on purpose (exit 2 unless a subclass says otherwise)."""

    exit_code = 2


class InputNotFound(AnalyzerError):
    """A path given to read does not exist, cannot be read, or holds no log files."""


class UnknownFormat(AnalyzerError):
    """``--format`` names no registered log format, or a record matches none."""


class BadRecord(AnalyzerError):
    """One record cannot be read; the reader stores it as a reject and carries on."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class BadTimezone(AnalyzerError):
    """``--timezone`` names no time zone."""


class DatabaseMissing(AnalyzerError):
    """A read-only command was pointed at a database that does not exist yet."""


class DatabaseUnusable(AnalyzerError):
    """The database file cannot be opened: not a DuckDB file, locked by another process, unwritable."""


class RunUnfinished(AnalyzerError):
    """The last ingest stopped before its final pass committed: what the report needs is not derived yet."""


class QueryNotFound(AnalyzerError):
    """``crossover query NAME`` names no saved query and no readable SQL file."""


class QueryFailed(AnalyzerError):
    """A query's SQL failed: a mistake in it, or an attempt to write through the read-only connection."""


class MissingParameter(AnalyzerError):
    """A saved query needs a parameter the caller did not give."""


class ScenarioError(AnalyzerError):
    """The scenario TOML cannot be read or holds an unknown key or a bad value."""


class NoData(AnalyzerError):
    """The database holds no requests to report on."""


class TemplateNotFound(AnalyzerError):
    """``crossover export TEMPLATE`` names no template, or a prefix or label several share."""


class OutputExists(AnalyzerError):
    """``--out`` is a directory that already holds files: an export never overwrites one."""


class MissingDependency(AnalyzerError):
    """An output asks for an optional package that is not installed (the HTML report's matplotlib)."""


class DatasetUnusable(AnalyzerError):
    """A ``--dataset`` that holds no report tables, an incomplete set, or one another crossover wrote."""
