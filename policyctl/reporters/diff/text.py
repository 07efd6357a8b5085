"""``diff --format text``: rich tables for a terminal or a CI log.

Changes (effect in colour: loosened red, tightened green, unknown yellow, neutral dim), the trace
replay (transitions, changed calls per tool, the first examples), the search result with its
ready-to-run trace, and one closing line with the verdict of ``--fail-on``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from policyctl.diff.differ import EFFECTS, TRANSITIONS, DiffReport, Outcome
from policyctl.reporters.console import render as rich_render
from policyctl.reporters.lint import plural, printable

if TYPE_CHECKING:
    from rich.console import Console

EFFECT_STYLE = {"loosened": "bold red", "tightened": "green", "neutral": "dim", "unknown": "yellow"}
VALUE_WIDTH = 60


def compact(value: Any, limit: int = VALUE_WIDTH) -> str:
    """A JSON value on one line, cut to ``limit`` characters ("" for an absent value)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _condition(c: Any) -> str:
    if isinstance(c, dict) and {"path", "op"} <= set(c):
        return f"{c['path']} {c['op']} {_json(c.get('value'))}"
    return _json(c)


def _intercept_rule(r: dict) -> str:
    """An Intercept rule: its name, its action when not ``evaluate``, conditions, limit, message."""
    parts = [f"{_json(r['name'])}:"]
    if r.get("action") not in (None, "", "evaluate"):
        parts.append(str(r["action"]))
    conds = r.get("conditions") or []
    if conds:
        parts.append(" and ".join(_condition(c) for c in conds))
    if r.get("rate_limit"):
        parts.append(f"rate_limit {r['rate_limit']}")
    state = r.get("state")
    if isinstance(state, dict):
        step = state.get("increment_from") or state.get("increment") or 1
        parts.append(f"state {state.get('counter')}/{state.get('window')} +{step}")
    if len(parts) == 1 or (len(parts) == 2 and r.get("action") == "deny"):
        parts.append("(always)" if r.get("action") in ("deny", "require_approval") else "(no conditions)")
    text = " ".join(parts)
    if r.get("on_deny"):
        text += f" -> {_json(r['on_deny'])}"
    return text


def _rule(r: Any) -> str:
    if not isinstance(r, dict):
        return _json(r)
    if "name" in r:
        return _intercept_rule(r)
    conds = r.get("conditions") or []
    text = " and ".join(_condition(c) for c in conds) if conds else "(always)"
    if r.get("on_deny"):
        text += f" -> {_json(r['on_deny'])}"
    return text


def _limit(x: Any) -> str:
    if isinstance(x, dict) and {"counter", "window", "max"} <= set(x):
        return f"{x['counter']}: {x['max']}/{x['window']}"
    if isinstance(x, dict) and "name" in x:
        return _intercept_rule(x)
    if isinstance(x, str):  # Intercept's rate_limit: "N/window"
        return x
    return _json(x)


def describe(kind: str, value: Any, limit: int = VALUE_WIDTH) -> str:
    """A change's old or new value in a few readable words ("" when absent)."""
    if value is None:
        return ""
    if kind.startswith("condition-") and kind != "conditions-reordered":
        text = _condition(value)
    elif kind in ("rule-added", "rule-removed"):
        text = _rule(value)
    elif kind.startswith("limit-"):
        text = _limit(value)
    elif kind in ("tool-added", "tool-removed") and isinstance(value, dict):
        parts = [f"{k} x{len(value[k])}" for k in ("require", "deny_if", "limits", "rules")
                 if isinstance(value.get(k), list) and value.get(k)]
        text = ", ".join(parts) if parts else "{} (no rules)"
    elif isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, str):
        text = value
    else:
        text = _json(value)
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def outcome_text(o: Outcome) -> str:
    return o.decision if o.rule is None else f"{o.decision} {o.reason} {o.rule}"


MAX_TRACE_LINES = 50  # longer counterexample traces are only written with --counterexample / json


