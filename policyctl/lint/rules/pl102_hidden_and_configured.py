"""A tool that is hidden and also configured under `tools`.

Hidden tools are removed from `tools/list` and denied before any of their rules or limits are
read, so the tool's entry under `tools` has no effect. Either the tool should not be hidden, or
the entry is dead configuration that misleads reviewers (they read rules that never run).
`"*"` in `hide` hides every tool, so then every entry under `tools` is reported.

Failing example:

    version: "1"
    default: deny
    hide: [delete_repository]
    tools:
      delete_repository:
        deny_if:
          - conditions: []
            on_deny: Requires human approval.

Passing example:

    version: "1"
    default: deny
    hide: [delete_repository]
    tools:
      list_repositories: {}
"""

from __future__ import annotations

from typing import Iterable

from policyctl.lint.rules import Context, Finding, walk

CODE = "PL102"
NAME = "hidden-and-configured"
SEVERITY = "error"


def check(ctx: Context) -> Iterable[Finding]:
    hide = ctx.data.get("hide") or []
    if not hide:
        return
    positions = {name: i for i, name in reversed(list(enumerate(hide)))}
    star = positions.get("*")
    for name, _entry, at in walk.tools(ctx.data):
        if name in positions and name != "*":
            yield Finding(f'tool "{name}" is hidden (hide[{positions[name]}]) and also configured '
                          "under tools; hidden tools are denied before their rules and limits are "
                          "read, so this entry has no effect", at, key=True)
        elif star is not None:
            yield Finding(f'tool "{name}" is configured under tools, but "*" in hide '
                          f"(hide[{star}]) hides every tool, so this entry has no effect", at, key=True)
