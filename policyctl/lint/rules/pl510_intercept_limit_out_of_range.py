"""A rate limit whose number is not a finite value within int64: Go's conversion decides it.

Intercept turns the float64 of a rule's limit condition into an int64 with Go's `int64(x)`. For
NaN, an infinity or a value beyond ±2^63 the Go language leaves the result to the machine: on amd64
(what policyctl evaluates) it is the smallest int64, so `lte` refuses every call, while `lt`
subtracts one more and wraps around to the largest int64, so the rule never limits anything. Other
machines differ (arm64 saturates: `+.inf` becomes the largest int64 there, NaN 0). Write the limit
you mean as a whole number. (An integer beyond int64 is not a float: yaml.v3 reads one up to 2^64
as an unsigned integer, which Intercept refuses as not numeric, PL501.)

Failing example:

    version: "1"
    default: allow
    tools:
      "*":
        rules:
          - name: no global cap
            rate_limit: 1000/minute
          - name: any number of calls a day
            conditions: [{path: state._global.calls, op: lte, value: .inf}]
            state: {counter: calls, window: day}

Passing example:

    version: "1"
    default: allow
    tools:
      "*":
        rules:
          - name: a generous daily cap
            conditions: [{path: state._global.calls, op: lte, value: 100000}]
            state: {counter: calls, window: day}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules.intercept import all_rules, config, limit_condition

CODE = "PL510"
NAME = "intercept-limit-out-of-range"
SEVERITY = "error"
DIALECT = "intercept"


def check(ctx: Context) -> Iterable[Finding]:
    for rule in all_rules(config(ctx)):
        cond = limit_condition(rule)
        if cond is None:
            continue
        value = cond.value
        # yaml.v3 reads an integer in [2^63, 2^64) as a uint64 (not numeric for Intercept: PL501) and
        # one beyond as the float64 nearest to it; NaN compares false, so it is reported
        if type(value) is int and -(2**63) <= value < 2**64 or type(value) is float and -(2**63) <= value < 2**63:
            continue
        shown = _yaml_number(float(value))
        effect = ("refuses every call" if cond.op == "lte"
                  else "wraps around to the largest int64 and never limits")
        yield Finding(f'"{cond.op} {shown}" on {cond.path} is not a number within int64: Go\'s '
                      f"conversion is left to the machine (on amd64 the smallest int64), so rule "
                      f'"{rule.name}" {effect}', cond.pointer + "/value")


def _yaml_number(value: float) -> str:
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    return repr(value)
