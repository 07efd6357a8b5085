"""An operator or value that contradicts the argument's type or enum in the tool's schema.

The engine compares with fixed rules: `lt`/`lte`/`gt`/`gte` hold only for numbers, `regex` only
for strings, `contains` for strings and arrays; `eq`/`in` compare numbers numerically and
anything else by its Go `%v` text. So `gt 100` on a string argument, `regex` on an integer, or
`eq "yes"` on a boolean (whose values print as `true`/`false`) can never hold, and an `eq`/`in`
value outside the argument's `enum` never matches (a `neq`/`not_in` one always holds). Arguments
whose schema gives no type are not checked.

Failing example:

    version: "1"
    default: deny
    tools:
      merge_pull_request:
        deny_if:
          - conditions: [{path: args.merge_method, op: eq, value: force}]
            on_deny: No force merges.

Snapshot:

    [{"name": "merge_pull_request", "description": "Merge a pull request.", "inputSchema": {"type": "object", "properties": {"merge_method": {"type": "string", "enum": ["merge", "squash", "rebase"]}}}}]

Passing example:

    version: "1"
    default: deny
    tools:
      merge_pull_request:
        deny_if:
          - conditions: [{path: args.merge_method, op: eq, value: rebase}]
            on_deny: No rebase merges.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from policyctl.documents.gofmt import go_v, to_double
from policyctl.lint.rules import Context, Finding, walk
from policyctl.lint.rules.input_schema import enum_of, lookup, types_of

CODE = "PL111"
NAME = "argument-type-mismatch"
SEVERITY = "error"
NEEDS_TOOLS = True

_NUMERIC_OPS = ("lt", "lte", "gt", "gte")


def _spells_number(text: str, types: frozenset[str]) -> bool:
    """Whether a number argument of ``types`` prints as ``text`` with Go's %v (what eq compares):
    ``"5"`` and ``"1e+06"`` do, ``"5.0"``, ``"1e6"`` and ``" 5"`` spell no number."""
    try:
        x = float(text)
    except ValueError:
        return False
    if not (math.isfinite(x) and go_v(x) == text):
        return False
    return "integer" not in types or x.is_integer() or types != {"integer", "number"}


def _could_equal(value: Any, types: frozenset[str]) -> bool:
    """Whether some argument of one of ``types`` is ``eq`` to ``value`` (Go %v semantics)."""
    if "string" in types:
        return True  # a string argument equals any value whose %v text it spells
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, (int, float)):
        if "number" in types:
            return "integer" not in types or to_double(value).is_integer() or types != {"integer", "number"}
        return False
    if isinstance(value, str):
        if value in ("true", "false") and "boolean" in types:
            return True
        if value == "<nil>" and "null" in types:
            return True
        if "number" in types and _spells_number(value, types):
            return True
        return bool(types & {"array", "object"})
    if value is None:
        return "null" in types
    return bool(types & {"array", "object"})


def _describe(types: frozenset[str]) -> str:
    shown = sorted(types - {"number"}) if "integer" in types and types <= {"integer", "number", "null"} \
        else sorted(types)
    return " or ".join(shown)


def check(ctx: Context) -> Iterable[Finding]:
    if ctx.tools is None:
        return
    eq = None
    for ref, _j, cond, at in walk.conditions(ctx.data):
        tool = ctx.tools.tool(ref.tool)
        if tool is None or not isinstance(tool.input_schema, dict):
            continue
        found = lookup(tool.input_schema, tuple(cond["path"].split(".")[1:]))
        if not found.schemas:
            continue
        types = types_of(found.schemas)
        op, value = cond["op"], cond.get("value")
        path = cond["path"]
        if types is not None:
            kind = _describe(types)
            if op in _NUMERIC_OPS and "number" not in types:
                yield Finding(f"{path} is a {kind} in the tool's inputSchema, but {op} holds only "
                              "for numbers, so this condition never holds", at + "/op")
                continue
            if op == "regex" and "string" not in types:
                yield Finding(f"{path} is a {kind} in the tool's inputSchema, but regex holds only "
                              "for strings, so this condition never holds", at + "/op")
                continue
            if op == "contains":
                ok = bool(types & {"string", "array"}) if isinstance(value, str) else "array" in types
                if not ok:
                    yield Finding(f"{path} is a {kind} in the tool's inputSchema; contains "
                                  f"{walk.show(value)} needs {'a string or ' if isinstance(value, str) else 'an '}"
                                  "array, so this condition never holds", at + "/op")
                    continue
        if op not in ("eq", "neq", "in", "not_in"):
            continue
        if op in ("in", "not_in") and not isinstance(value, list):
            continue
        values = [(at + "/value", value)] if op in ("eq", "neq") else \
            [(f"{at}/value/{i}", v) for i, v in enumerate(value or ())]
        enum = enum_of(found.schemas)
        if enum is not None:
            if eq is None:
                from policyctl.policy.operators import eq as engine_eq

                eq = engine_eq
            allowed = ", ".join(walk.show(v, 20) for v in enum[:10]) + (", …" if len(enum) > 10 else "")
            for where, v in values:
                if not any(eq(v, e) for e in enum):
                    effect = "never matches" if op in ("eq", "in") else "always holds"
                    yield Finding(f"{walk.show(v)} is not one of the values the tool accepts for "
                                  f"{path} ({allowed}), so this {op} {effect}", where)
        elif types is not None:
            for where, v in values:
                if not _could_equal(v, types):
                    effect = "never matches" if op in ("eq", "in") else "always holds"
                    yield Finding(f"{path} is a {_describe(types)} in the tool's inputSchema, and no "
                                  f"such value equals {walk.show(v)}, so this {op} {effect}", where)
