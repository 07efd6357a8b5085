"""`lt N` on a rule's own counter allows N−1 calls per window, not N.

Intercept reserves before forwarding: with `lt N` the limit is N−1 (the counter must stay below
N after this call), with `lte N` it is N. `lt 100` therefore admits 99 calls a window. When that
is what you mean, write `lte 99`, which says so.

Failing example:

    version: "1"
    default: deny
    tools:
      search:
        rules:
          - name: hourly searches
            conditions:
              - {path: state.search.calls, op: lt, value: 100}
            state: {counter: calls, window: hour}

Passing example:

    version: "1"
    default: deny
    tools:
      search:
        rules:
          - name: hourly searches
            conditions:
              - {path: state.search.calls, op: lte, value: 99}
            state: {counter: calls, window: hour}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules.intercept import all_rules, config, limit_condition

CODE = "PL505"
NAME = "intercept-lt-limit"
SEVERITY = "warning"
DIALECT = "intercept"


def check(ctx: Context) -> Iterable[Finding]:
    for rule in all_rules(config(ctx)):
        cond = limit_condition(rule)
        if cond is None or cond.op != "lt":
            continue
        if not -(2**63) <= cond.value < 2**63:  # .nan, .inf, 1e300: no count of calls to talk about
            continue
        limit = int(cond.value) - 1
        yield Finding(f'"lt {cond.value}" on {cond.path} allows {max(limit, 0)} calls per '
                      f"{rule.state.window if rule.state else 'window'}, not {cond.value}; write "
                      f'"lte {limit}" to say so', cond.pointer + "/op")
