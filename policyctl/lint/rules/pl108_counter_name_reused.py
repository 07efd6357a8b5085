"""The same counter name on several tools (their budgets are not shared).

A limit's bucket is keyed by grant, location (the tool, or `all_tools`), counter and window, so
two tools that both use `counter: writes` count separately: each gets the full `max`. Authors who
reuse a name usually expect one shared budget. For a budget across tools use an `all_tools`
limit; otherwise give each tool its own counter name (`<tool>_rate`) so logs and rule identifiers
say which budget ran out.

Failing example:

    version: "1"
    default: deny
    tools:
      create_issue:
        limits:
          - {counter: writes, window: hour, max: 30, scope: grant}
      create_comment:
        limits:
          - {counter: writes, window: hour, max: 30, scope: grant}

Passing example:

    version: "1"
    default: deny
    all_tools:
      limits:
        - {counter: writes, window: hour, max: 30, scope: grant}
    tools:
      create_issue: {}
      create_comment: {}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding, walk

CODE = "PL108"
NAME = "counter-name-reused"
SEVERITY = "warning"


def check(ctx: Context) -> Iterable[Finding]:
    first: dict[str, walk.LimitRef] = {}
    for ref in walk.limits(ctx.data):
        counter = ref.limit["counter"]
        seen = first.get(counter)
        if seen is None:
            first[counter] = ref
            continue
        if seen.location == ref.location and seen.is_all_tools == ref.is_all_tools:
            continue  # within one list: PL103
        where = "all_tools" if seen.is_all_tools else f'tool "{seen.location}"'
        here = "all_tools" if ref.is_all_tools else f'tool "{ref.location}"'
        yield Finding(f'counter "{counter}" of {here} is also used by {where}; each location counts '
                      "in its own bucket, so they do not share a budget (use an all_tools limit for "
                      "a shared one, or give each its own name)", ref.pointer + "/counter")
