"""``explain --format text``: one call's evaluation, step by step, for a terminal.

Argument values are shown as their shape (``<string, 14 chars>``) unless ``--show-args``; the
policy's own values are always shown.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from policyctl.engine.explain import Explanation
from policyctl.policy.dialects.policylayer.model import pointer
from policyctl.reporters.console import escape
from policyctl.reporters.console import render as rich_render
from policyctl.reporters.explain.common import redacted, shown
from policyctl.reporters.lint import printable
from policyctl.traces.timestamps import format_ts

if TYPE_CHECKING:
    from rich.console import Console


def _e(text: object) -> str:
    return escape(printable(text))


def _p(console: "Console", text: str = "") -> None:
    # Long values (regexes, rule ids) stay on one line: wrapping them mid-token misleads.
    console.print(text, soft_wrap=True)


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def render(ex: Explanation, *, policy: str, position: Callable[[str], tuple[int, int]], show_args: bool,
           call_id: object = None, source: str | None = None, color: bool = False) -> str:
    value = shown if show_args else redacted

    def where(ptr: str) -> str:
        line, col = position(ptr)
        return f"{policy}:{line}:{col}"

    def draw(console: "Console") -> None:
        head = f"[bold]policyctl explain[/]: {_e(source)}" if source else "[bold]policyctl explain[/]: one call"
        _p(console, f"{head} against {_e(policy)} ({ex.windows} windows)")
        ident = f"  id {_e(_j(call_id) if not isinstance(call_id, str) else call_id)}" if call_id is not None else ""
        ts = ex.ts_raw if ex.ts_raw is not None else format_ts(ex.ts_ns)
        _p(console, f"call: {_e(ex.tool)}  grant {_e(ex.grant)}  ts {_e(ts)}{ident}"
                      + ("  upstream_error" if ex.upstream_error else ""))
        if ex.late:
            _p(console, f"      evaluated at {format_ts(ex.ts_ns)}: the trace went back in time before this "
                        "line, and the clock does not")
        keys = ", ".join(sorted(ex.args)) or "(none)"
        _p(console, f"args: {_e(keys)}" + ("" if show_args else "  (values hidden; --show-args shows them)"))
        if show_args:
            _p(console, f"      {_e(shown(ex.args, limit=200))}")
        if ex.line is not None:
            _p(console, f"counters: replayed {ex.replayed} earlier call{'s' if ex.replayed != 1 else ''} of the trace")
        else:
            _p(console, "counters: empty (no trace history; use --trace and --line to replay one)")
        _p(console, )

        step = 1
        if ex.hidden_by is not None:
            _p(console, f"{step}. hidden: [magenta]yes[/], by {_e(ex.hidden_by)} ({_e(where(ex.hidden_by))})")
            _decision(console)
            return
        _p(console, f"{step}. hidden: no")
        step += 1
        if ex.dialect != "policylayer":
            _program_steps(console, step)
            return
        if not _listed(console, step, f"yes, {_e(pointer('tools', ex.tool))}", "all_tools limits"):
            return
        step += 1
        for kind in ("require", "deny_if"):
            rules = [r for r in ex.rules if r.kind == kind]
            if not rules:
                continue
            _p(console, f"{step}. {kind}:")
            step += 1
            for r in rules:
                _p(console, f"   #{r.index} {_e(r.pointer)} ({_e(where(r.pointer))})"
                              + (f"  on_deny {_e(_j(r.on_deny))}" if r.on_deny else ""))
                _rule_steps(console, r, counters=False)
        _not_reached(console)
        if ex.limits:
            _p(console, f"{step}. limits:")
            for s in ex.limits:
                label = f"{_e(s.location)}/limits/{_e(s.counter)}: {s.max} per {s.window}"
                if s.outcome == "not reached":
                    _p(console, f"   {label}: not reached")
                    continue
                span = (f"window [{_ts(s.window_start)}, {_ts(s.window_end)})" if ex.windows == "fixed"
                        else f"window ({_ts(s.window_start)}, {_ts(s.window_end)}]")
                resets = (f"resets {_ts(s.resets_at)}" if s.resets_at is not None else "nothing counted yet")
                if ex.windows == "sliding" and s.resets_at is not None:
                    resets = f"a slot frees at {_ts(s.resets_at)}"
                outcome = {"reserved": "[green]reserved[/]", "full": "[yellow]full: rate limited[/]",
                           "released": f"reserved, then [yellow]released[/]: back to {s.final}"}[s.outcome]
                _p(console, f"   {label}: {s.before} -> {s.after} ({outcome}; {span}; {resets})")
            if ex.released_after:
                _p(console, "   upstream_error: the call's reservations were released after it")
        _decision(console)

    def _program_steps(console: "Console", step: int) -> None:
        """The steps of a dialect that names its rules and counts amounts (Intercept)."""
        if not _listed(console, step, "yes", 'the "*" rules'):
            return
        step += 1
        if ex.rules:
            _p(console, f"{step}. rules (the tool's, then the \"*\" rules):")
            step += 1
            for r in ex.rules:
                _p(console, f"   {_e(_j(r.name))} ({_e(r.kind)}) {_e(where(r.pointer))}"
                              + (f"  on_deny {_e(_j(r.on_deny))}" if r.on_deny else ""))
                _rule_steps(console, r, counters=True)
            _not_reached(console)
        if ex.limits:
            _p(console, f"{step}. counters:")
            for s in ex.limits:
                label = f"{_e(s.counter)} (rule {_e(_j(s.rule))}, per {s.window})"
                if s.outcome == "not reached":
                    _p(console, f"   {label}: not reached")
                    continue
                if s.outcome == "bad amount":
                    _p(console, f"   {label}: the amount is missing or not a number: [red]policy error[/]")
                    continue
                span = f"window [{_ts(s.window_start)}, {_ts(s.window_end)})"
                if s.unlimited:
                    _p(console, f"   {label}: {s.before}, no lt/lte limit on it: nothing counted ({span})")
                    continue
                total = (s.before or 0) + (s.amount or 0)
                if s.outcome == "full":
                    sums = f"{s.before} + {s.amount} = {total} > {s.max}: [yellow]denied[/]"
                else:
                    sums = f"{s.before} + {s.amount} = {total} <= {s.max}: [green]reserved[/]"
                    if s.outcome == "released":
                        sums += f", then [yellow]released[/]: back to {s.final}"
                _p(console, f"   {label}: {sums} ({span}; resets {_ts(s.resets_at)})")
            if ex.released_after:
                _p(console, f"   upstream answered {_e(ex.upstream)}: the call's reservations were released")
        _decision(console)

    def _listed(console: "Console", step: int, yes: str, unlisted: str) -> bool:
        """Step ``step``: is the tool listed (``yes`` says where); False, the decision written, when
        it is not and the default denies it; otherwise only ``unlisted`` apply to it."""
        if ex.listed:
            _p(console, f"{step}. listed: {yes}")
        elif ex.default == "deny":
            _p(console, f"{step}. listed: no, and default is \"deny\"")
            _decision(console)
            return False
        else:
            _p(console, f"{step}. listed: no; default is \"allow\", so only {unlisted} apply")
        return True

    def _rule_steps(console: "Console", r: Any, counters: bool) -> None:
        """A rule's conditions, each with the value it saw, and whether the rule holds; with
        ``counters``, a counter's value (``state.…``: the policy's own, not an argument) is shown."""
        if not r.conditions and not r.skipped:
            _p(console, "      no conditions: always holds")
        for c in r.conditions:
            res = "[green]true[/]" if c.result else "[red]false[/]"
            seen = shown(c.value, c.found) if counters and c.path.startswith("state.") else value(c.value, c.found)
            _p(console, f"      {_e(c.path)} {_e(c.op)} {_e(_j(c.expected))}: value {_e(seen)} -> {res}")
        if r.skipped:
            _p(console, f"      ({r.skipped} more condition{'s' if r.skipped != 1 else ''} not evaluated)")
        verdict = ("holds" if r.holds else "does not hold") + (": [red]deny[/]" if r.denies else "")
        _p(console, f"      rule {verdict}")

    def _not_reached(console: "Console") -> None:
        if ex.rules_not_reached:
            _p(console, f"   ({ex.rules_not_reached} later rule{'s' if ex.rules_not_reached != 1 else ''} not reached)")

    def _decision(console: "Console") -> None:
        d = ex.decision
        _p(console, )
        colour = "green" if d.allowed else "red"
        _p(console, f"decision: [bold {colour}]{d.decision}[/] ({d.reason})"
                      + (f"  rule {_e(d.rule)}" if d.rule is not None else ""))
        if d.message:
            _p(console, f"message: {_e(d.message)}")
        if ex.origin is not None:
            _p(console, f"decided by: {_e(where(ex.origin))} ({_e(ex.origin)})")

    return rich_render(draw, color=color)


def _ts(ns: int | None) -> str:
    """A limit step's instant (set on every step that was reached)."""
    return format_ts(ns) if ns is not None else "-"
