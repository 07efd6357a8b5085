"""A policy that `intercept validate` (v1.1.0) rejects, with Intercept's own message.

Intercept refuses to start with a policy that fails its validation, and refuses to load one in
which a value has the wrong type (a list where a string belongs, text where a number belongs).
policyctl reports every such error with the exact text `intercept validate` prints, so it can be
searched for, plus the line, column and JSON Pointer that Intercept does not give. The checks and
their order are Intercept's: version, default, the hide list, then each tool by name (duplicate
state counters first, then each rule: the `rate_limit` shorthand, name, action, conditions —
path prefix, operator, value type, regex compiled as Go compiles it — the state block, and
conditions that read a counter no rule keeps).

Failing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        rules:
          - name: cap refunds
            conditions:
              - {path: args.amount, op: lt, value: "500"}
            on_deny: Refunds above 500 need a person.

Passing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        rules:
          - name: cap refunds
            conditions:
              - {path: args.amount, op: lt, value: 500}
            on_deny: Refunds above 500 need a person.
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules.intercept import config

CODE = "PL501"
NAME = "intercept-invalid"
SEVERITY = "error"
DIALECT = "intercept"


def check(ctx: Context) -> Iterable[Finding]:
    cfg = config(ctx)
    for problem in cfg.problems:
        if problem.kind == "type":
            yield Finding(f"Intercept cannot load the file: {problem.message}", problem.pointer)
    if not cfg.loads:
        return  # Intercept stops at the load error; validation never runs
    from policyctl.policy.dialects.intercept.validate import validate  # an Intercept document's only

    for error in validate(cfg):
        yield Finding(error.message, error.pointer)
