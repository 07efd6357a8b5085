"""Step-by-step evaluation of one call, for ``policyctl explain`` and coverage.

The compiled programs of :mod:`policyctl.engine.evaluator` only return a decision; this module walks the same
steps in the same order with plain Python and records each one: the hide check, the default, every
``require``/``deny_if`` rule and condition (with the value the path resolved to), every limit with
its bucket count before and after and when its window resets. It shares the engine's counters, so
``explain --trace FILE --line N`` first replays lines 1..N-1 through the compiled programs and then
explains line N against exactly the state the simulator had. Tests hold the walker and the
compiled programs to the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policyctl.engine.evaluator import (
    ALLOWED,
    Decision,
    Evaluator,
    default_deny_decision,
    hidden_decision,
    limit_decision,
    limit_location,
    rule_decision,
)
from policyctl.policy.dialects.policylayer.model import Policy, Rule, ToolPolicy, pointer
from policyctl.policy.operators import NOT_FOUND, resolve, test

__all__ = ["ConditionStep", "RuleStep", "LimitStep", "Explanation", "walk_rules", "explain_call"]


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


def walk_rules(entry: ToolPolicy, tool: str, args: dict) -> tuple[list[RuleStep], Decision | None, str | None, int]:
    """Evaluate ``require`` then ``deny_if`` like the engine; returns (steps, decision or None, origin, not reached)."""
    steps: list[RuleStep] = []
    total = len(entry.require) + len(entry.deny_if)
    for i, rule in enumerate(entry.require):
        conds, failed = _conditions(rule, tool, "require", i, args)
        holds = failed is None
        steps.append(RuleStep("require", i, pointer("tools", tool, "require", i), rule.message, conds,
                              len(rule.conditions) - len(conds), holds, not holds))
        if not holds:
            return (steps, rule_decision(tool, "require", rule, i, failed),
                    pointer("tools", tool, "require", i, "conditions", failed), total - len(steps))
    for i, rule in enumerate(entry.deny_if):
        conds, failed = _conditions(rule, tool, "deny_if", i, args)
        holds = failed is None
        steps.append(RuleStep("deny_if", i, pointer("tools", tool, "deny_if", i), rule.message, conds,
                              len(rule.conditions) - len(conds), holds, holds))
        if holds:
            return (steps, rule_decision(tool, "deny_if", rule, i), pointer("tools", tool, "deny_if", i),
                    total - len(steps))
    return steps, None, None, 0


def _conditions(rule: Rule, tool: str, kind: str, i: int,
                args: dict) -> tuple[tuple[ConditionStep, ...], int | None]:
    """Evaluate a rule's conditions in order until one fails; returns (steps, index of the failed one)."""
    out = []
    for j, cond in enumerate(rule.conditions):
        value = resolve(args, cond.segments)
        found = value is not NOT_FOUND
        result = test(cond.op, cond.value, value)
        out.append(ConditionStep(pointer("tools", tool, kind, i, "conditions", j), cond.path, cond.op,
                                 cond.value, found, value if found else None, result))
        if result is False:
            return tuple(out), j
    return tuple(out), None


def explain_call(ev: Any, ts_ns: int, grant: str, tool: str, args: dict, *,
                 upstream_error: Any = False, ts_raw: object = None) -> Explanation:
    """Evaluate one call step by step, updating ``ev``'s counters exactly as ``ev.evaluate_ns`` would.

    ``ev`` is the compiled :class:`Evaluator` of a PolicyLayer policy, or the interpreter of any
    dialect's program (walked by :func:`policyctl.engine.walk.walk_call`)."""
    if not isinstance(ev, Evaluator):
        from policyctl.engine.walk import walk_call

        return walk_call(ev, ts_ns, grant, tool, args, upstream_error=upstream_error, ts_raw=ts_raw)
    stamped = ts_ns
    ts_ns = ev.tick(ts_ns)
    policy: Policy = ev.policy
    entry = policy.tools.get(tool)
    ex = Explanation(tool, grant, ts_ns, ts_raw, args, upstream_error, ev.windows, None, entry is not None,
                     policy.default)
    ex.late = ts_ns != stamped
    if policy.is_hidden(tool):
        index = policy.hide.index("*") if "*" in policy.hide else policy.hide.index(tool)
        ex.hidden_by = pointer("hide", index)
        ex.decision, ex.origin = hidden_decision(tool), ex.hidden_by
        return ex
    if entry is None and policy.default == "deny":
        ex.decision, ex.origin = default_deny_decision(tool), "/default"
        return ex
    entry = entry or ToolPolicy()
    ex.rules, decision, origin, ex.rules_not_reached = walk_rules(entry, tool, args)
    limits = ev.limits(tool)
    own = len(entry.limits)
    pointers = [pointer("tools", tool, "limits", k) if k < own else pointer("all_tools", "limits", k - own)
                for k in range(len(limits))]
    if decision is not None:
        ex.decision, ex.origin = decision, origin
        ex.limits = [_unreached(p, loc, lim) for p, (loc, lim, _) in zip(pointers, limits)]
        return ex
    reserved: list[tuple[int, Any]] = []
    steps: list[LimitStep] = []
    for k, (loc, lim, fam) in enumerate(limits):
        before = fam.count(grant, ts_ns)
        start, end = fam.window(ts_ns)
        if before >= lim.max:
            for j, f in reversed(reserved):
                f.release(grant, ts_ns)
                steps[j] = _replace(steps[j], outcome="released", final=f.count(grant, ts_ns))
            steps.append(LimitStep(pointers[k], limit_location(loc), lim.counter, lim.window, lim.max, before,
                                   before, start, end, fam.resets_at(grant, ts_ns), "full"))
            steps += [_unreached(p, l2, m2) for p, (l2, m2, _) in zip(pointers[k + 1:], limits[k + 1:])]
            ex.limits = steps
            ex.decision, ex.origin = limit_decision(loc, lim), pointers[k]
            return ex
        fam.reserve(grant, ts_ns)
        reserved.append((k, fam))
        steps.append(LimitStep(pointers[k], limit_location(loc), lim.counter, lim.window, lim.max, before,
                               fam.count(grant, ts_ns), start, end, fam.resets_at(grant, ts_ns), "reserved"))
    if upstream_error and reserved:
        for j, f in reversed(reserved):
            f.release(grant, ts_ns)
            steps[j] = _replace(steps[j], outcome="released", final=f.count(grant, ts_ns))
        ex.released_after = True
    ex.limits = steps
    ex.decision = ALLOWED
    return ex


def _unreached(ptr: str, loc: str | None, lim: Any) -> LimitStep:
    return LimitStep(ptr, limit_location(loc), lim.counter, lim.window, lim.max, None, None, None, None, None,
                     "not reached")


def _replace(step: LimitStep, **changes: Any) -> LimitStep:
    from dataclasses import replace

    return replace(step, **changes)
