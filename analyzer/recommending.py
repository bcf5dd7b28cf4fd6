"""The recommended action per template: what to try first, what next, and what doing so nets.

Read from a decided template (its options, decision and the best of them), so that every format
leads with the same action and the overall total adds up what the recommended actions net.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from . import options
from .display import signed_usd
from .projection import TemplateProjection

GO, NO_GO = "GO", "NO-GO"  # costs' verdicts (costs imports this module, so they are not imported from it)
#: What the steps amount to, for a program to act on.
KEEP, PROMPT_ONLY, FINETUNE, PROMPT_THEN_FINETUNE = "keep", "prompt_only", "finetune", "prompt_then_finetune"


@dataclass(frozen=True)
class Step:
    """One option to take, what it nets over the horizon, and whether it needs training."""

    option: str
    label: str
    net_savings_horizon: float
    trains: bool


@dataclass(frozen=True)
class Recommendation:
    """The steps in order, what following them nets over the horizon, and the sentence that says so."""

    action: str
    steps: list[Step] = field(default_factory=list)
    net_savings_horizon: float = 0.0
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        """For the report's JSON."""
        return asdict(self)


def recommend(t: TemplateProjection, horizon: int) -> Recommendation:
    """The action for ``t``: the best prompt-only option that nets anything, then the best fine-tune if it nets more.

    A fine-tune is recommended only when the decision is not NO-GO. The steps are tried in order and
    a later one replaces an earlier (a fine-tuned prompt has no examples left to trim, and needs no
    cache), so what they net is the last step's net, not a sum.
    """
    def best(trains: bool) -> options.Option | None:
        netting = [o for o in t.options if options.KINDS[o.key].trains == trains
                   and o.net_savings_horizon is not None and o.net_savings_horizon > 0]
        return max(netting, key=lambda o: o.net_savings_horizon, default=None)

    prompt_only = best(trains=False)
    tuned = best(trains=True) if t.decision != NO_GO else None
    if tuned is not None and prompt_only is not None and tuned.net_savings_horizon <= prompt_only.net_savings_horizon:
        tuned = None  # training would net less than changing the prompt alone
    steps = [Step(o.key, o.label, o.net_savings_horizon, o is tuned) for o in (prompt_only, tuned) if o is not None]
    if not steps:
        return Recommendation(KEEP, [], 0.0, f"keep the prompt as it is: no option nets anything over {horizon} months")
    action = {(True, False): PROMPT_ONLY, (False, True): FINETUNE, (True, True): PROMPT_THEN_FINETUNE}[
        (prompt_only is not None, tuned is not None)]
    # The fine-tune `crossover compare` measured and found matching, if any: its step says so.
    passed = (t.evaluation or {}).get("replaced_option") if (t.evaluation or {}).get("verdict") == "matches" else None
    return Recommendation(action, steps, steps[-1].net_savings_horizon, _sentence(steps, t.decision, horizon, passed))


def _sentence(steps: list[Step], decision: str, horizon: int, passed: str | None = None) -> str:
    over = f" over {horizon} months"
    parts = []
    for i, step in enumerate(steps):
        first = i == 0
        if not step.trains:
            verb = "first " if len(steps) > 1 else ""
            parts.append(f"{verb}{step.label} ({signed_usd(step.net_savings_horizon)}{over if first else ''}, "
                         "no training)")
        else:
            condition = ("if it passes the quality evaluation" if decision == GO
                         else "may pay: weigh the reasons below, then run a quality evaluation")
            if passed == step.option and decision == GO:
                condition = "(it matched on the eval set: crossover compare)"
            parts.append(f"{'then ' if not first else ''}{step.label} ({signed_usd(step.net_savings_horizon)}"
                         f"{over if first else ''}) {condition}")
    return ", ".join(parts)
