"""Take a request's live input and output tokens from its reported usage, checked on a sample.

Tokenizing the live turn and the output is most of what reading a request costs once its static
part is memoized. Where the model's tokenizer is tiktoken's and the provider reported usage, both
follow from the bill: input = reported prompt tokens - the counted static part and history, output =
reported completion tokens - reasoning tokens. That holds exactly only where the counting rules are
right for the request's shape, so it is checked, not assumed:

* requests are grouped by (template version, model, whether the output calls tools) within one unit
  of reading (a file, or the tail of one that grew);
* the first :data:`VERIFY_FIRST` requests of each group, then one in :data:`VERIFY_EVERY`, are
  tokenized in full and compared with what derivation would give;
* from the first disagreement on, the group's input (or output) is tokenized for the rest of the
  unit.

The sample depends on the unit's own records only, never on which process read it, so one worker
and two store the same rows. Derived counts are flagged on the request (``input_derived``,
``output_derived``); ``counted_vs_reported`` measures the tokenizer on the counted ones only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Request
from .segmenting import Segmented
from .tokenizing import Counter

#: Requests of each group tokenized in full before derivation is trusted…
VERIFY_FIRST = 8
#: …and then one in this many, so that a change in the traffic's shape is still seen.
VERIFY_EVERY = 64


@dataclass
class Plan:
    """For one request: what derivation gives (None where it cannot), and whether to check it."""

    group: tuple
    verify: bool
    input: int | None
    output: int | None


@dataclass
class _Group:
    seen: int = 0
    input_ok: bool = True  # no check has disagreed…
    output_ok: bool = True
    input_agreed: int = 0  # …and this many agreed: derivation needs at least one
    output_agreed: int = 0


class Derivation:
    """The derivation state of one unit of reading; :meth:`reset` at the start of each."""

    def __init__(self) -> None:
        self._groups: dict[tuple, _Group] = {}

    def reset(self) -> None:
        self._groups.clear()

    def plan(self, request: Request, seg: Segmented, counter: Counter) -> Plan | None:
        """What derivation gives for a request whose static part and history are counted on ``seg``."""
        if not counter.exact or request.reported_prompt_tokens is None:
            return None
        output = request.output
        calls = bool(output and (output.get("tool_calls") or output.get("function_call")))
        group_key = (seg.version_id, request.model, calls)
        group = self._groups.get(group_key)
        if group is None:
            group = self._groups[group_key] = _Group()
        verify = group.seen < VERIFY_FIRST or group.seen % VERIFY_EVERY == 0
        group.seen += 1
        counted_rest = seg.system + seg.fewshot_named + seg.tools + seg.middle_tokens
        derived_input = request.reported_prompt_tokens - counted_rest
        if derived_input < counter.rules.reply_priming:  # a bill smaller than what is surely there
            derived_input = None
        derived_output = None
        if output and not calls and request.reported_output_tokens is not None:
            derived_output = request.reported_output_tokens - (request.reported_reasoning_tokens or 0)
            if derived_output < 0:
                derived_output = None
        if not verify:  # derive only what a check has shown to hold, and none has disproved
            derived_input = derived_input if group.input_ok and group.input_agreed else None
            derived_output = derived_output if group.output_ok and group.output_agreed else None
        return Plan(group_key, verify, derived_input, derived_output)

    def check(self, plan: Plan, seg: Segmented) -> None:
        """Compare a fully counted request with its derivation; distrust the group's part that differs."""
        group = self._groups[plan.group]
        if plan.input is not None:
            if plan.input == seg.input:
                group.input_agreed += 1
            else:
                group.input_ok = False
        if plan.output is not None:
            if plan.output == seg.output:
                group.output_agreed += 1
            else:
                group.output_ok = False
