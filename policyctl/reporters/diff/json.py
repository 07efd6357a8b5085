"""``diff --format json``: the SPEC §5 document.

``{"version": 1, "changes": [...], "summary": {...}, "behavior": null | {...}}``, plus a ``"search"``
object only when ``--search`` ran. Argument values appear only with ``--show-args`` (as an ``args``
field on each behaviour example); a search counterexample is made of generated values, never of
recorded ones, so its trace is always included.
"""

from __future__ import annotations

from typing import Any

from policyctl.diff.differ import BehaviorDiff, DiffReport
from policyctl.reporters.lint import printable_json


def _behavior(b: BehaviorDiff, show_args: bool) -> dict[str, Any]:
    examples = []
    for ex in b.examples:
        item: dict[str, Any] = {"line": ex.line, "tool": ex.tool, "old": ex.old.to_dict(), "new": ex.new.to_dict()}
        if show_args:
            item["args"] = ex.args
        examples.append(item)
    return {
        "calls": b.calls,
        "changed": b.changed,
        "transitions": dict(b.transitions),
        "by_tool": {tool: {"changed": n} for tool, n in b.by_tool.items()},
        "examples": examples,
    }


def search_data(search: Any) -> dict[str, Any]:
    """The ``search`` object: seed, budget, sequences tried, and one counterexample per effect found."""
    found = []
    for ce in search.counterexamples:
        found.append({
            "effect": ce.effect,
            "calls": len(ce.calls),
            "trace": ce.trace_records(),
            "decisions": [{"line": i, "tool": c.tool, "old": o.to_dict(), "new": n.to_dict()}
                          for i, (c, o, n) in enumerate(zip(ce.calls, ce.old, ce.new), start=1)],
        })
    return {"seed": search.seed, "budget_seconds": search.budget, "sequences": search.examples,
            "complete": search.complete, "unreached": list(search.unreached), "counterexamples": found}


def to_data(report: DiffReport) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "changes": [c.to_dict() for c in report.changes],
        "summary": report.summary,
        "behavior": None if report.behavior is None else _behavior(report.behavior, report.show_args),
    }
    if report.search is not None:
        data["search"] = search_data(report.search)
    return data


def render(report: DiffReport) -> str:
    return printable_json(to_data(report)) + "\n"
