"""The ``crossover`` command: parse options, call the same-named verb of :mod:`analyzer.api`, render.

Errors are translated once, in :class:`CrossoverGroup`: a library error becomes one line on stderr
and exit 2 (bad usage or input the tool cannot read); ``--strict`` runs with rejects exit 1.
"""

from __future__ import annotations

import os
import sys
import textwrap
from typing import Any

import click

from . import api, compare_text, display, storage, terminal
from .errors import AnalyzerError
from .extracting import FileResult
from .ingesting import IngestResult
from .models import Caution
from .projection import Projection
from .rendering import OutputFormat, checklist_table, ingest_progress, render_count, render_report, render_rows, require

EXIT_OK = 0
EXIT_PROBLEMS = 1  # finished, with problems the user asked to fail on (--strict)
EXIT_USAGE = 2  # bad usage, or input the tool cannot read


class CrossoverGroup(click.Group):
    """A click group that turns library errors into one-line messages with the right exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AnalyzerError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None
        except storage.OutOfMemory as exc:  # what an ingest was writing is taken back; nothing half-stored
            first = str(exc).splitlines()[0]
            # DuckDB's line says the pool it had (the writer's grows with the database: see storage.fit_pool).
            error = click.ClickException(f"{first}; set CROSSOVER_MEMORY_LIMIT above that pool (e.g. 512MB) "
                                         "and run the command again")
            error.exit_code = EXIT_USAGE
            raise error from None


db_option = click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
                         help="DuckDB file [default: $CROSSOVER_DB or ./crossover.duckdb].")
scenario_option = click.option("--scenario", type=click.Path(dir_okay=False), default=None,
                               help="Scenario TOML with the assumptions (see README); default values otherwise.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="Print no ingest summary.")
strict_option = click.option("--strict", is_flag=True, help="Exit 1 when any record was rejected.")
timezone_option = click.option("--timezone", "timezone_name", default=None, metavar="TZ",
                               help="Zone of times logged without one (IANA name or +HH:MM) [default: UTC].")
jobs_option = click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                           help="Worker processes reading files in parallel [default: one per core].")
no_text_option = click.option("--no-text", is_flag=True,
                              help="Keep no prompt text, from this run on (hashes and counts only; versions "
                                   "are then linked by prompt id alone).")


wide_option = click.option("--wide", is_flag=True,
                           help="Every column, however wide (default: the columns that fit the terminal).")


def _format_available(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # Checked as the option is read, so that `analyze --format html` without matplotlib stops
    # before minutes of ingest rather than after them.
    require(value)
    return value


def output_option(*choices: OutputFormat, default: OutputFormat = OutputFormat.TABLE):
    """The ``--format`` option offering ``choices``."""
    return click.option("--format", "fmt", type=click.Choice([c.value for c in choices]), default=default.value,
                        show_default=True, help="Output format.", callback=_format_available)


@click.group(cls=CrossoverGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="crossover-analyzer")
def cli() -> None:
    """Would fine-tuning pay off? Read a month of LLM request logs and find out, per prompt template."""


def _warn(*texts: str) -> None:
    # Wrapped to the width the report fits, so that a long warning does not run past the terminal;
    # paths and commands are never broken inside.
    for text in texts:
        click.echo(textwrap.fill(f"warning: {text}", terminal.width(), subsequent_indent="  ",
                                 break_long_words=False, break_on_hyphens=False), err=True)


def _warn_of(cautions: list[Caution]) -> None:
    _warn(*(caution.text for caution in cautions))


def _accounting(r: FileResult | IngestResult) -> str:
    total = r.total if isinstance(r, IngestResult) else lambda name: getattr(r, name)
    n = lambda name: display.count(total(name))  # noqa: E731
    text = f"{n('records')} read = {n('stored')} stored + {n('duplicates')} duplicates + {n('rejected')} rejected"
    text += f" + {n('pending')} pending" if total("pending") else ""
    return text + (f" + {n('ignored')} ignored (nothing to count)" if total("ignored") else "")


def _summary(result: IngestResult) -> None:
    for f in result.files:
        for warning in f.warnings:
            click.echo(f"warning: {f.path}: {warning}", err=True)
        if f.rejected:
            click.echo(f"{f.path}: {_accounting(f)}", err=True)
            for line, reason in f.examples:
                click.echo(f"  line {line}: {reason}", err=True)
            if f.rejected > len(f.examples):
                click.echo(f"  … {f.rejected - len(f.examples)} more: "
                           f"crossover query rejects_by_file --param file={f.path}", err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if result.batch_joined or result.batch_waiting:
        waiting = " and ".join(f"{display.count(n)} {half} lines" for half, n in sorted(result.batch_waiting.items()))
        click.echo(f"batches: {display.count(result.batch_joined)} requests joined from their request and result "
                   "lines"
                   + (f"; {waiting} wait for their other half (crossover query batch_lines_waiting)"
                      if waiting else ""),
                   err=True)
    skipped = sum(f.skipped for f in result.files)
    click.echo(f"{display.count(len(result.files))} files ({display.count(skipped)} unchanged, skipped): "
               f"{_accounting(result)}", err=True)


def _show_progress(quiet: bool) -> bool:
    # Progress is for a person watching: not with --quiet, not into a pipe or a CI log.
    return not quiet and sys.stderr.isatty()


def _exit_if_strict(result: IngestResult, strict: bool) -> None:
    if strict and result.total("rejected"):
        sys.exit(EXIT_PROBLEMS)


def _log_format(log_format: str | None, old: str | None) -> str | None:
    """The log format asked for: --log-format, or the deprecated --format it replaced (with a warning)."""
    # `--format` was ingest's log format before it meant the output format on every command: it still
    # works, for one release.
    if old is None:
        return log_format
    _warn("`crossover ingest --format NAME` is deprecated and goes in the next release: use `--log-format NAME`")
    if log_format not in (None, old):
        raise click.UsageError(f"--format {old} and --log-format {log_format} disagree; give --log-format alone")
    return old


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@db_option
@click.option("--log-format", "log_format", default=None, metavar="NAME",
              help="Read every record as this log format instead of detecting it (see `crossover formats`).")
@click.option("--format", "old_log_format", default=None, metavar="NAME", hidden=True,
              help="Deprecated spelling of --log-format.")
@timezone_option
@jobs_option
@no_text_option
@quiet_option
@strict_option
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local",
              help="Where files are read: this machine's processes, or a dask cluster (the [dask] extra).")
@click.option("--address", default=None, metavar="URL",
              help="The dask scheduler of an existing cluster [default: a local cluster of --jobs workers].")
@click.option("--dataset", default=None, metavar="PATH",
              help="Folder or object storage prefix where each file's Parquet shard is written, then loaded.")
def ingest(paths: tuple[str, ...], db: str | None, log_format: str | None, old_log_format: str | None,
           timezone_name: str | None, jobs: int | None, no_text: bool, quiet: bool, strict: bool,
           executor: str, address: str | None, dataset: str | None) -> None:
    """Read log files and directories (recursively; .jsonl, .ndjson, .json and .gz) into the database.

    A path may be an object or a prefix in object storage: s3://, gs://, az:// or https:// (each with
    its extra, e.g. pip install 'crossover-analyzer[s3]'; credentials from the provider's usual chain).
    """
    log_format = _log_format(log_format, old_log_format)
    with ingest_progress(_show_progress(quiet)) as display:
        result = api.ingest(paths, db, log_format, display and display.on_file, jobs=jobs or os.cpu_count() or 1,
                            timezone=timezone_name, on_bytes=display and display.on_bytes, keep_text=not no_text,
                            dataset=dataset, executor=executor, address=address)
    if not quiet:
        _summary(result)
    _warn_of(result.cautions)  # even with --quiet: a run that stored nothing is not a detail
    _exit_if_strict(result, strict)


@cli.command()
@db_option
@scenario_option
@output_option(OutputFormat.TABLE, OutputFormat.MARKDOWN, OutputFormat.JSON, OutputFormat.CSV, OutputFormat.HTML)
@wide_option
@click.option("--dataset", default=None, metavar="PATH",
              help="Report from the Parquet tables `ingest --dataset PATH` left in this folder or object storage "
                   "prefix, instead of the database.")
def report(db: str | None, scenario: str | None, fmt: str, wide: bool, dataset: str | None) -> None:
    """Per template: GO / EVALUATE / NO-GO, the recommended action and what it nets, costs and break-even."""
    _print_report(api.report(db, scenario, dataset), fmt, wide)


def _print_report(projection: Projection, fmt: str, wide: bool) -> None:
    click.echo(render_report(projection, OutputFormat(fmt), wide), nl=False)
    _warn_of(projection.warnings)  # on stderr whatever the format, so a piped report still shows them


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@db_option
@scenario_option
@click.option("--log-format", default=None, metavar="NAME", help="Read every record as this log format.")
@output_option(OutputFormat.TABLE, OutputFormat.MARKDOWN, OutputFormat.JSON, OutputFormat.CSV, OutputFormat.HTML)
@wide_option
@timezone_option
@jobs_option
@no_text_option
@quiet_option
@strict_option
def analyze(paths: tuple[str, ...], db: str | None, scenario: str | None, log_format: str | None, fmt: str,
            wide: bool, timezone_name: str | None, jobs: int | None, no_text: bool, quiet: bool,
            strict: bool) -> None:
    """Ingest PATHS, then print the report."""
    with ingest_progress(_show_progress(quiet)) as display:
        result, projection = api.analyze(paths, db, scenario, log_format, display and display.on_file,
                                         jobs=jobs or os.cpu_count() or 1, timezone=timezone_name,
                                         on_bytes=display and display.on_bytes, keep_text=not no_text)
    if not quiet:
        _summary(result)
    _print_report(projection, fmt, wide)
    _exit_if_strict(result, strict)


def _params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not k=v", param_hint="--param")
        params[key] = val
    return params


@cli.command()
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the saved queries.")
@click.option("--param", "-p", "param", multiple=True, metavar="K=V", help="A query parameter (repeatable).")
@db_option
@output_option(OutputFormat.TABLE, OutputFormat.MARKDOWN, OutputFormat.JSON, OutputFormat.CSV)
@wide_option
def query(name: str | None, list_: bool, param: tuple[str, ...], db: str | None, fmt: str, wide: bool) -> None:
    """Run a saved query (NAME) or a .sql file on a read-only connection; --list shows them."""
    if list_ == bool(name):
        raise click.UsageError("give a query NAME or --list, not both or neither")
    if list_:
        import polars as pl

        rows = pl.DataFrame([{"name": q.name, "title": q.title, "params": ", ".join(q.params),
                              "description": q.description}
                             for q in api.list_queries()])
        click.echo(render_rows(rows, OutputFormat(fmt), wide=wide), nl=False)
        return
    saved, rows = api.query(name, db, _params(param))
    click.echo(render_rows(rows, OutputFormat(fmt), saved.title, wide), nl=False)


@cli.command()
@db_option
@output_option(OutputFormat.TABLE, OutputFormat.MARKDOWN, OutputFormat.JSON, OutputFormat.CSV)
@click.option("--versions", is_flag=True, help="One row per version of each template, with when it was live.")
@wide_option
def templates(db: str | None, fmt: str, versions: bool, wide: bool) -> None:
    """The prompt templates found: label, requests, share of spend, versions and mean tokens per segment."""
    click.echo(render_rows(api.templates(db, versions=versions), OutputFormat(fmt), wide=wide), nl=False)


@cli.command()
@click.argument("source", metavar="FILE|-")
@click.option("--model", default=None, help="Model whose tokenizer and overheads to use [default: the request's].")
@output_option(OutputFormat.TABLE, OutputFormat.MARKDOWN, OutputFormat.JSON, OutputFormat.CSV)
def count(source: str, model: str | None, fmt: str) -> None:
    """Count one logged request, or a bare request or messages JSON, segment by segment."""
    result = api.count(source, model)
    click.echo(render_count(result, OutputFormat(fmt)), nl=False)
    _warn_of(result.warnings)


@cli.command()
@output_option(OutputFormat.TABLE, OutputFormat.MARKDOWN, OutputFormat.JSON, OutputFormat.CSV)
def formats(fmt: str) -> None:
    """The log formats crossover reads, in detection order, and what identifies each."""
    import polars as pl

    rows = pl.DataFrame([{"name": f.name, "identified by": f.description} for f in api.formats()])
    click.echo(render_rows(rows, OutputFormat(fmt)), nl=False)


@cli.command()
@click.argument("model", required=False)
@db_option
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="The list price on this day instead of the prices the database used.")
@output_option(OutputFormat.TABLE, OutputFormat.MARKDOWN, OutputFormat.JSON, OutputFormat.CSV)
@wide_option
def prices(model: str | None, db: str | None, on, fmt: str, wide: bool) -> None:
    """The prices used (per model and tier, with their source and days) and fine-tuning prices.

    With a database: the list prices its requests were costed at. Without one, for a model it does
    not hold, or with --on: genai-prices' list price on that day (default today).
    """
    click.echo(render_rows(api.prices(model, db, on.date() if on else None), OutputFormat(fmt), wide=wide), nl=False)


@cli.command()
@click.argument("template")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Directory to write (new or empty).")
@db_option
@click.option("--version", "version", type=click.IntRange(min=1), default=None, help="Only this version (1, 2, …).")
@click.option("--eval-share", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True,
              help="Share of examples held out for evaluation, day by day (near-duplicates stay together).")
@click.option("--max-examples", type=click.IntRange(min=1), default=None,
              help="Cap on examples, shared over days in proportion to production.")
@click.option("--seed", type=int, default=14, show_default=True, help="Seed of the split and the sample.")
@scenario_option
def export(template: str, out: str, db: str | None, version: int | None, eval_share: float,
           max_examples: int | None, seed: int, scenario: str | None) -> None:
    """Write TEMPLATE's successful, distinct requests as train.jsonl, eval.jsonl and manifest.json, and print
    the data checklist (also in the manifest) with a sample for human review (review.csv)."""
    result = api.export(template, out, db, version, eval_share, max_examples, seed, scenario)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    summary = result.summary
    counts = summary["counts"]
    skipped = sum(counts["skipped"].values())
    header = (f"{result.out_dir}: {counts['train']} train + {counts['eval']} eval examples of "
              f"{summary['template_id']} ({summary['label']}); {counts['candidates']} candidates, "
              f"{counts['duplicates_dropped']} duplicates left out, {skipped} skipped")
    footer = f"{summary['cannot_show']} ({summary['review_sample']['examples']} examples.)"
    click.echo(checklist_table(result.checks, header, footer), nl=False)


@cli.command()
@click.argument("logs", nargs=-1, required=True, metavar="EVAL_LOGS...")
@click.option("--against", metavar="TEMPLATE", default=None,
              help="The template (id, prefix or label) whose eval set the calls answer [default: the --eval-set's].")
@click.option("--eval-set", "eval_set", type=click.Path(), default=None,
              help="The directory `crossover export` wrote, or its eval.jsonl [default: rebuilt from the database "
                   "as export writes it by default].")
@db_option
@output_option(OutputFormat.TABLE, OutputFormat.MARKDOWN, OutputFormat.JSON)
def compare(logs: tuple[str, ...], against: str | None, eval_set: str | None, db: str | None, fmt: str) -> None:
    """Score a candidate model's logged calls on a template's eval set against production, for the report."""
    result = api.compare(logs, db, against, eval_set)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    data = result.as_dict()
    if fmt == OutputFormat.JSON.value:
        import json

        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    text = compare_text.markdown(data) if fmt == OutputFormat.MARKDOWN.value else compare_text.lines(data)
    click.echo("\n".join(text))


def main() -> None:
    """Entry point of the ``crossover`` script."""
    cli(prog_name="crossover")
