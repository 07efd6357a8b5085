"""A `state` block whose counter never counts: no `lt`/`lte` condition on its own counter.

Intercept takes a stateful rule's limit from its first `lt` or `lte` condition (with a number) on
the rule's own counter path, `state.<tool>.<counter>` (`state._global.<counter>` in the `"*"`
rules). Without one, the rule reserves nothing and the counter is never incremented: every
condition that reads it sees 0, and the limit it was meant to keep is never enforced.

Failing example:

    version: "1"
    default: deny
    tools:
      send_email:
        rules:
          - name: hourly emails
            conditions:
              - {path: state.send_email.sent, op: gte, value: 0}
            state: {counter: sent, window: hour}

Passing example:

    version: "1"
    default: deny
    tools:
      send_email:
        rules:
          - name: hourly emails
            conditions:
              - {path: state.send_email.sent, op: lte, value: 20}
            state: {counter: sent, window: hour}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules.intercept import all_rules, config, limit_condition, own_counter_path

CODE = "PL504"
NAME = "intercept-state-never-counts"
SEVERITY = "warning"
DIALECT = "intercept"


def check(ctx: Context) -> Iterable[Finding]:
    for rule in all_rules(config(ctx)):
        if rule.state is None or rule.rate_limit or limit_condition(rule) is not None:
            continue
        yield Finding(f'rule "{rule.name}" keeps counter "{rule.state.counter}" but has no lt/lte '
                      f"condition with a number on {own_counter_path(rule)}: Intercept never "
                      "reserves for it, so the counter stays 0 and nothing is limited",
                      rule.state.pointer)
