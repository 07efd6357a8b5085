"""One call through a :class:`policyctl.policy.ir.Program`, step by step (explain and coverage).

:class:`policyctl.engine.interpret.Interpreter` only returns a decision code; :func:`walk_call`
takes the same steps in the same order against the same counters and records each of them: the
hide check, the default, every check with each condition it evaluated (and the value it read, an
argument or a counter before this call), every counter reservation with its amount and the count
before and after, and the release after an upstream failure. It updates the interpreter's counters
exactly as the interpreter's own program for the tool would, so a trace replayed through the
interpreter up to line N and then walked at line N sees exactly the simulator's state. A test holds
the walker and the interpreter to the same decisions on generated calls.

Fixed and sliding windows (sliding: PolicyLayer's ``--windows sliding``, counted exactly in
``(ts - length, ts]``, where a slot frees when the oldest counted reservation leaves the window).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from policyctl.documents.pointers import escape_token
from policyctl.engine.counters import WINDOW_NS
from policyctl.engine.evaluator import ALLOWED, Decision
from policyctl.engine.explain import ConditionStep, Explanation, LimitStep, RuleStep
from policyctl.engine.interpret import Interpreter, go_int64_amount, upstream_kind
from policyctl.policy import ir
from policyctl.policy.operators import NOT_FOUND, compile_test, resolve

__all__ = ["walk_call", "condition_label"]


def condition_label(c: ir.Condition) -> str:
    """How a condition's path reads in the dialect's own words."""
    if c.label is not None:
        return c.label
    return ("state." if c.source == "state" else "args.") + ".".join(c.path)


def _decision(outcome: ir.Outcome) -> Decision:
    return Decision(False, outcome.reason, outcome.rule, outcome.message)


def walk_call(it: Interpreter, ts_ns: int, grant: str, tool: str, args: dict, *, upstream_error: Any = False,
              ts_raw: object = None) -> Explanation:
    """Evaluate one call step by step, updating ``it``'s counters as ``it.evaluate_ns`` would."""
    stamped = ts_ns
    ts = it.tick(ts_ns)
    program = it.ir
    store = it.store
    sliding = it.windows == "sliding"
    ex = Explanation(tool, grant, ts, ts_raw, args, bool(upstream_error), it.windows, None, tool in program.tools,
                     "deny" if program.default_deny else "allow")
    ex.dialect = program.dialect
    ex.upstream = upstream_kind(upstream_error)
    ex.late = ts != stamped
    plan = it.walk_plans.get(tool)
    if plan is None:  # what the program does with this tool, looked up once per tool
        plan = it.walk_plans[tool] = (program.hidden(tool), program.default_denied(tool), program.checks(tool),
                                      program.reservations(tool))
    hidden, denied, checks, reservations = plan
    if hidden is not None:
        ex.hidden_by = hidden.origin
        ex.decision, ex.origin = _decision(hidden), hidden.origin
        return ex
    if denied is not None:
        ex.decision, ex.origin = _decision(denied), denied.origin
        return ex
    show = it._show
    tests = it.walk_tests
    for i, check in enumerate(checks):
        conds: list[ConditionStep] = []
        failed: int | None = None
        for j, c in enumerate(check.conditions):
            if c.source == "state":
                value: Any = store.read(grant, ("intercept", c.path[0]), ts)
            else:
                value = resolve(args, c.path)
            found = value is not NOT_FOUND
            test = tests.get(id(c))
            if test is None:  # compiled once per condition (the program holds the condition)
                test = tests[id(c)] = compile_test(c.op, c.value, show) if show is not None else \
                    compile_test(c.op, c.value)
            result = test(value)
            conds.append(ConditionStep(c.pointer, condition_label(c), c.op, c.value, found,
                                       value if found else None, result))
            if not result:
                failed = j
                break
        holds = failed is None
        denies = holds if check.mode == "deny_if_all" else not holds
        first = check.denials[0]
        ex.rules.append(RuleStep(check.kind or check.mode, i if check.index is None else check.index, check.pointer,
                                 check.on_deny, tuple(conds), len(check.conditions) - len(conds), holds, denies,
                                 name=first.rule))
        if denies:
            outcome = check.denial(failed or 0) if check.mode == "all_or_deny" else first
            ex.decision, ex.origin = _decision(outcome), outcome.origin
            ex.rules_not_reached = len(checks) - i - 1
            ex.limits = [_unreached(r) for r in reservations]
            return ex
    taken: list[tuple[int, ir.Reservation, int, int]] = []  # (step index, reservation, length, amount)
    steps: list[LimitStep] = []

    def count(bucket: tuple[str, ...], length: int) -> int:
        if sliding:
            counter = store.sliding.get((bucket, length))
            return counter.count(grant, ts) if counter is not None else 0
        return store.read(grant, bucket, ts)

    def release_all() -> None:
        for k, r, length, amount in reversed(taken):
            store.release(grant, r.bucket, length, ts, amount)
            steps[k] = replace(steps[k], outcome="released", final=count(r.bucket, length))

    def step(r: ir.Reservation, before: int, after: int, length: int, outcome: str, amount: int | None) -> LimitStep:
        if sliding:  # (ts - length, ts]; a slot frees when the oldest counted reservation leaves it
            counter = store.sliding.get((r.bucket, length))
            return _step(r, before, after, ts - length, ts, counter.resets_at(grant, ts) if counter else None,
                         outcome, amount)
        start = ts - ts % length
        return _step(r, before, after, start, start + length, start + length, outcome, amount)

    for k, r in enumerate(reservations):
        length = WINDOW_NS[r.window]
        before = count(r.bucket, length)
        n: int | None
        if isinstance(r.amount, tuple):
            n = go_int64_amount(resolve(args, r.amount))
            if n is None:
                release_all()
                steps.append(step(r, before, before, length, "bad amount", None))
                steps += [_unreached(r2) for r2 in reservations[k + 1:]]
                outcome = r.bad_amount if r.bad_amount is not None else r.refused
                ex.limits = steps
                ex.decision, ex.origin = _decision(outcome), outcome.origin
                return ex
        else:
            n = r.amount
        assert n is not None
        if r.limit is None:
            steps.append(step(r, before, before, length, "not counted", n))
            continue
        if not store.reserve(grant, r.bucket, length, ts, n, r.limit):
            release_all()
            steps.append(step(r, before, before, length, "full", n))
            steps += [_unreached(r2) for r2 in reservations[k + 1:]]
            ex.limits = steps
            ex.decision, ex.origin = _decision(r.refused), r.refused.origin
            return ex
        taken.append((len(steps), r, length, n))
        steps.append(step(r, before, count(r.bucket, length), length, "reserved", n))
    if taken and upstream_error and upstream_kind(upstream_error) in program.release_on:
        release_all()
        ex.released_after = True
    ex.limits = steps
    ex.decision = ALLOWED
    if store.due[0] <= 0:  # as the interpreter does after an allowed call: memory stays flat
        store.sweep(ts)
    return ex


def _counter(r: ir.Reservation) -> str:
    return r.bucket[-1] if r.bucket[0] == "intercept" else str(r.bucket[2])


def _location(r: ir.Reservation) -> str:
    """Where the limit is written: PolicyLayer's ``/tools/<tool>`` or ``/all_tools``; else its pointer."""
    if r.bucket[0] == "all_tools":
        return "/all_tools"
    if r.bucket[0] == "tool":
        return "/tools/" + escape_token(r.bucket[1])
    return r.pointer


def _step(r: ir.Reservation, before: int, after: int, start: int, end: int, resets: int | None, outcome: str,
          amount: int | None) -> LimitStep:
    return LimitStep(r.pointer, _location(r), _counter(r), r.window, r.limit if r.limit is not None else -1, before,
                     after, start, end, resets, outcome, amount=amount, rule=r.refused.rule,
                     unlimited=r.limit is None)


def _unreached(r: ir.Reservation) -> LimitStep:
    return LimitStep(r.pointer, _location(r), _counter(r), r.window, r.limit if r.limit is not None else -1, None,
                     None, None, None, None, "not reached", rule=r.refused.rule, unlimited=r.limit is None,
                     amount=r.amount if type(r.amount) is int else None)
