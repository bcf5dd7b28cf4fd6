"""Prices: list prices from genai-prices at each request's day, fine-tuning prices from our data file.

genai-prices keeps dated prices (a model's price on 2025-01-10 can differ from its price today),
so the rate is looked up for each (model, day) the logs hold and stored in the ``prices`` table,
where saved queries and the cost model both read it. Rates are USD per 1M tokens, found by pricing
1M tokens of each kind. What genai-prices lacks (training prices, fine-tuned inference for some
models) is kept in ``data/finetune_prices.toml``, each row with its source and date.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import tiktoken  # noqa: F401  (its version is recorded in meta)

if TYPE_CHECKING:
    from genai_prices import Usage

from . import storage
from .tokenizing import base_model_name

FINETUNE_FILE = Path(__file__).parent / "data" / "finetune_prices.toml"
MILLION = 1_000_000


@dataclass(frozen=True)
class Rates:
    """USD per 1M tokens for one model on one day."""

    input: float | None
    cached_input: float | None
    cache_write: float | None
    output: float | None
    source: str


def versions() -> dict[str, str]:
    """The versions a figure depends on, recorded in ``meta``."""
    out = {}
    for package in ("crossover-analyzer", "tiktoken", "genai-prices", "duckdb", "polars"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    out["finetune_prices"] = load_finetune_prices()["as_of"]
    return out


#: Rates are found by pricing this many tokens of each kind: few enough to stay under any
#: long-context threshold (Anthropic charges more above 200k input tokens), many enough to be exact.
PRICED_TOKENS = 1_000
#: genai-prices' price context for each service tier a log can show.
TIER_CONTEXTS = {"standard": None, "batch": {"processing": "batch"}, "flex": {"service_tier": "flex"},
                 "priority": {"service_tier": "priority"}}


#: A Bedrock model or inference-profile id: an optional region group, then the model's vendor
#: (``us.anthropic.claude-sonnet-4-20250514-v1:0``, ``amazon.nova-micro-v1:0``).
_BEDROCK_ID = re.compile(r"^(?:(?:us|eu|apac|au|ca|jp|global|us-gov)\.)?(?:amazon|anthropic|meta|mistral|cohere|"
                         r"ai21|deepseek|openai|qwen|writer|moonshot|moonshotai|zai|minimax|google|nvidia)\.[\w.:-]+$")


def _price(usage: Usage, model: str, when: datetime, tier: str) -> tuple[Decimal, Decimal, str]:
    # Provider inferred from the name (gpt-*, o*, claude*…); dated snapshots are matched exactly. A
    # Bedrock model id is priced at Bedrock's rates, which genai-prices keeps under its own provider.
    from genai_prices import calc_price  # loaded when a price is asked for: 12 MB an ingest's reading does not need

    provider = "aws" if _BEDROCK_ID.match(base_model_name(model)) else None
    result = calc_price(usage, base_model_name(model), provider_id=provider, genai_request_timestamp=when,
                        price_context=TIER_CONTEXTS[tier])
    scale = MILLION // PRICED_TOKENS
    return result.input_price * scale, result.output_price * scale, f"{result.provider.id}/{result.model.id}"


def list_rates(model: str, day: date, tier: str = "standard") -> Rates:
    """The list price of ``model`` on ``day`` (noon UTC) at a service tier, or a Rates of None with the reason.

    genai-prices models tier prices only from the day it started recording them (batch: 2026-10-14,
    "earlier batch history is not modelled"), while the discounts are older. Before then, a tier is
    priced as the day's standard rate times the tier's ratio to standard today; a tier genai-prices
    has no price for at all is charged at the standard rate. The source says which.
    """
    when = datetime.combine(day, time(12), tzinfo=UTC)
    version = metadata.version("genai-prices")
    try:
        rates, matched = _rates(model, when, tier)
        if tier == "standard":
            return Rates(*map(float, rates), f"genai-prices {version} ({matched})")
        standard, _ = _rates(model, when, "standard")
        if rates != standard:
            return Rates(*map(float, rates), f"genai-prices {version} ({matched}), {tier} tier")
        now = datetime.now(UTC)
        tier_now, standard_now = _rates(model, now, tier)[0], _rates(model, now, "standard")[0]
    except LookupError as exc:
        return Rates(None, None, None, None, f"genai-prices {version}: {exc}")
    if tier_now == standard_now:
        return Rates(*map(float, standard), f"genai-prices {version} ({matched}), no {tier} price: standard rate")
    scaled = (s * t / n if n else s for s, t, n in zip(standard, tier_now, standard_now, strict=True))  # Decimal: exact
    return Rates(*map(float, scaled), f"genai-prices {version} ({matched}), {tier} tier: the day's standard rate × the "
                          f"{tier}/standard ratio genai-prices gives today (no {tier} price on {day})")


def _rates(model: str, when: datetime, tier: str) -> tuple[tuple[Decimal, Decimal, Decimal, Decimal], str]:
    """(input, cached input, cache write, output) per 1M tokens, and the genai-prices model matched."""
    from genai_prices import Usage

    n = PRICED_TOKENS
    input_price, output_price, matched = _price(Usage(input_tokens=n, output_tokens=n), model, when, tier)
    cached, _, _ = _price(Usage(input_tokens=n, cache_read_tokens=n), model, when, tier)
    written, _, _ = _price(Usage(input_tokens=n, cache_write_tokens=n), model, when, tier)
    return (input_price, cached, written, output_price), matched


def fill_prices(con: storage.Connection) -> None:
    """Store the list rate for every (model, day, service tier) in ``requests`` not priced yet."""
    for model, day, tier in storage.unpriced_days(con):
        rates = list_rates(model, day, tier)
        storage.add_price(con, model, day, tier, rates.input, rates.cached_input, rates.cache_write, rates.output,
                          rates.source)


def load_finetune_prices() -> dict:
    """The dated fine-tuning price table (training and fine-tuned inference, with sources)."""
    with open(FINETUNE_FILE, "rb") as f:
        return tomllib.load(f)


@dataclass(frozen=True)
class FinetunePrices:
    """What fine-tuning one model costs, USD per 1M tokens."""

    base_model: str
    snapshot: str
    training: float | None
    input: float
    cached_input: float | None
    output: float
    source: str
    as_of: str


_SNAPSHOT_DATE = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


def finetune_prices(model: str) -> FinetunePrices | None:
    """Fine-tuning prices for a model: its family name, a dated snapshot of it, or ``ft:`` name.

    ``gpt-4o`` and ``gpt-4o-2024-11-20`` match the gpt-4o row; ``gpt-4o-search-preview`` does not.
    """
    name = base_model_name(model)
    undated = _SNAPSHOT_DATE.sub("", name)
    for key, row in load_finetune_prices()["models"].items():
        if name == row["snapshot"] or undated in (key, *row.get("aliases", [])):
            return FinetunePrices(key, row["snapshot"], row.get("training"), row["input"], row.get("cached_input"),
                                  row["output"], row["source"], row["as_of"])
    return None
