"""Conditions in one rule that can never all hold.

A rule's conditions are ANDed, so if two of them exclude each other the rule never holds: a
`require` rule then denies every call, and a `deny_if` rule never denies. policyctl compares the
conditions on the same path using the engine's operator semantics (numbers compare numerically,
other values by their Go `%v` text, so `"5"` equals `5` but `true` does not equal `1`):

* numeric bounds with no number between them (`gt 10` and `lt 5`, `gte 3` and `lt 3`);
* two `eq` with different values, `eq v` with `neq v`, `eq v` with an `in` list that lacks `v` or
  a `not_in` list that has it, two `in` lists with nothing in common;
* `exists true` with `exists false`, or `exists false` (absent or null) with an operator that needs
  a value (`lt`/`lte`/`gt`/`gte`, `regex`, `contains`, `eq` of a non-null value);
* operators that need different types of value: `regex` (a string) with `gt` (a number), an `eq`
  number outside the numeric bounds, `contains` of a non-string (an array) with `regex`.

Failing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        deny_if:
          - conditions:
              - {path: args.amount, op: gt, value: 10}
              - {path: args.amount, op: lt, value: 5}
            on_deny: Refund amount out of range.

Passing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        deny_if:
          - conditions:
              - {path: args.amount, op: gt, value: 5}
              - {path: args.amount, op: lt, value: 10}
            on_deny: Refunds between 5 and 10 need review.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

from policyctl.documents.gofmt import go_v, to_double
from policyctl.lint.rules import Context, Finding, walk

CODE = "PL106"
NAME = "contradictory-conditions"
SEVERITY = "error"

ALL_TYPES = frozenset({"number", "string", "boolean", "array", "object", "null"})
_NUMERIC_OPS = ("lt", "lte", "gt", "gte")


def _types_needed(cond: dict[str, Any]) -> frozenset[str]:
    """JSON types of the argument for which the condition can hold."""
    op, value = cond["op"], cond.get("value")
    if op in _NUMERIC_OPS:
        return frozenset({"number"})
    if op == "regex":
        return frozenset({"string"})
    if op == "contains":
        return frozenset({"string", "array"}) if isinstance(value, str) else frozenset({"array"})
    if op == "exists":
        return ALL_TYPES - {"null"} if value else frozenset({"null"})  # or absent, see below
    return ALL_TYPES


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number_of(v: Any) -> float | None:
    """The number an argument must be to ``eq`` ``v`` when it has to be a number (None: no number
    does). A string matches the number whose Go ``%v`` form it is: ``"5"`` and ``"1e+06"`` do,
    ``"5.0"``, ``"1e6"`` and ``" 5"`` match no number."""
    if _is_num(v):
        return to_double(v)
    if isinstance(v, str):
        try:
            x = float(v)
        except ValueError:
            return None
        return x if math.isfinite(x) and go_v(x) == v else None
    return None


class _Bounds:
    def __init__(self) -> None:
        self.low = -math.inf
        self.low_strict = False
        self.low_at = -1
        self.high = math.inf
        self.high_strict = False
        self.high_at = -1

    def add(self, j: int, op: str, v: float) -> None:
        if op in ("gt", "gte"):
            strict = op == "gt"
            if v > self.low or (v == self.low and strict):
                self.low, self.low_strict, self.low_at = v, strict, j
        else:
            strict = op == "lt"
            if v < self.high or (v == self.high and strict):
                self.high, self.high_strict, self.high_at = v, strict, j

    def empty(self) -> bool:
        if self.low > self.high:
            return True
        return self.low == self.high and (self.low_strict or self.high_strict)

    def admits(self, x: float) -> bool:
        if x < self.low or (x == self.low and self.low_strict):
            return False
        return not (x > self.high or (x == self.high and self.high_strict))


def _contradiction(conds: list[tuple[int, dict[str, Any]]], eq: Callable[[Any, Any], bool]
                   ) -> tuple[int, int, str] | None:
    """(index a, index b, why) for the first pair found that excludes each other.

    ``eq`` is the engine's equality of an argument with a policy value; two policy values are
    related through :mod:`policyctl.policy.values` (whether some argument equals both), never with
    Python's ``==``, for which ``True == 1``.
    """
    from policyctl.policy.values import eq_key, may_both_eq

    # exists (a non-boolean value makes exists never hold: nothing to contradict)
    exists = [(j, c) for j, c in conds if c["op"] == "exists" and type(c.get("value")) is bool]
    for j, c in exists:
        for k, d in exists:
            if k > j and c["value"] is not d["value"]:
                return j, k, "the argument cannot be both present and absent"
    for j, c in exists:
        if c["value"]:
            continue
        for k, d in conds:
            op = d["op"]
            needs_value = op in _NUMERIC_OPS or op in ("regex", "contains") or \
                (op == "eq" and not eq(None, d.get("value"))) or \
                (op == "in" and isinstance(d.get("value"), list) and not any(eq(None, x) for x in d["value"]))
            if k != j and needs_value:
                return min(j, k), max(j, k), "exists false means the argument is absent or null, " \
                                             f"and {op} cannot hold for that"
    # types
    for j, c in conds:
        for k, d in conds:
            if k > j and not (_types_needed(c) & _types_needed(d)) and "exists" not in (c["op"], d["op"]):
                return j, k, (f"{c['op']} needs {_types_text(_types_needed(c))} and {d['op']} needs "
                              f"{_types_text(_types_needed(d))}")
    # numeric bounds
    bounds = _Bounds()
    numeric = False
    for j, c in conds:
        if c["op"] in _NUMERIC_OPS and _is_num(c.get("value")):
            numeric = True
            bounds.add(j, c["op"], to_double(c["value"]))
            if bounds.empty():
                return min(bounds.low_at, bounds.high_at), max(bounds.low_at, bounds.high_at), \
                    "no number satisfies both bounds"
    eqs = [(j, c) for j, c in conds if c["op"] == "eq"]
    if numeric:
        for j, c in eqs:
            x = _number_of(c["value"])
            if x is None or not bounds.admits(x):
                if x is None:
                    other = bounds.low_at if bounds.low_at >= 0 else bounds.high_at
                elif x < bounds.low or (x == bounds.low and bounds.low_strict):
                    other = bounds.low_at
                else:
                    other = bounds.high_at
                return min(j, other), max(j, other), (
                    f"the argument must equal {walk.show(c['value'])} and be a number within "
                    "the other condition's bound")
    for j, c in eqs:
        for k, d in conds:
            if k == j:
                continue
            op, value = d["op"], d.get("value")
            if op in ("in", "not_in") and not isinstance(value, list):
                continue
            items = value if isinstance(value, list) else []
            if op == "eq" and k > j and not may_both_eq(c["value"], value):
                return j, k, "the argument cannot equal two different values"
            if op == "neq" and eq_key(c["value"]) == eq_key(value):
                return min(j, k), max(j, k), "eq and neq of the same value"
            if op == "in" and not any(may_both_eq(c["value"], x) for x in items):
                return min(j, k), max(j, k), f"{walk.show(c['value'])} is not in the in list"
            if op == "not_in" and any(eq_key(c["value"]) == eq_key(x) for x in items):
                return min(j, k), max(j, k), f"{walk.show(c['value'])} is in the not_in list"
    ins = [(j, c) for j, c in conds if c["op"] == "in" and isinstance(c["value"], list) and c["value"]]
    for j, c in ins:
        for k, d in ins:
            if k > j and not any(may_both_eq(x, y) for x in c["value"] for y in d["value"]):
                return j, k, "the two in lists have no value in common"
    return None


def _types_text(types: frozenset[str]) -> str:
    names = sorted(types)
    return ("a " + " or ".join(names)) if len(names) <= 2 else "a value"


def check(ctx: Context) -> Iterable[Finding]:
    eq: Callable[[Any, Any], bool] | None = None
    for ref in walk.rules(ctx.data):
        by_path: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for j, cond in enumerate(ref.conditions):
            by_path.setdefault(cond["path"], []).append((j, cond))
        for conds in by_path.values():
            if len(conds) < 2:
                continue
            if eq is None:
                from policyctl.policy.operators import eq as engine_eq

                eq = engine_eq
            found = _contradiction(conds, eq)
            if found is None:
                continue
            a, b, why = found
            ca, cb = ref.conditions[a], ref.conditions[b]
            effect = "denies every call" if ref.kind == "require" else "never denies"
            yield Finding(f"conditions {a} ({walk.describe_condition(ca)}) and {b} "
                          f"({walk.describe_condition(cb)}) can never both hold ({why}), so this "
                          f"{ref.kind} rule {effect}", f"{ref.pointer}/conditions/{b}")
