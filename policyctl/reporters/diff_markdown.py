"""``diff --format markdown``: GitHub-flavoured tables for a pull-request comment.

Every piece of policy or trace text goes into a code span with ``|`` escaped, so tool names,
patterns and messages can neither break a table nor inject markup or mentions into the comment.
"""

from __future__ import annotations

from policyctl.differ import EFFECTS, TRANSITIONS, DiffReport, Outcome
from policyctl.reporters.diff_text import compact, describe, outcome_text, verdict
from policyctl.reporters.lint_formats import plural, printable

MARKER = "<!-- policyctl-diff -->"  # lets a CI job find and update its own comment


def code(text: str) -> str:
    """``text`` as an inline code span that is safe inside a table cell."""
    if not text:
        return ""
    text = printable(text).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _effect(e: str) -> str:
    return f"**{e}**" if e in ("loosened", "unknown") else e


def _outcome(o: Outcome) -> str:
    return code(outcome_text(o))


def render(report: DiffReport) -> str:
    out: list[str] = [MARKER, f"### Policy diff: {code(report.old_path)} → {code(report.new_path)}", ""]
    s = report.summary
    out.append(" · ".join(_effect(f"{s[e]} {e}") if s[e] else f"{s[e]} {e}" for e in EFFECTS))
    out.append("")
    if report.changes:
        out += ["| effect | kind | pointer | old | new |", "|---|---|---|---|---|"]
        for c in report.changes:
            out.append(f"| {_effect(c.effect)} | {c.kind} | {code(c.pointer)} | {code(describe(c.kind, c.old, 120))} "
                       f"| {code(describe(c.kind, c.new, 120))} |")
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
            out += ["", f"<details><summary>First {plural(len(b.examples), 'changed call')}</summary>", "",
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
            for i, (rec, o, n) in enumerate(zip(ce.trace_records(), ce.old, ce.new), start=1):
                out.append(f"| {i} | {rec['ts']} | {code(rec['tool'])} | {code(compact(rec['args'], 80))} "
                           f"| {_outcome(o)} | {_outcome(n)} |")
            # A fence longer than any backtick run in the trace keeps the block closed.
            body = ce.to_jsonl()
            fence = "```"
            while fence in body:
                fence += "`"
            out += ["", "Ready-to-run trace (`expect` = the new version's decisions):", "",
                    f"{fence}jsonl", body.rstrip("\n"), fence]
    out += ["", f"**{verdict(report)}**" if report.failed() else verdict(report)]
    return "\n".join(out).rstrip("\n") + "\n"
