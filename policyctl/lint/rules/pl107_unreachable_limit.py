"""A tool limit that another limit always reaches first.

Every call that passes a tool's limits also counts against the `all_tools` limits, and windows
are nested (a minute lies inside its hour, an hour inside its day, in calendar-aligned UTC
windows as in a sliding interval). So when an `all_tools` limit — or another limit of the same
tool — has the **same or a longer window** and a **lower or equal `max`**, it admits at most that
many calls in any window of the tool limit:

* with a lower `max`, the tool limit's bucket can never fill: the limit never fires;
* with an equal `max`, the tool limit fires only when the other limit would deny the same call
  anyway: it never changes a decision (only the reported rule).

A limit with a *shorter* window does not shadow a longer one (10 per minute still allows 600 per
hour), and limits on the same counter are PL103's business. The tool limit is dead weight that
misleads readers about the effective budget; raise it above the shared limit or remove it.

Failing example:

    version: "1"
    default: deny
    all_tools:
      limits:
        - {counter: calls_per_hour, window: hour, max: 100, scope: grant}
    tools:
      run_query:
        limits:
          - {counter: run_query_per_minute, window: minute, max: 200, scope: grant}

Passing example:

    version: "1"
    default: deny
    all_tools:
      limits:
        - {counter: calls_per_hour, window: hour, max: 100, scope: grant}
    tools:
      run_query:
        limits:
          - {counter: run_query_per_minute, window: minute, max: 20, scope: grant}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding, walk

CODE = "PL107"
NAME = "unreachable-limit"
SEVERITY = "warning"


def check(ctx: Context) -> Iterable[Finding]:
    refs = list(walk.limits(ctx.data))
    shared = [r for r in refs if r.is_all_tools]
    for t in refs:
        if t.is_all_tools:
            continue
        siblings = [r for r in refs if not r.is_all_tools and r.location == t.location
                    and r.index != t.index and r.limit["counter"] != t.limit["counter"]]
        for other in shared + siblings:
            if other.seconds < t.seconds or other.limit["max"] > t.limit["max"]:
                continue
            same = other.seconds == t.seconds and other.limit["max"] == t.limit["max"]
            if same and not other.is_all_tools and other.index > t.index:
                continue  # two identical limits of one tool: report the later one only
            if other.limit["max"] < t.limit["max"]:
                effect = "its bucket can never fill, so it never fires"
            else:
                effect = "it fires only when that limit would deny the call anyway, so it never " \
                         "changes a decision"
            yield Finding(f"{t.label} is shadowed by {other.label}: every window of the tool limit "
                          f"lies inside one of that limit's windows, which admits at most "
                          f"{other.limit['max']} calls; {effect}", t.pointer + "/max")
            break
