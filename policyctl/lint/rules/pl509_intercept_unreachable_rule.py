"""A rule after an unconditional `deny` in the same list can never fire.

Intercept evaluates a tool's rules in order and stops at the first that denies. After a rule with
`action: deny` (which has no conditions), the rules below it in the same list are never reached;
in the `"*"` list the same holds for every tool. Their counters never count either.

Failing example:

    version: "1"
    default: deny
    tools:
      drop_table:
        rules:
          - name: never
            action: deny
            on_deny: Dropping tables is not allowed.
          - name: only in test
            conditions:
              - {path: args.database, op: eq, value: test}

Passing example:

    version: "1"
    default: deny
    tools:
      drop_table:
        rules:
          - name: only in test
            conditions:
              - {path: args.database, op: eq, value: test}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules.intercept import config

CODE = "PL509"
NAME = "intercept-unreachable-rule"
SEVERITY = "warning"
DIALECT = "intercept"


def check(ctx: Context) -> Iterable[Finding]:
    for tool, rules in config(ctx).tools.items():
        blocker = None
        for rule in rules:
            if blocker is not None:
                yield Finding(f'rule "{rule.name}" of tool "{tool}" comes after the unconditional deny '
                              f'"{blocker.name}" and is never evaluated', rule.pointer)
            elif rule.action == "deny" and not rule.conditions and not rule.rate_limit:
                blocker = rule
