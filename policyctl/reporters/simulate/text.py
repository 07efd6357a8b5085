"""``simulate --format text``: a summary table per tool and reason, expectation failures, coverage.

Argument values are never printed unless ``--show-args``; user text (tool names, messages, ids) is
escaped before rich sees it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from policyctl.reporters.console import escape
from policyctl.reporters.console import render as rich_render
from policyctl.reporters.lint import plural, printable
from policyctl.simulate.run import SimulationResult

if TYPE_CHECKING:
    from rich.console import Console

HEADERS = {"allowed": "allowed", "hidden": "hidden", "default_deny": "default deny", "require": "require",
           "deny_if": "deny_if", "rate_limited": "rate limited", "require_approval": "approval",
           "policy_error": "policy error"}
STYLE = {"allowed": "green", "hidden": "magenta", "default_deny": "red", "require": "red", "deny_if": "red",
         "rate_limited": "yellow", "require_approval": "cyan", "policy_error": "red"}


def decision_text(d: Any) -> str:
    text = f"{d.decision} ({d.reason}"
    if d.rule is not None:
        text += f", {d.rule}"
    return text + ")"


def expected_text(expect: str | None, expect_rule: str | None) -> str:
    parts = []
    if expect is not None:
        parts.append(expect)
    if expect_rule is not None:
        parts.append(f"rule {expect_rule}")
    return ", ".join(parts)


def _id(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render(result: SimulationResult, *, trace: str, policy: str, show_args: bool = False,
           position: Callable[[str], tuple[int, int]] | None = None, args_of: dict[int, dict] | None = None,
           color: bool = False) -> str:
    """The text report. ``position(pointer)`` locates coverage items in the policy file."""

    def draw(console: "Console") -> None:
        from rich.table import Table

        console.print(f"[bold]policyctl simulate[/]: {escape(printable(trace))} against "
                      f"{escape(printable(policy))} ({result.windows} windows)", soft_wrap=True)
        rows = result.by_tool()
        if rows:
            table = Table(box=None, pad_edge=False, header_style="bold")
            table.add_column("tool", overflow="fold")
            table.add_column("calls", justify="right")
            reasons = result.reasons
            for r in reasons:
                table.add_column(HEADERS[r], justify="right")
            totals = {"calls": 0, **{r: 0 for r in reasons}}
            for tool, row in rows.items():
                cells = [escape(printable(tool)), str(row["calls"])]
                for r in reasons:
                    n = row[r]
                    cells.append(f"[{STYLE[r]}]{n}[/]" if n else "[dim]0[/]")
                table.add_row(*cells)
                for k in totals:
                    totals[k] += row[k]
            if len(rows) > 1:
                table.add_section()
                table.add_row("[bold]total[/]", f"[bold]{totals['calls']}[/]",
                              *(f"[bold]{totals[r]}[/]" for r in reasons))
            console.print()
            console.print(table)
        if result.failures:
            console.print()
            shown = len(result.failures)
            head = f"[bold red]Expectation failures[/] ({result.failed} of {result.checked} checked"
            head += f"; first {shown} shown)" if shown < result.failed else ")"
            console.print(head + ":")
            for f in result.failures:
                ident = f" (id {escape(printable(_id(f.id)))})" if f.id is not None else ""
                console.print(f"  {escape(printable(trace))}:{f.line}: {escape(printable(f.tool))}{ident}",
                              soft_wrap=True)
                console.print(f"    expected: {escape(printable(expected_text(f.expect, f.expect_rule)))}")
                console.print(f"    actual:   {escape(printable(decision_text(f.decision)))}")
                if f.decision.message:
                    console.print(f"    message:  {escape(printable(f.decision.message))}")
                if show_args and args_of is not None and f.line in args_of:
                    console.print(f"    args:     {escape(printable(json.dumps(args_of[f.line], ensure_ascii=False)))}")
        if result.coverage is not None:
            _coverage(console, result.coverage, policy, position)
        calls = result.calls
        allowed = result.by_reason()["allowed"]
        console.print()
        line = f"{plural(calls, 'call')}: {allowed} allowed, {calls - allowed} denied."
        if result.checked:
            colour = "red" if result.failed else "green"
            line += f" Expectations: {result.checked} checked, [{colour}]{result.failed} failed[/]."
        console.print(line)
        stats = result.stats
        if stats.non_tool_messages or stats.invalid_lines:
            console.print(f"Skipped: {plural(stats.non_tool_messages, 'non-tool message')}, "
                          f"{plural(stats.invalid_lines, 'invalid line')}.")

    return rich_render(draw, color=color)


def _coverage(console: "Console", cov: Any, policy: str, position: Callable[[str], tuple[int, int]] | None) -> None:
    console.print()
    console.print(f"[bold]Coverage[/]: {cov.percent:g}% ({cov.covered} of {plural(cov.total, 'item')})")
    missing = cov.uncovered()
    if not missing:
        console.print("  every tool, hide entry, rule, condition outcome and limit was exercised")
        return
    for item in missing:
        where = ""
        if position is not None:
            line, col = position(item.pointer)
            where = f"{escape(printable(policy))}:{line}:{col}: "
        what = {"called": "never called", "hid a call": "never hid a call", "fired": "never fired",
                "true": "never true", "false": "never false", "reached": "never reached"}
        text = ", ".join(what[m] for m in item.missing)
        counts = ", ".join(f"{k} {v}" for k, v in item.counts.items())
        console.print(f"  {where}{escape(printable(item.label))}: {text} ({counts})", soft_wrap=True)
