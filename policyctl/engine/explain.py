"""What ``policyctl explain`` and coverage report about one call: the steps and their values.

The steps are taken by :func:`policyctl.engine.walk.walk_call` on a policy's intermediate form
(:mod:`policyctl.policy.ir`), whatever its dialect: the hide check, the default, every rule and
condition (with the value the path resolved to), every limit with its bucket count before and after
and when its window resets. ``explain --trace FILE --line N`` replays lines 1..N-1 through the
interpreter's programs and then walks line N against exactly the state the simulator had. Tests
hold the walker, the interpreter and the compiled PolicyLayer evaluator to the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policyctl.engine.evaluator import ALLOWED, Decision

__all__ = ["ConditionStep", "RuleStep", "LimitStep", "Explanation", "explain_call"]


@dataclass(frozen=True)
class ConditionStep:
    pointer: str
    path: str
    op: str
    expected: Any
    found: bool
    value: Any  # the resolved argument value (None when not found)
    result: bool


@dataclass(frozen=True)
class RuleStep:
    kind: str  # "require" | "deny_if"
    index: int
    pointer: str
    on_deny: str | None
    conditions: tuple[ConditionStep, ...]  # the ones evaluated (evaluation stops at the first that decides)
    skipped: int  # conditions not evaluated because an earlier one settled the rule
    holds: bool  # all evaluated conditions held (an empty rule holds)
    denies: bool
    name: str | None = None  # the rule's id in dialects that name rules (Intercept's ``name``)


@dataclass(frozen=True)
class LimitStep:
    pointer: str
    location: str  # "/tools/<tool>" or "/all_tools"
    counter: str
    window: str
    max: int
    before: int | None  # None: the call never reached this limit
    after: int | None
    window_start: int | None  # ns; fixed: [start, end); sliding: (start, end]
    window_end: int | None
    resets_at: int | None  # ns: fixed → end of window; sliding → when the oldest counted call leaves
    outcome: str  # "reserved" | "full" | "released" | "not reached"
    final: int | None = None  # count after a release (rollback or upstream_error)
    amount: int | None = None  # what this call adds (None: PolicyLayer's 1, or an amount not read)
    rule: str | None = None  # the rule the counter belongs to (Intercept)
    unlimited: bool = False  # a counter with no limit to reserve against (Intercept: no lt/lte on it)


@dataclass
class Explanation:
    tool: str
    grant: str
    ts_ns: int
    ts_raw: object
    args: dict
    upstream_error: bool
    windows: str
    hidden_by: str | None  # pointer of the hide entry that hid the tool
    listed: bool
    default: str
    rules: list[RuleStep] = field(default_factory=list)
    rules_not_reached: int = 0
    limits: list[LimitStep] = field(default_factory=list)
    decision: Decision = ALLOWED
    origin: str | None = None  # JSON Pointer of the deciding part of the policy
    released_after: bool = False  # upstream_error released the reservations
    line: int | None = None
    replayed: int = 0  # calls replayed before this one (``--trace`` mode)
    late: bool = False  # stamped earlier than a call already seen: evaluated at the newest time (ts_ns)
    dialect: str = "policylayer"
    upstream: str = "ok"  # how the upstream answered (ok, jsonrpc_error, tool_error, …)


def explain_call(it: Any, ts_ns: int, grant: str, tool: str, args: dict, *,
                 upstream_error: Any = False, ts_raw: object = None) -> Explanation:
    """Evaluate one call step by step, updating the interpreter ``it``'s counters exactly as
    ``it.evaluate_ns`` would (any dialect: :func:`policyctl.engine.walk.walk_call`)."""
    from policyctl.engine.walk import walk_call

    return walk_call(it, ts_ns, grant, tool, args, upstream_error=upstream_error, ts_raw=ts_raw)
