"""A condition reads another scope's counter, which this rule never increments.

A `state.<tool>.<counter>` condition reads the counter as it was before the call. Only rules of
that tool (`state._global.…`: the `"*"` rules) ever increment it. Reading it from another tool's
rule is allowed and sometimes meant (a shared budget), but the rule then never counts its own
calls; and in a `"*"` rule, `state.<tool>.<counter>` instead of `state._global.<counter>` never
reserves at all.

Failing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        rules:
          - name: refund budget
            conditions:
              - {path: state.create_charge.daily, op: lte, value: 50}
      create_charge:
        rules:
          - name: daily charges
            conditions:
              - {path: state.create_charge.daily, op: lte, value: 50}
            state: {counter: daily, window: day}

Passing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        rules:
          - name: refund budget
            conditions:
              - {path: state.create_refund.daily, op: lte, value: 50}
            state: {counter: daily, window: day}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules.intercept import all_rules, config

CODE = "PL506"
NAME = "intercept-foreign-counter"
SEVERITY = "warning"
DIALECT = "intercept"


def check(ctx: Context) -> Iterable[Finding]:
    for rule in all_rules(config(ctx)):
        for cond in rule.conditions:
            parts = cond.path.split(".", 2)
            if parts[0] != "state" or len(parts) < 3 or parts[1] == rule.scope:
                continue
            yield Finding(f'rule "{rule.name}" of {rule.scope if rule.tool != "*" else chr(34) + "*" + chr(34)} '
                          f"reads {cond.path}, a counter only rules of scope \"{parts[1]}\" "
                          "increment; this rule's own calls never count towards it",
                          cond.pointer + "/path")
