"""A feature of Intercept releases after 1.1.0 (approvals, spend).

`action: require_approval`, `approval_timeout`, `approvals:` and `spend:` come from later Intercept
releases. Intercept 1.1.0 ignores the keys and rejects the action, so the policy means something
else there. policyctl accepts them and says which release they need; `simulate` evaluates
`require_approval` as its own reason (a deny a person can lift).

Failing example:

    version: "1"
    default: deny
    tools:
      create_payout:
        rules:
          - name: payouts need a person
            action: require_approval
            approval_timeout: 30m

Passing example:

    version: "1"
    default: deny
    tools:
      create_payout:
        rules:
          - name: payouts need a person
            action: deny
            on_deny: Payouts need a person.
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules.intercept import all_rules, config

CODE = "PL503"
NAME = "intercept-newer-release"
SEVERITY = "warning"
DIALECT = "intercept"


def check(ctx: Context) -> Iterable[Finding]:
    from policyctl.policy.dialects.intercept.model import NEWER_ACTIONS  # an Intercept document's only

    cfg = config(ctx)
    for problem in cfg.problems:
        if problem.kind == "newer":
            yield Finding(problem.message, problem.pointer, key=problem.key)
    for rule in all_rules(cfg):
        if rule.action in NEWER_ACTIONS:
            yield Finding(f'action "{rule.action}" needs an Intercept release after 1.1.0, which '
                          "rejects it", rule.pointer + "/action")
