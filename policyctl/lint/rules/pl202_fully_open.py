"""`default: "allow"` with nothing hidden and no require/deny_if rule: every call is allowed.

Such a policy lets the agent call every tool the server has, including tools added later, with any
arguments; at most rate limits apply. That may be intended while observing traffic, but it is not
a protective policy. Start from `default: "deny"` and list the tools the agent needs
(`policyctl init` writes such a starter policy), or hide and restrict the dangerous ones.
PolicyLayer's own `default: "allow"` examples restrict at least one tool, and pass this rule.

Failing example:

    version: "1"
    default: allow
    tools:
      run_query:
        limits:
          - {counter: run_query_rate, window: minute, max: 10, scope: grant}

Passing example:

    version: "1"
    default: allow
    hide: [drop_table]
    tools:
      run_query:
        limits:
          - {counter: run_query_rate, window: minute, max: 10, scope: grant}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding, walk

CODE = "PL202"
NAME = "fully-open"
SEVERITY = "warning"


def check(ctx: Context) -> Iterable[Finding]:
    data = ctx.data
    if data.get("default") != "allow" or data.get("hide"):
        return
    if any(True for _ in walk.rules(data)):
        return
    limited = any(True for _ in walk.limits(data))
    tail = " (only rate limits apply)" if limited else ""
    yield Finding('default is "allow", nothing is hidden and no tool has a require or deny_if '
                  f"rule: every tool can be called with any arguments{tail}", "/default")
