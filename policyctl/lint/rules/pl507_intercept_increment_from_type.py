"""`increment_from` names an argument the tool's input schema does not declare as a number.

Intercept adds the argument's value (truncated toward zero) to the counter. When the argument is
missing or not a number, the call is denied with "Internal policy error". With `--tools`,
policyctl checks the path against the tool's `inputSchema`: every property on the way must exist
and the last must be a `number` or `integer`.

Failing example:

    version: "1"
    default: deny
    tools:
      create_charge:
        rules:
          - name: daily spend
            conditions:
              - {path: state.create_charge.spend, op: lte, value: 100000}
            state: {counter: spend, window: day, increment_from: args.currency}

Passing example:

    version: "1"
    default: deny
    tools:
      create_charge:
        rules:
          - name: daily spend
            conditions:
              - {path: state.create_charge.spend, op: lte, value: 100000}
            state: {counter: spend, window: day, increment_from: args.amount}

Snapshot:

    {"tools": [{"name": "create_charge", "inputSchema": {"type": "object", "properties": {
      "amount": {"type": "integer"}, "currency": {"type": "string"}}}}]}
"""

from __future__ import annotations

from typing import Any, Iterable

from policyctl.lint.rules import Context, Finding
from policyctl.lint.rules.intercept import all_rules, config

CODE = "PL507"
NAME = "intercept-increment-from-type"
SEVERITY = "error"
DIALECT = "intercept"
NEEDS_TOOLS = True


def _type_at(schema: Any, segments: list[str]) -> str | None:
    """The declared JSON type at ``segments`` (None: not declared)."""
    node = schema
    for seg in segments:
        props = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(props, dict) or seg not in props:
            return None
        node = props[seg]
    kind = node.get("type") if isinstance(node, dict) else None
    if isinstance(kind, list):
        return "number" if any(k in ("number", "integer") for k in kind) else str(kind[0]) if kind else None
    return kind if isinstance(kind, str) else "any"


def check(ctx: Context) -> Iterable[Finding]:
    assert ctx.tools is not None
    for rule in all_rules(config(ctx)):
        st = rule.state
        if st is None or not st.increment_from.startswith("args.") or rule.tool == "*":
            continue
        tool = ctx.tools.tool(rule.tool)
        if tool is None:
            continue
        kind = _type_at(tool.input_schema, st.increment_from[len("args."):].split("."))
        if kind in ("number", "integer", "any"):
            continue
        what = "does not declare it" if kind is None else f"declares it as {kind}"
        yield Finding(f'increment_from {st.increment_from}: the input schema of "{rule.tool}" {what}, '
                      'so every call is denied with "Internal policy error"',
                      st.pointer + "/increment_from")
