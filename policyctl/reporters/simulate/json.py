"""``simulate --format json``: the SPEC §5 summary document.

``{"version": 1, "calls", "allowed", "denied", "by_reason", "by_tool", "expectations", "skipped"}``
— plus ``"coverage"`` only when ``--coverage`` (or ``--min-coverage``) was given. ``by_reason`` has
all six reasons (``allowed`` included); ``by_tool`` rows are sorted by tool name.
"""

from __future__ import annotations

from typing import Any

from policyctl.reporters.lint import printable_json
from policyctl.simulate.run import SimulationResult


def summary(result: SimulationResult) -> dict[str, Any]:
    by_reason = result.by_reason()
    calls = sum(by_reason.values())
    data: dict[str, Any] = {
        "version": 1,
        "calls": calls,
        "allowed": by_reason["allowed"],
        "denied": calls - by_reason["allowed"],
        "by_reason": by_reason,
        "by_tool": result.by_tool(),
        "expectations": {"checked": result.checked, "failed": result.failed},
        "skipped": {"non_tool_messages": result.stats.non_tool_messages,
                    "invalid_lines": result.stats.invalid_lines},
    }
    if result.coverage is not None:
        data["coverage"] = result.coverage.to_dict()
    return data


def render(result: SimulationResult) -> str:
    return printable_json(summary(result)) + "\n"
