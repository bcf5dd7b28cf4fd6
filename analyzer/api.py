"""The library's verbs, the same as the CLI's: ingest, report, analyze, query, templates, count, formats,
prices, export, compare.

Orchestration only: each verb opens the database, calls the step modules and returns data, which
the CLI renders; a program that uses these verbs gets the same figures the commands print.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from . import comparing, costs, exporting, options, parsers, pricing, queries, sources, storage, weak_inputs
from . import scenario as scenarios
from .errors import AnalyzerError, BadRecord, InputNotFound, NoData, RunUnfinished, TemplateNotFound
from .figures import USD, rounded
from .ingesting import NO_TEXT, TEXT_KEY, Ingestor, IngestResult, OnBytes, OnFile
from .models import CountResult, RawRecord, Request
from .projection import Projection
from .segmenting import segment
from .tokenizing import Counter

__all__ = ["ingest", "report", "analyze", "query", "list_queries", "templates", "count", "formats", "prices",
           "export", "compare"]


def ingest(paths: Iterable[str], db: str | None = None, format_name: str | None = None,
           on_file: OnFile | None = None, jobs: int = 1, timezone: str | None = None,
           on_bytes: OnBytes | None = None, keep_text: bool = True, dataset: str | None = None,
           executor: str = "local", address: str | None = None) -> IngestResult:
    """Read log files and directories into the database (created if needed).

    With ``dataset`` (a folder or an object storage prefix), each file is read by a map task into a
    Parquet shard there, on ``executor`` (``local``: this machine's processes; ``dask``: the cluster at
    ``address``, else a local one), and the shards are loaded into the database (:mod:`analyzer.sharding`).

    With ``jobs`` > 1, that many worker processes read files in parallel when there are several
    files and enough bytes to be worth it. The workers are spawned and import the caller's main
    module again, so a script that passes ``jobs`` must guard its entry with
    ``if __name__ == "__main__":``, as for any use of multiprocessing. Times logged without a zone
    are read in ``timezone`` (an IANA name or ``+HH:MM``; UTC by default). Without ``keep_text``,
    the database keeps no text of any record, from this run on (hashes and counts only).
    """
    paths = list(paths)
    with storage.private_files():  # the database and its log are created 0600: they hold prompts
        con = storage.connect(db)
        try:
            if dataset is None and executor == "local":
                ingestor = Ingestor(con, format_name, jobs, timezone, keep_text=keep_text)
            else:
                ingestor = _sharded(con, dataset, executor, address, format_name=format_name, jobs=jobs,
                                    timezone_name=timezone, keep_text=keep_text)
            result = ingestor.ingest(paths, on_file, on_bytes)
        finally:
            con.close()
    result.cautions = weak_inputs.after_ingest(result)
    return result


def _sharded(con, dataset: str | None, executor: str, address: str | None, **options):
    """An ingest by map tasks into shards under ``dataset`` (a temporary folder for a local cluster)."""
    from . import sharding

    tables = dataset is not None  # a scratch folder's tables no report would read
    if dataset is None:
        if address is not None:
            raise AnalyzerError("--executor dask --address needs --dataset: a folder or object storage prefix "
                               "every worker can write")
        dataset = tempfile.mkdtemp(prefix="crossover-shards-")
    jobs = options["jobs"]
    return sharding.ShardIngestor(con, dataset, lambda: sharding.executor(executor, jobs, address), tables=tables,
                                  **options)


def report(db: str | None = None, scenario: str | None = None, dataset: str | None = None) -> Projection:
    """Project fine-tuning per template over what the database holds, or with ``dataset`` (a folder or
    object storage prefix an ``ingest --dataset`` wrote), over the tables it left there as Parquet.

    Raises:
        NoData: the database holds no requests.
        DatasetUnusable: the dataset holds no report tables, or an incomplete set.
    """
    chosen = scenarios.load(scenario)
    if dataset is not None:
        if db is not None:
            raise AnalyzerError("give --db or --dataset, not both: a report reads one of them")
        from . import sharding

        con, where = sharding.open_dataset(dataset), dataset
    else:
        con, where = storage.connect(db, read_only=True), storage.db_path(db)
    try:
        if storage.get_meta(con, "final_pass") != "done":
            raise RunUnfinished(f"{where}: the last ingest did not finish (stopped before its final "
                                "pass: templates, few-shot and prices are not derived); run `crossover ingest PATH` "
                                "again to complete it")
        requests = storage.request_costs(con, costs.REQUEST_COLUMNS)
        labels = storage.template_labels(con)
        info = storage.templates_info(con)
        calibration = storage.calibration(con)
        compared = storage.saved_comparisons(con)
    finally:
        con.close()
    if requests.is_empty():
        raise NoData("the database holds no requests; run `crossover ingest PATH` first")
    return costs.project(requests, labels, chosen, calibration, info, compared)


def analyze(paths: Iterable[str], db: str | None = None, scenario: str | None = None, format_name: str | None = None,
            on_file: OnFile | None = None, jobs: int = 1, timezone: str | None = None,
            on_bytes: OnBytes | None = None, keep_text: bool = True) -> tuple[IngestResult, Projection]:
    """Ingest, then report."""
    scenarios.load(scenario)  # a bad scenario fails before minutes of reading
    result = ingest(paths, db, format_name, on_file, jobs, timezone, on_bytes, keep_text)
    try:
        projection = report(db, scenario)
    except NoData:
        if not result.cautions:
            raise
        # An empty database because this run stored nothing: say why, not only that it is empty.
        raise NoData(result.cautions[0].text) from None
    projection.warnings[:0] = result.cautions  # the run's weak input first, in the report that follows it
    return result, projection


def list_queries() -> list[queries.SavedQuery]:
    """The saved queries."""
    return queries.catalogue()


def query(name: str, db: str | None = None,
          params: dict[str, str] | None = None) -> tuple[queries.SavedQuery, pl.DataFrame]:
    """Run a saved query (by name) or a ``.sql`` file on a read-only connection that reaches nothing
    but the database (no files, no extensions: see ``storage.connect``'s ``sandboxed``)."""
    saved = queries.find(name)
    con = storage.connect(db, read_only=True, sandboxed=True)
    try:
        return saved, queries.run(con, saved, params)
    finally:
        con.close()


def templates(db: str | None = None, versions: bool = False) -> pl.DataFrame:
    """Each template with its label, requests, share of spend (sample rates undone), versions and anatomy.

    ``static_cached_share`` is the mean share of the static prefix (system, few-shot, tools) that
    the provider reported reading from its cache.

    With ``versions``, one row per version of each template instead, with when it was live.
    """
    con = storage.connect(db, read_only=True)
    try:
        rows = storage.template_rows(con, versions)
    finally:
        con.close()
    # Templates by requests, most first; a template's versions in order under it.
    totals = rows.group_by("template_id").agg(pl.col("requests").sum().alias("_total"))
    order = ["_total", "template_id", "version"] if versions else ["_total", "template_id"]
    return rows.join(totals, on="template_id").sort(order, descending=[True, False, False][: len(order)]).drop("_total")


def count(source: str, model: str | None = None) -> CountResult:
    """Count one logged request, or a bare request or messages JSON, from a file or ``-`` (stdin).

    One request alone cannot show which turns repeat across its template, so turns before the
    live one count as history unless they are named ``example_*``.

    Raises:
        InputNotFound: the file does not exist.
        BadRecord: the JSON is not a request.
    """
    try:
        text = sys.stdin.read() if source == "-" else sources.read_text(source)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputNotFound(f"{sources.name_of(source)}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadRecord(f"{source}: not JSON: {exc}") from None
    if isinstance(data, list):  # a bare messages list
        data = {"messages": data}
    if isinstance(data, dict) and isinstance(data.get("messages"), list) and not data.get("model"):
        data = {**data, "model": model or "gpt-4o"}
    ctx = parsers.context()
    fmt = parsers.detect(data, ctx)
    if fmt is None:
        raise BadRecord(f"{source}: not a request ({parsers.shape(data)})")
    requests = [r for r in fmt.parse(RawRecord(source, 1, data), ctx) if isinstance(r, Request)]
    if not requests:
        raise BadRecord(f"{source}: no request found")
    request = requests[0]
    counter = Counter(model or request.model)
    seg = segment(request, counter)
    result = CountResult(
        model=model or request.model, encoding=counter.encoding_name, exact=counter.exact,
        prompt_tokens=seg.prompt_tokens,
        segments={"system": seg.system, "fewshot": seg.fewshot_named, "tools": seg.tools,
                  "history": seg.middle_tokens, "input": seg.input},
        output_tokens=seg.output, reported_prompt_tokens=request.reported_prompt_tokens)
    result.warnings = weak_inputs.in_count(result)
    return result


def formats() -> list[parsers.LogFormat]:
    """The registered log formats, in detection order."""
    return parsers.formats()


def prices(model: str | None = None, db: str | None = None, on: date | None = None) -> pl.DataFrame:
    """The prices used, with their source and dates, and the fine-tuning prices of each model.

    With a database and no ``on`` day: the list prices its requests were costed at, per model and
    service tier, with the first and last day each applied and the requests it priced. Otherwise
    (no database, a model it does not hold, or ``on``): the list price on that day (default today).
    """
    used = None if on else _prices_used(db, model)
    if used is not None and not used.is_empty():
        finetune = pl.DataFrame([{"model": m, **_finetune_row(m)} for m in used["model"].unique(maintain_order=True)])
        return used.join(finetune, on="model", how="left", maintain_order="left")
    if model:
        models = [model]
    else:
        try:
            con = storage.connect(db, read_only=True)
        except AnalyzerError:
            raise InputNotFound("name a model, or ingest logs first so that their models can be listed") from None
        try:
            models = storage.models(con)
        finally:
            con.close()
    day = on or datetime.now(UTC).date()
    rows = []
    for name in models:
        rates = pricing.list_rates(name, day)
        rows.append({"model": name, "tier": "standard", "first_day": day, "last_day": day, "requests": None,
                     "input": rates.input, "cached_input": rates.cached_input, "cache_write": rates.cache_write,
                     "output": rates.output, "source": rates.source, **_finetune_row(name)})
    return pl.DataFrame(rows)


def _prices_used(db: str | None, model: str | None) -> pl.DataFrame | None:
    """The prices table of a database, one row per model, tier and rate; None without a database."""
    try:
        con = storage.connect(db, read_only=True)
    except AnalyzerError:
        return None
    try:
        return storage.prices_used(con, model)
    finally:
        con.close()


def _finetune_row(model: str) -> dict:
    ft = pricing.finetune_prices(model)
    return {"ft_training": ft.training if ft else None, "ft_input": ft.input if ft else None,
            "ft_output": ft.output if ft else None,
            "ft_source": f"data/finetune_prices.toml: {ft.snapshot}, {ft.source}, as of {ft.as_of}" if ft
            else "no fine-tuning price"}


def export(template: str, out_dir: str | Path, db: str | None = None, version: int | None = None,
           eval_share: float = exporting.DEFAULT_EVAL_SHARE, max_examples: int | None = None,
           seed: int = exporting.DEFAULT_SEED, scenario: str | None = None) -> exporting.ExportResult:
    """Write one template's successful, distinct requests as ``train.jsonl``, ``eval.jsonl`` and ``manifest.json``.

    ``template`` is a template id, a unique prefix of one, or its label. Examples are re-read from
    the log files the database says they came from, chosen day by day in proportion to production,
    and split so that no input, nor a near-duplicate of one, is on both sides. The manifest and the
    result carry the data checklist; its training cost is the report's (under ``scenario``).

    Raises:
        TemplateNotFound: no template, or several, match ``template``.
        OutputExists: ``out_dir`` exists and is not an empty directory.
    """
    out = Path(out_dir)
    exporting.check_out_dir(out)
    if not 0 <= eval_share < 1:
        raise AnalyzerError(f"--eval-share must be at least 0 and below 1, not {eval_share}")
    scenarios.load(scenario)  # a bad scenario fails before the logs are read again
    con = storage.connect(db, read_only=True)
    try:
        labels = storage.template_labels(con)
        template_id = exporting.resolve(template, labels)
    finally:
        con.close()
    # Before the rows are read: the memory its scan takes is given back before theirs is taken.
    costing, model = _costing(template_id, db, scenario)
    con = storage.connect(db, read_only=True)
    try:
        rows = storage.export_candidates(con, template_id, version)
        sizes = storage.file_fingerprints(con)
        production = storage.production_by_day(con, template_id, version)
    finally:
        con.close()
    if rows.is_empty():
        raise NoData(f"template {template_id} has no successful request with an output"
                     + (f" in version {version}" if version is not None else ""))
    dropped = int(rows["dropped"][0])
    meta = {"template_id": template_id, "label": labels[template_id],
            "versions": sorted(int(v) for v in rows["version"].unique()), "database": str(storage.db_path(db))}

    def partners(file: str) -> exporting.Partners:  # only for a file with batch requests, when it is reached
        con = storage.connect(db, read_only=True)
        try:
            return storage.batch_partners(con, template_id, file)
        finally:
            con.close()

    return exporting.write(out, rows.drop("dropped"), sizes, meta, seed, eval_share, max_examples, dropped,
                           production, model, costing, partners)


def _costing(template_id: str, db: str | None, scenario: str | None) -> tuple[exporting.Costing, str]:
    """The report's training figure for one template, and the model it trains.

    Made of the figures the report's projection takes from the template's rows (the mean tokens of
    an example, the target model), aggregated in the database, so that its memory does not grow
    with the month; :func:`options.training_cost` then does the report's arithmetic on them.
    """
    chosen = scenarios.load(scenario)
    con = storage.connect(db, read_only=True)
    try:
        example_tokens, top_model = storage.training_basis(con, template_id, chosen["finetune.system_prompt_tokens"],
                                                           chosen["traffic.sample_rate"])
    finally:
        con.close()
    target = chosen["finetune.target_model"] or top_model or ""
    price, epochs = options.training_price(chosen, target), chosen["finetune.epochs"]
    cost = rounded(options.training_cost(chosen, example_tokens or 0.0, price), USD) if price is not None else None
    inputs = (f"report: {chosen['finetune.examples']:,} examples × {epochs:g} epochs at ${price:g}/1M on "
              f"{target}" if price is not None else f"no training price for {target}")
    return exporting.Costing(cost, inputs, epochs, price), target


def compare(logs: Iterable[str], db: str | None = None, against: str | None = None,
            eval_set: str | Path | None = None) -> comparing.Comparison:
    """Score a candidate model's logged calls on a template's eval set, and record the result for the report.

    ``eval_set`` is the directory ``export`` wrote (or its ``eval.jsonl``); without it, the eval set of
    ``against`` (a template id, prefix or label) is rebuilt from the database exactly as ``export``
    writes it by default (seed 14, 20%, no cap). With both, they must name the same template. The
    result replaces the template's previous comparison in the ``comparisons`` table.

    Raises:
        TemplateNotFound: neither names a template, or they name different ones.
        InputNotFound: a log path, or the eval set, does not exist.
        NoData: the logs hold no call.
    """
    logs = list(logs)
    if against is None and eval_set is None:
        raise TemplateNotFound("name the template (--against TEMPLATE) or the export it was run on (--eval-set DIR)")
    chosen = comparing.load_eval_set(eval_set) if eval_set is not None else None
    con = storage.connect(db, read_only=True)
    try:
        labels = storage.template_labels(con)
        keep_text = storage.get_meta(con, TEXT_KEY) != NO_TEXT
    finally:
        con.close()
    template_id = exporting.resolve(against, labels) if against is not None else chosen.template_id
    if template_id is None:
        raise TemplateNotFound(f"{chosen.path}: no manifest.json beside it names the template; give --against TEMPLATE")
    if template_id not in labels:
        raise TemplateNotFound(f"{chosen.path}: its template {template_id} is not in {storage.db_path(db)}")
    if chosen is not None and chosen.template_id not in (None, template_id):
        raise TemplateNotFound(f"{chosen.path} is the eval set of {chosen.template_id}, not of {template_id} "
                               f"({labels[template_id]})")
    rebuilt: list[str] = []
    if chosen is None:
        with tempfile.TemporaryDirectory(prefix="crossover-eval-") as tmp:
            rebuilt = export(template_id, Path(tmp) / "set", db).warnings
            chosen = comparing.load_eval_set(Path(tmp) / "set")
        chosen.path = Path(f"(rebuilt from {storage.db_path(db)}: crossover export {template_id})")
    chosen.template_id, chosen.label = template_id, labels[template_id]
    result = comparing.compare(chosen, logs)
    result.warnings[:0] = rebuilt
    if not result.calls:
        raise NoData(f"{', '.join(logs)}: no logged call to compare")
    con = storage.connect(db)
    try:
        storage.save_comparison(con, comparing.stored_row(result, keep_text), comparing.stored_calls(result))
    finally:
        con.close()
    return result