def call_runs(ce: Any) -> list[tuple[int, int, dict, Outcome, Outcome]]:
    """A counterexample's calls with consecutive identical ones (a burst) folded into one run:
    ``(first line, last line, trace record, old outcome, new outcome)``."""
    runs: list[tuple[int, int, dict, Outcome, Outcome]] = []
    for i, (rec, o, n) in enumerate(zip(ce.trace_records(), ce.old, ce.new), start=1):
        if runs:
            first, _, prev, po, pn = runs[-1]
            # arguments compared as JSON text: for Python {"a": True} == {"a": 1}, not for the gateway
            if (prev["ts"], prev["tool"], _canon(prev["args"]), po, pn) == \
                    (rec["ts"], rec["tool"], _canon(rec["args"]), o, n):
                runs[-1] = (first, i, prev, po, pn)
                continue
        runs.append((i, i, rec, o, n))
    return runs


MAX_UNREACHED = 5  # conditions named in the "search incomplete" note; the JSON lists all


def search_state(sr: Any) -> str:
    """How far the search got, for its heading ("" when it is complete)."""
    parts = [", stopped by the budget"] if sr.stopped_by_budget else []
    if sr.unreached:
        parts.append(", incomplete")
    return "".join(parts)


def unreached_note(sr: Any) -> str | None:
    """Why the search is incomplete when the budget is not the reason: the conditions no generated
    value satisfies (a difference behind them cannot be found)."""
    if not sr.unreached:
        return None
    shown = ", ".join(printable(p) for p in sr.unreached[:MAX_UNREACHED])
    more = f" and {len(sr.unreached) - MAX_UNREACHED} more" if len(sr.unreached) > MAX_UNREACHED else ""
    return (f"Incomplete: no generated value satisfies {shown}{more} together with the rest of its "
            "rule (unless the conditions contradict each other, see lint's PL106), so no call that "
            "needs it was tried and a difference behind it would be missed; a --trace with such calls "
            "settles it.")


def verdict(report: DiffReport) -> str:
    """The closing line: what the gate saw and the exit status it gives."""
    s = report.summary
    parts = []
    if s["loosened"]:
        parts.append(f"{plural(s['loosened'], 'loosened change')}")
    if report.behavior is not None and report.behavior.transitions.get("deny->allow"):
        parts.append(f"{plural(report.behavior.transitions['deny->allow'], 'trace call')} deny->allow")
    if report.search is not None and report.search.loosened:
        parts.append("a loosening counterexample")
    if report.unsettled():
        parts.append(f"{plural(report.unsettled(), 'unknown change')} that may loosen (a complete "
                     "--search that finds no loosening clears it)")
    if report.fail_on == "never":
        return "--fail-on never: exit 0"
    if report.failed():
        if report.fail_on == "loosened":
            return "FAIL (--fail-on loosened): " + ", ".join(parts)
        return "FAIL (--fail-on any): the versions differ"
    caveat = ""
    if report.search is not None and not report.search.complete:
        caveat = " (the search was incomplete)"
    if report.fail_on == "loosened":
        text = "OK (--fail-on loosened): nothing loosened" + (" found" + caveat if caveat else "")
        if s["unknown"]:
            text += f"; {plural(s['unknown'], 'unknown change')} cleared by the complete search"
        return text
    return "OK (--fail-on any): no difference" + (" found" + caveat if caveat else "")


