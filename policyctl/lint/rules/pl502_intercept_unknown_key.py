"""A key Intercept does not know: it is ignored without a word.

Intercept decodes its YAML without rejecting unknown keys, so a misspelt key silently switches
something off: `conditons:` leaves an evaluate rule without conditions, `on_deney:` loses the
message, `windw:` leaves a counter without a window. policyctl reports every key that Intercept
v1.1.0 does not read as an error. Keys of later Intercept releases are reported by PL503 instead.

A tool key that is a YAML null (`null:`, `Null:`, `~:`, `? ` with no key) is reported too: yaml.v3
cannot decode a null into the string key of `tools`, so it drops the entry with everything under
it, unread, and its rules apply to no tool (not to a tool named `null`; quote the key for that).

Failing example:

    version: "1"
    default: deny
    tools:
      run_query:
        rules:
          - name: no deletes
            action: deny
            on_deney: Deletes are blocked.

Passing example:

    version: "1"
    default: deny
    tools:
      run_query:
        rules:
          - name: no deletes
            action: deny
            on_deny: Deletes are blocked.
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules.intercept import config

CODE = "PL502"
NAME = "intercept-unknown-key"
SEVERITY = "error"
DIALECT = "intercept"


def check(ctx: Context) -> Iterable[Finding]:
    for problem in config(ctx).problems:
        if problem.kind == "unknown":
            yield Finding(problem.message, problem.pointer, key=problem.key)
