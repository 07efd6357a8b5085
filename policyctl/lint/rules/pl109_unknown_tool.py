"""A tool name under `tools` or `hide` that the server does not have.

Tool names must match the server's `tools/list` exactly. A misspelt name under `tools` leaves the
real tool to `default` (denied, or under `default: "allow"` allowed without the intended rules),
and a misspelt name under `hide` leaves the real tool visible and callable. The server's tool
list comes from a snapshot (`policyctl scan … --format json`). `"*"` in `hide` is always valid.

Failing example:

    version: "1"
    default: allow
    hide: [delete_acount]

Snapshot:

    [{"name": "delete_account", "description": "Delete the account.", "inputSchema": {"type": "object", "properties": {}}}]

Passing example:

    version: "1"
    default: allow
    hide: [delete_account]
"""

from __future__ import annotations

import difflib
from typing import Iterable

from policyctl.lint.rules import Context, Finding, walk

CODE = "PL109"
NAME = "unknown-tool"
SEVERITY = "error"
NEEDS_TOOLS = True


def _hint(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def check(ctx: Context) -> Iterable[Finding]:
    if ctx.tools is None:
        return
    known = [t.name for t in ctx.tools.tools]
    names = set(known)
    for i, name in enumerate(ctx.data.get("hide") or ()):
        if name != "*" and name not in names:
            yield Finding(f'hide lists "{name}", which the server does not have{_hint(name, known)}; '
                          "the tool you meant stays visible", f"/hide/{i}")
    for name, _entry, at in walk.tools(ctx.data):
        if name not in names:
            yield Finding(f'tool "{name}" is not one of the server\'s tools{_hint(name, known)}; '
                          "this entry matches no call", at, key=True)
