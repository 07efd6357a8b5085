"""A `require` rule with no conditions, which never denies.

A rule's conditions are ANDed and an empty list always holds, so a `require` rule without
conditions is always satisfied: its `on_deny` message is never shown and it blocks nothing. The
usual intent, "block this tool until a human approves", is written as a `deny_if` rule with no
conditions.

Failing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        require:
          - conditions: []
            on_deny: Requires human approval.

Passing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        deny_if:
          - conditions: []
            on_deny: Requires human approval.
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding, walk

CODE = "PL104"
NAME = "empty-require"
SEVERITY = "error"


def check(ctx: Context) -> Iterable[Finding]:
    for ref in walk.rules(ctx.data):
        if ref.kind == "require" and not ref.conditions:
            hint = ' (to block the tool until a human approves, use deny_if with no conditions)'
            yield Finding(f'require rule {ref.index} of tool "{ref.tool}" has no conditions, so it '
                          f"always holds and never denies{hint}", ref.pointer + "/conditions")