def render(report: DiffReport, *, color: bool = False) -> str:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    def table(title: str, *columns: str) -> Table:
        t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  title_style="bold")
        for c in columns:
            t.add_column(c, overflow="fold")
        return t

    def draw(console: "Console") -> None:
        console.print(Text(f"policyctl diff: {printable(report.old_path)} -> {printable(report.new_path)}",
                           style="bold"), soft_wrap=True)
        console.print()
        if report.changes:
            # One row per change: where it is, then what it was (-) and what it is (+), diff-style.
            t = table(f"Changes ({len(report.changes)})", "effect", "kind", "pointer / old (-) / new (+)")
            t.columns[0].no_wrap = t.columns[1].no_wrap = True
            for c in report.changes:
                cell = Text(printable(c.pointer), style="bold")
                if c.old is not None:
                    cell.append("\n- " + describe(c.kind, c.old, 200), style="red" if c.new is None else "")
                if c.new is not None:
                    cell.append("\n+ " + describe(c.kind, c.new, 200), style="green" if c.old is None else "")
                t.add_row(Text(c.effect, style=EFFECT_STYLE[c.effect]), Text(c.kind), cell)
            console.print(t)
        else:
            console.print("No structural changes.")
        s = report.summary
        line = Text("Summary: ")
        for i, e in enumerate(EFFECTS):
            if i:
                line.append(", ")
            line.append(f"{s[e]} {e}", style=EFFECT_STYLE[e] if s[e] else "")
        console.print(line, soft_wrap=True)

        b = report.behavior
        if b is not None:
            console.print()
            console.print(Text(f"Trace replay ({report.windows} windows): {plural(b.calls, 'call')}, "
                               f"{b.changed} changed", style="bold"), soft_wrap=True)
            if b.changed:
                t = table("", "transition", "calls")
                for k in TRANSITIONS:
                    t.add_row(Text(k, style="bold red" if k == "deny->allow" and b.transitions[k] else ""),
                              str(b.transitions.get(k, 0)))
                console.print(t)
                t = table("", "tool", "changed")
                for tool, n in b.by_tool.items():
                    t.add_row(Text(printable(tool)), str(n))
                console.print(t)
                args_col = "args" if report.show_args else "arg keys"
                title = "Changed calls" if b.changed == len(b.examples) else f"First {len(b.examples)} changed calls"
                t = table(title, "line", "tool", args_col, "old", "new")
                for ex in b.examples:
                    shown = compact(ex.args, 400) if report.show_args else printable(", ".join(sorted(ex.args)))
                    t.add_row(str(ex.line), Text(printable(ex.tool)), Text(shown),
                              Text(printable(outcome_text(ex.old))),
                              Text(printable(outcome_text(ex.new)),
                                   style="bold red" if ex.transition == "deny->allow" else ""))
                console.print(t)

        sr = report.search
        if sr is not None:
            console.print()
            head = f"Search (seed {sr.seed}, budget {sr.budget:g} s, {plural(sr.examples, 'sequence')} tried"
            head += search_state(sr) + ")"
            console.print(Text(head, style="bold"), soft_wrap=True)
            note = unreached_note(sr)
            if note:
                console.print(Text(note, style="yellow"), soft_wrap=True)
            if not sr.counterexamples:
                console.print(f"No difference found in {plural(sr.examples, 'generated call sequence')}.")
            for ce in sr.counterexamples:
                console.print(Text(f"Counterexample ({ce.effect}): {plural(len(ce.calls), 'call')}",
                                   style=EFFECT_STYLE.get(ce.effect, "")), soft_wrap=True)
                t = table("", "line", "ts", "tool", "args", "old", "new")
                for first, last, rec, before, after in call_runs(ce):
                    lines = str(first) if first == last else f"{first}-{last} (x{last - first + 1})"
                    t.add_row(lines, rec["ts"], Text(printable(rec["tool"])), Text(compact(rec["args"], 40)),
                              Text(printable(outcome_text(before))), Text(printable(outcome_text(after))))
                console.print(t)
                if len(ce.calls) <= MAX_TRACE_LINES:
                    console.print("Ready-to-run trace (expect = the new version's decisions):")
                    for line_text in ce.to_jsonl().splitlines():
                        console.print(Text(printable(line_text)), soft_wrap=True)
                else:
                    console.print(f"The ready-to-run trace has {len(ce.calls)} lines: write it with "
                                  "--counterexample FILE (or see --format json).", soft_wrap=True)
        console.print()
        console.print(Text(verdict(report), style="bold red" if report.failed() else "bold green"), soft_wrap=True)

    return rich_render(draw, color=color)
