"""The same counter name twice in one `limits` list.

Counters are buckets per grant, location (the tool, or `all_tools`), counter name and window. Two
limits of one list with the same counter and window share one bucket and *each* reserves a unit
in it, so every call counts twice and the smaller `max` is reached at half the rate it says. With
different windows they are separate buckets, but one name for two budgets makes logs and
rule identifiers (`/tools/<tool>/limits/<counter>`) ambiguous. Give every limit its own counter.

Failing example:

    version: "1"
    default: deny
    tools:
      create_issue:
        limits:
          - {counter: issues, window: minute, max: 5, scope: grant}
          - {counter: issues, window: minute, max: 50, scope: grant}

Passing example:

    version: "1"
    default: deny
    tools:
      create_issue:
        limits:
          - {counter: issues_per_minute, window: minute, max: 5, scope: grant}
          - {counter: issues_per_hour, window: hour, max: 50, scope: grant}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding, walk

CODE = "PL103"
NAME = "duplicate-counter"
SEVERITY = "error"


def check(ctx: Context) -> Iterable[Finding]:
    seen: dict[tuple[str, bool, str], walk.LimitRef] = {}
    for ref in walk.limits(ctx.data):
        key = (ref.location, ref.is_all_tools, ref.limit["counter"])
        first = seen.get(key)
        if first is None:
            seen[key] = ref
            continue
        counter = ref.limit["counter"]
        where = "all_tools.limits" if ref.is_all_tools else f'the limits of tool "{ref.location}"'
        if first.limit["window"] == ref.limit["window"]:
            why = ("both limits count in one shared bucket, so every call uses two units and the "
                   "lower max is reached twice as fast as written")
        else:
            why = ("the windows differ, so the buckets are separate, but one name for two budgets "
                   "makes logs and rule identifiers ambiguous")
        yield Finding(f'counter "{counter}" is used twice in {where} (items {first.index} and '
                      f"{ref.index}); {why}", ref.pointer + "/counter")
