"""``explain --format json``: every step of one call's evaluation as data.

Argument values appear (``"actual"`` on conditions, ``"args"`` on the call) only with
``--show-args``; otherwise conditions carry ``"actual_type"`` (string, number, …, or missing).
Times are RFC 3339 UTC strings; ``position`` is ``[line, column]`` in the policy file.
"""

from __future__ import annotations

from typing import Any, Callable

from policyctl.engine.explain import Explanation
from policyctl.reporters.explain.common import json_type
from policyctl.reporters.lint import printable_json
from policyctl.traces.timestamps import format_ts


def data(ex: Explanation, *, policy: str, position: Callable[[str], tuple[int, int]], show_args: bool,
         call_id: object = None) -> dict[str, Any]:
    def pos(ptr: str | None) -> list[int] | None:
        return list(position(ptr)) if ptr is not None else None

    call: dict[str, Any] = {"line": ex.line, "id": call_id, "ts": ex.ts_raw, "grant": ex.grant, "tool": ex.tool,
                            "arg_keys": sorted(ex.args), "upstream_error": ex.upstream_error}
    if show_args:
        call["args"] = ex.args
    named = ex.dialect != "policylayer"
    rules = []
    for r in ex.rules:
        conds = []
        for c in r.conditions:
            item: dict[str, Any] = {"pointer": c.pointer, "path": c.path, "op": c.op, "value": c.expected,
                                    "found": c.found, "actual_type": json_type(c.value, c.found)}
            if show_args and c.found:
                item["actual"] = c.value
            item["result"] = c.result
            conds.append(item)
        rule = {"kind": r.kind, "index": r.index, "pointer": r.pointer, "position": pos(r.pointer),
                "on_deny": r.on_deny, "conditions": conds, "skipped_conditions": r.skipped,
                "holds": r.holds, "denies": r.denies}
        if named:
            rule["name"] = r.name
        rules.append(rule)
    limits = []
    for s in ex.limits:
        limits.append({
            "pointer": s.pointer, "position": pos(s.pointer), "location": s.location, "counter": s.counter,
            "window": s.window, "max": s.max, "before": s.before, "after": s.after, "final": s.final,
            "window_start": format_ts(s.window_start) if s.window_start is not None else None,
            "window_end": format_ts(s.window_end) if s.window_end is not None else None,
            "resets_at": format_ts(s.resets_at) if s.resets_at is not None else None,
            "outcome": s.outcome,
        })
        if named:  # counters that name their rule and add amounts (Intercept)
            limits[-1].update({"rule": s.rule, "amount": s.amount, "max": None if s.unlimited else s.max})
    d = ex.decision
    decided_by = None
    if ex.origin is not None:
        line, col = position(ex.origin)
        decided_by = {"pointer": ex.origin, "file": policy, "line": line, "column": col}
    return {
        "version": 1,
        "call": call,
        "evaluated_at": format_ts(ex.ts_ns),
        "windows": ex.windows,
        "replayed": ex.replayed,
        "steps": {
            "hidden": {"hidden": ex.hidden_by is not None, "pointer": ex.hidden_by},
            "listed": ex.listed,
            "default": ex.default,
            "rules": rules,
            "rules_not_reached": ex.rules_not_reached,
            "limits": limits,
            "released_after_upstream_error": ex.released_after,
        },
        **({"dialect": ex.dialect, "upstream": ex.upstream} if named else {}),
        "decision": {"decision": d.decision, "reason": d.reason, "rule": d.rule, "message": d.message},
        "decided_by": decided_by,
    }


def render(ex: Explanation, **kw: Any) -> str:
    return printable_json(data(ex, **kw)) + "\n"
