"""A negative `increment`: every call gives budget back instead of using it.

Intercept keeps a negative `increment` as it is, so each call lowers the counter and the limit is
never reached (a rollback stops at 0, a reservation does not).

Failing example:

    version: "1"
    default: deny
    tools:
      upload:
        rules:
          - name: daily uploads
            conditions:
              - {path: state.upload.n, op: lte, value: 10}
            state: {counter: n, window: day, increment: -1}

Passing example:

    version: "1"
    default: deny
    tools:
      upload:
        rules:
          - name: daily uploads
            conditions:
              - {path: state.upload.n, op: lte, value: 10}
            state: {counter: n, window: day, increment: 1}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules.intercept import all_rules, config

CODE = "PL508"
NAME = "intercept-negative-increment"
SEVERITY = "warning"
DIALECT = "intercept"


def check(ctx: Context) -> Iterable[Finding]:
    for rule in all_rules(config(ctx)):
        if rule.state is not None and rule.state.increment < 0:
            yield Finding(f'rule "{rule.name}" increments counter "{rule.state.counter}" by '
                          f"{rule.state.increment}: calls lower the counter and the limit is never "
                          "reached", rule.state.pointer + "/increment")
