"""A condition path that the tool's `inputSchema` does not have.

`args.<field>` must name an argument of the tool exactly; nested fields are followed through the
schema's `properties` (and `$ref`, `allOf`/`anyOf`/`oneOf`). A path that does not exist is never
found, so its condition never holds (except `exists: false`): a `require` rule denies every call
and a `deny_if` rule never fires. When the schema does not list properties, or accepts any extra
property, the path cannot be checked and is not reported.

Failing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        deny_if:
          - conditions: [{path: args.ammount, op: gt, value: 100}]
            on_deny: Refund exceeds the policy limit.

Snapshot:

    [{"name": "create_refund", "description": "Refund a charge.", "inputSchema": {"type": "object", "properties": {"charge": {"type": "string"}, "amount": {"type": "integer"}}}}]

Passing example:

    version: "1"
    default: deny
    tools:
      create_refund:
        deny_if:
          - conditions: [{path: args.amount, op: gt, value: 100}]
            on_deny: Refund exceeds the policy limit.
"""

from __future__ import annotations

import difflib
from typing import Iterable

from policyctl.lint.rules import Context, Finding, walk
from policyctl.lint.rules.input_schema import lookup

CODE = "PL110"
NAME = "unknown-argument"
SEVERITY = "error"
NEEDS_TOOLS = True


def check(ctx: Context) -> Iterable[Finding]:
    if ctx.tools is None:
        return
    for ref, _j, cond, at in walk.conditions(ctx.data):
        tool = ctx.tools.tool(ref.tool)
        if tool is None or not isinstance(tool.input_schema, dict):
            continue
        segments = tuple(cond["path"].split(".")[1:])
        found = lookup(tool.input_schema, segments)
        if found.missing_at is None:
            continue
        seg = segments[found.missing_at]
        parent = "args." + ".".join(segments[: found.missing_at]) if found.missing_at else "the tool"
        if found.not_object is not None:
            msg = (f'{cond["path"]}: {parent} is a {found.not_object} in the tool\'s inputSchema, so '
                   f'it has no field "{seg}"')
        else:
            known = list(found.known)
            close = difflib.get_close_matches(seg, known, n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            listing = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
            owner = f'tool "{ref.tool}"' if not found.missing_at else parent
            msg = (f'{cond["path"]}: {owner} has no argument "{seg}"{hint}; its arguments are: '
                   f'{listing or "none"}')
        yield Finding(msg + ". The condition never finds a value", at + "/path")
