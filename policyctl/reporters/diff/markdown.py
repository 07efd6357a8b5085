"""``diff --format markdown``: GitHub-flavoured tables for a pull-request comment.

Every piece of policy or trace text goes into a code span with ``|`` escaped, so tool names,
patterns and messages can neither break a table nor inject markup or mentions into the comment.
"""

from __future__ import annotations

import re

from policyctl.diff.differ import EFFECTS, TRANSITIONS, DiffReport, Outcome
from policyctl.reporters.diff.text import MAX_TRACE_LINES, call_runs, compact, describe, outcome_text, verdict
from policyctl.reporters.lint import plural, printable

MARKER = "<!-- policyctl-diff -->"  # lets a CI job find and update its own comment


def code(text: str) -> str:
    """``text`` as an inline code span that is safe inside a table cell."""
    if not text:
        return ""
    text = printable(text).replace("|", "\\|")
    # A span closes at the first backtick run as long as its opening one, so the fence must be
    # longer than every run inside (a tool named a`b``c needs three).
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _effect(e: str) -> str:
    return f"**{e}**" if e in ("loosened", "unknown") else e


def _outcome(o: Outcome) -> str:
    return code(outcome_text(o))


#: GitHub refuses comments longer than 65,536 characters; stay below with room for other text.
MAX_CHARS = 60_000


def render(report: DiffReport) -> str:
    """The comment; when it would be too long for GitHub, fewer change rows (with a note)."""
    text = _render(report, None)
    keep = len(report.changes)
    while len(text) > MAX_CHARS and keep > 0:
        keep //= 2
        text = _render(report, keep)
    return text


def _render(report: DiffReport, keep: int | None) -> str:
    out: list[str] = [MARKER, f"### Policy diff: {code(report.old_path)} → {code(report.new_path)}", ""]
    s = report.summary
    out.append(" · ".join(_effect(f"{s[e]} {e}") if s[e] else f"{s[e]} {e}" for e in EFFECTS))
    out.append("")
    if report.changes:
        out += ["| effect | kind | pointer | old | new |", "|---|---|---|---|---|"]
        shown = report.changes if keep is None else report.changes[:keep]
        for c in shown:
            out.append(f"| {_effect(c.effect)} | {c.kind} | {code(c.pointer)} | {code(describe(c.kind, c.old, 120))} "
                       f"| {code(describe(c.kind, c.new, 120))} |")
        if len(shown) < len(report.changes):
            out += ["", f"… and {len(report.changes) - len(shown)} more changes, left out to fit a comment "
                        "(`--format json` lists them all)."]
    else:
        out.append("No structural changes.")
    b = report.behavior
    if b is not None:
        out += ["", f"#### Trace replay ({report.windows} windows)", "",
                f"{plural(b.calls, 'call')} replayed, **{b.changed} changed**.", ""]
        if b.changed:
            out += ["| transition | calls |", "|---|---:|"]
            out += [f"| {'**deny->allow**' if k == 'deny->allow' and b.transitions[k] else k} "
                    f"| {b.transitions.get(k, 0)} |" for k in TRANSITIONS]
            out += ["", "| tool | changed |", "|---|---:|"]
            out += [f"| {code(tool)} | {n} |" for tool, n in b.by_tool.items()]
            args_col = "args" if report.show_args else "arg keys"
            shown_calls = "Changed calls" if b.changed == len(b.examples) else f"First {len(b.examples)} changed calls"
            out += ["", f"<details><summary>{shown_calls}</summary>", "",
                    f"| line | tool | {args_col} | old | new |", "|---:|---|---|---|---|"]
            for ex in b.examples:
                shown = compact(ex.args, 400) if report.show_args else ", ".join(sorted(ex.args))
                out.append(f"| {ex.line} | {code(ex.tool)} | {code(shown)} | {_outcome(ex.old)} | {_outcome(ex.new)} |")
            out += ["", "</details>"]
    sr = report.search
    if sr is not None:
        state = "" if sr.complete else ", stopped by the budget"
        out += ["", f"#### Counterexample search (seed {sr.seed}, budget {sr.budget:g} s, "
                    f"{plural(sr.examples, 'sequence')} tried{state})"]
        if not sr.counterexamples:
            out += ["", f"No difference found in {plural(sr.examples, 'generated call sequence')}."]
        for ce in sr.counterexamples:
            out += ["", f"**{ce.effect}** — {plural(len(ce.calls), 'call')}:", "",
                    "| line | ts | tool | args | old | new |", "|---:|---|---|---|---|---|"]
            for first, last, rec, o, n in call_runs(ce):
                lines = str(first) if first == last else f"{first}–{last} (×{last - first + 1})"
                out.append(f"| {lines} | {rec['ts']} | {code(rec['tool'])} | {code(compact(rec['args'], 80))} "
                           f"| {_outcome(o)} | {_outcome(n)} |")
            if len(ce.calls) > MAX_TRACE_LINES:
                out += ["", f"The ready-to-run trace has {len(ce.calls)} lines: write it with "
                            "`--counterexample FILE`."]
                continue
            # A fence longer than any backtick run in the trace keeps the block closed.
            body = ce.to_jsonl()
            fence = "```"
            while fence in body:
                fence += "`"
            out += ["", "Ready-to-run trace (`expect` = the new version's decisions):", "",
                    f"{fence}jsonl", body.rstrip("\n"), fence]
    out += ["", f"**{verdict(report)}**" if report.failed() else verdict(report)]
    return "\n".join(out).rstrip("\n") + "\n"
