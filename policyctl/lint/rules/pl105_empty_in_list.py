"""`in` or `not_in` with an empty list.

`in []` never holds: in a `require` rule it denies every call, in a `deny_if` rule it never
denies. `not_in []` holds whenever the argument is present, so it only tests presence (say
`exists: true` if that is what you mean). Either way the list was probably meant to have entries.

Failing example:

    version: "1"
    default: deny
    tools:
      send_email:
        require:
          - conditions:
              - {path: args.to_domain, op: in, value: []}
            on_deny: Only approved domains.

Passing example:

    version: "1"
    default: deny
    tools:
      send_email:
        require:
          - conditions:
              - {path: args.to_domain, op: in, value: [example.com, example.org]}
            on_deny: Only approved domains.
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding, walk

CODE = "PL105"
NAME = "empty-in-list"
SEVERITY = "error"


def check(ctx: Context) -> Iterable[Finding]:
    for ref, _j, cond, at in walk.conditions(ctx.data):
        if cond["op"] not in ("in", "not_in") or cond["value"]:
            continue
        if cond["op"] == "in":
            effect = ("denies every call" if ref.kind == "require" else "never denies")
            yield Finding(f'{cond["path"]} in [] never holds, so this {ref.kind} rule {effect}',
                          at + "/value")
        else:
            yield Finding(f'{cond["path"]} not_in [] excludes nothing: it holds whenever the '
                          "argument is present (use exists: true to test presence)", at + "/value")
