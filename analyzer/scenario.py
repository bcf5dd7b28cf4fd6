"""The scenario: every assumption of a projection, from a TOML file, with documented defaults.

Each key of DESIGN.md's contract is declared once in :data:`KEYS` with its default and meaning;
the README's scenario table is generated from it, and an unknown key is an error rather than a
silently ignored typo.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ScenarioError


@dataclass(frozen=True)
class Key:
    """One scenario key: where it lives, its default and what it means."""

    section: str
    name: str
    default: Any
    help: str


KEYS: tuple[Key, ...] = (
    Key("traffic", "sample_rate", 1.0,
        "Share of calls the logs hold, for records that do not say (a record's own `sample_rate` wins). "
        "Volume divides by it."),
    Key("traffic", "horizon_months", 12, "Months over which net savings are summed and break-even must fall."),
    Key("traffic", "growth", None,
        "Monthly volume growth (0.05 = +5%/month); default: fitted from the logs' daily series, "
        "weekday pattern removed, clamped to −50%…+100%."),
    Key("finetune", "target_model", None, "Model to fine-tune; default: the template's own (most used) model."),
    Key("finetune", "system_prompt_tokens", 100,
        "System prompt tokens kept after fine-tuning (at most the current ones)."),
    Key("finetune", "training_price", None,
        "USD per 1M training tokens; default: data/finetune_prices.toml for the target."),
    Key("finetune", "input_price", None, "USD per 1M input tokens on the fine-tuned model; default: the data file."),
    Key("finetune", "output_price", None, "USD per 1M output tokens on the fine-tuned model; default: the data file."),
    Key("finetune", "epochs", 3, "Training epochs (OpenAI's default for small sets)."),
    Key("finetune", "examples", 500,
        "Training examples: tokens per example are the template's kept prompt plus output."),
    Key("finetune", "smaller_model", None,
        "Model of the smaller-model option; default: the next smaller fine-tunable model of the family "
        "(gpt-4o → gpt-4o-mini, gpt-4.1 → gpt-4.1-mini → gpt-4.1-nano); `none` leaves the option out."),
    Key("caching", "hours", 2.0,
        "Engineering hours to put the static prefix first and mark it cacheable (the caching-only option's upfront)."),
    Key("trim", "keep_examples", 2, "Few-shot examples kept by the trimming option."),
    Key("trim", "hours", 4.0,
        "Engineering hours to choose the kept examples and check quality (the trimming option's upfront)."),
    Key("lora", "model", "llama-3.1-8b",
        "Open model of the self-hosted LoRA option, a label. "
        "The option is shown only when the scenario has a [lora] section."),
    Key("lora", "gpu_hourly", 3.67, "USD per GPU-hour for training (A100 80GB, Azure NC24ads_A100_v4, pricing.md §5)."),
    Key("lora", "training_hours", 0.5, "GPU-hours per training run (8B LoRA on one A100, pricing.md §5)."),
    Key("lora", "serving_hourly", 3.67, "USD per hour of the dedicated GPU that serves the adapter."),
    Key("lora", "serving_hours", 730.0, "Hours a month the serving GPU runs (730: always on)."),
    Key("lora", "input_price", None,
        "USD per 1M input tokens when served per token instead (then serving_hourly is not used)."),
    Key("lora", "output_price", None, "USD per 1M output tokens when served per token."),
    Key("upfront", "hourly_rate", 100.0, "USD per engineering hour."),
    Key("upfront", "data_hours", 8.0, "Hours to curate the training set from the logs."),
    Key("upfront", "eval_hours", 8.0, "Hours to build and run the quality evaluation."),
    Key("upfront", "pipeline_hours", 4.0, "Hours to wire the fine-tuned model into production."),
    Key("upfront", "fixed", 0.0, "Any other one-off cost, USD."),
    Key("maintenance", "retrain_every_months", 6,
        "Months between retrainings (each costs training + retrain_hours); 0 never retrains."),
    Key("maintenance", "retrain_hours", 4.0, "Engineering hours per retraining."),
    Key("maintenance", "monthly", 0.0, "Other monthly upkeep (monitoring, hosting), USD."),
    Key("decision", "max_breakeven_months", 6.0,
        "GO needs break-even within this many months (else EVALUATE, or NO-GO past the horizon)."),
    Key("decision", "min_daily_requests", 1000.0, "GO needs at least this many requests per day (else EVALUATE)."),
    Key("decision", "min_examples", 500,
        "GO needs this many distinct successful examples in the logs; fewer than a fifth of it is NO-GO."),
    Key("decision", "min_agreement", 0.95,
        "Once `crossover compare` has scored a candidate: the share of eval examples it must agree on (labels "
        "exactly, JSON in every field) for the quality evaluation to pass (else EVALUATE)."),
    Key("decision", "min_eval_coverage", 0.9,
        "The share of the eval set the candidate's calls must answer for its agreement to decide."),
)
PRICE_FIELDS = ("input", "cached_input", "cache_write", "output")


@dataclass(frozen=True)
class Scenario:
    """The values used, by section; ``prices`` overrides list prices per model (USD per 1M tokens)."""

    values: dict[str, dict[str, Any]]
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    path: str | None = None
    given: frozenset[str] = frozenset()  # the sections the file wrote (an optional option is on when given)

    def __getitem__(self, dotted: str) -> Any:
        section, name = dotted.split(".")
        return self.values[section][name]

    def with_value(self, dotted: str, value: Any) -> Scenario:
        """A copy with one value changed (for sensitivity runs)."""
        section, name = dotted.split(".")
        values = {k: dict(v) for k, v in self.values.items()}
        values[section][name] = value
        return Scenario(values, self.prices, self.path, self.given)

    def as_dict(self) -> dict[str, Any]:
        """The values as the report's ``scenario`` object."""
        out: dict[str, Any] = {section: dict(values) for section, values in self.values.items()}
        if self.prices:
            out["prices"] = {model: dict(p) for model, p in self.prices.items()}
        out["file"] = self.path
        return out


def defaults() -> dict[str, dict[str, Any]]:
    """Every key at its default, by section."""
    values: dict[str, dict[str, Any]] = {}
    for key in KEYS:
        values.setdefault(key.section, {})[key.name] = key.default
    return values


def load(path: str | Path | None = None) -> Scenario:
    """Read a scenario file over the defaults; no file means all defaults.

    Raises:
        ScenarioError: the file is missing, not TOML, or has an unknown key or a bad value.
    """
    values = defaults()
    if path is None:
        return Scenario(values)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ScenarioError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    prices = _prices(path, data.pop("prices", {}))
    for section, table in data.items():
        if section not in values or not isinstance(table, dict):
            raise ScenarioError(f"{path}: unknown section [{section}]; known: {', '.join(values)}, prices")
        for name, value in table.items():
            if name not in values[section]:
                raise ScenarioError(f"{path}: unknown key {section}.{name}; known: {', '.join(values[section])}")
            values[section][name] = _check(path, f"{section}.{name}", value)
    if not 0 < values["traffic"]["sample_rate"] <= 1:
        raise ScenarioError(f"{path}: traffic.sample_rate must be in (0, 1]")
    return Scenario(values, prices, str(path), frozenset(data))


_NAMES = {"finetune.target_model", "finetune.smaller_model", "lora.model"}


def _check(path: Any, name: str, value: Any) -> Any:
    if name in _NAMES:
        if not isinstance(value, str) or not value:
            raise ScenarioError(f"{path}: {name} must be a model name")
        return value
    if name == "traffic.growth":  # may shrink, not below −50% a month
        if isinstance(value, bool) or not isinstance(value, int | float) or value < -0.5:
            raise ScenarioError(f"{path}: {name} must be a number ≥ −0.5, not {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ScenarioError(f"{path}: {name} must be a number ≥ 0, not {value!r}")
    return value


def _prices(path: Any, table: Any) -> dict[str, dict[str, float]]:
    if not isinstance(table, dict):
        raise ScenarioError(f'{path}: [prices] must hold tables like [prices."gpt-4o"]')
    out = {}
    for model, entry in table.items():
        if not isinstance(entry, dict) or not set(entry) <= set(PRICE_FIELDS):
            raise ScenarioError(f'{path}: [prices."{model}"] takes only {", ".join(PRICE_FIELDS)}')
        out[model] = {k: float(_check(path, f"prices.{model}.{k}", v)) for k, v in entry.items()}
    return out


def scenario_keys_markdown() -> str:
    """The scenario keys as a markdown table (the README's copy is generated from this)."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key in KEYS:
        default = "—" if key.default is None else f"`{key.default}`"
        lines.append(f"| `[{key.section}] {key.name}` | {default} | {key.help} |")
    lines.append('| `[prices."MODEL"] input, cached_input, cache_write, output` | genai-prices '
                 '| USD per 1M tokens, overriding the list price of MODEL. |')
    return "\n".join(lines)
