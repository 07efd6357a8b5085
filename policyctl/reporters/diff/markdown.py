"""``diff --format markdown``: GitHub-flavoured tables for a pull-request comment.

Every piece of policy or trace text goes into a code span with ``|`` escaped, so tool names,
patterns and messages can neither break a table nor inject markup or mentions into the comment.

GitHub refuses a comment over 65,536 characters, so the comment is kept under :data:`MAX_CHARS`
whatever the input. What it always keeps, and the order in which table rows are given up, is the
user documentation in docs/diff.md ("What a pull-request comment keeps"):

* always: the marker, the title, the count of changes per effect, the trace replay's totals and
  transitions, the search heading (and why it is incomplete), and the verdict line;
* then rows, most important first: ``default-changed``, ``loosened`` and ``unknown`` changes; the
  counterexamples' calls; ``tightened`` and ``neutral`` changes; the example calls (at most 20);
  the ready-to-run traces; the per-tool counts (most changed first), the only table whose length
  grows with the trace.

Rows are given up from the end of that order; every table that loses rows says how many, and
``--format json`` lists everything. The changes table is sorted by that order too, so what a
reviewer reads first is what matters most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from policyctl.diff.differ import EFFECTS, TRANSITIONS, Change, DiffReport, Outcome
from policyctl.reporters.diff.text import (
    MAX_TRACE_LINES,
    call_runs,
    compact,
    describe,
    outcome_text,
    search_state,
    unreached_note,
    verdict,
)
from policyctl.reporters.lint import plural, printable

MARKER = "<!-- policyctl-diff -->"  # lets a CI job find and update its own comment

#: GitHub refuses comments longer than 65,536 characters; stay below with room for other text.
MAX_CHARS = 60_000
#: characters of policy or trace text in one table cell (tool names, pointers, rule ids)
CELL = 160

_EFFECT_RANK = {"loosened": 0, "unknown": 1, "tightened": 2, "neutral": 3}


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


def _cut(text: str, limit: int = CELL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cell(text: str, limit: int = CELL) -> str:
    """Policy or trace text as a bounded code span."""
    return code(_cut(text, limit))


def comment_length(text: str) -> int:
    """Length as GitHub may count it: UTF-16 code units (a character outside the BMP counts twice),
    never less than the number of characters."""
    return len(text.encode("utf-16-le")) // 2


def _effect(e: str) -> str:
    return f"**{e}**" if e in ("loosened", "unknown") else e


def _outcome(o: Outcome) -> str:
    return _cell(outcome_text(o))


def change_order(changes: tuple[Change, ...]) -> list[Change]:
    """Most important first: a flipped ``default``, then loosened, unknown, tightened, neutral
    (document order within each)."""
    return sorted(changes, key=lambda c: (c.kind != "default-changed", _EFFECT_RANK[c.effect]))


def _change_tier(c: Change) -> int:
    return 1 if c.kind == "default-changed" or c.effect in ("loosened", "unknown") else 3


# tiers of rows, lowest given up last (tier 1 = the changes that matter most)
_TIER_COUNTEREXAMPLE, _TIER_EXAMPLES, _TIER_TRACE, _TIER_TOOLS = 2, 4, 5, 6


@dataclass
class _Rows:
    """A table (or a run of blocks) whose rows may be left out from the end."""

    header: list[str]  # shown above the first row, only if some row is kept
    rows: list[tuple[int, str]]  # (tier, text); text may span several lines
    more: Callable[[int], str]  # the note for n rows left out
    footer: list[str] = field(default_factory=list)  # shown after the rows, only if some row is kept
    keep: int = 0


def render(report: DiffReport) -> str:
    """The comment, at most :data:`MAX_CHARS` long (see the module documentation)."""
    parts = _parts(report)
    tables = [p for p in parts if isinstance(p, _Rows)]
    for t in tables:
        t.keep = len(t.rows)
    text = _join(parts)
    if comment_length(text) <= MAX_CHARS:
        return text
    # Fixed text, plus a "… N more" note for every table, is what remains when no row is kept.
    for t in tables:
        t.keep = 0
    fixed = comment_length(_join(parts, notes_for_all=True))
    items = sorted(((tier, ti, ri) for ti, t in enumerate(tables) for ri, (tier, _) in enumerate(t.rows)))
    budget = MAX_CHARS - fixed
    while True:
        left = budget
        for t in tables:
            t.keep = 0
        for _tier, ti, ri in items:
            t = tables[ti]
            if ri != t.keep:  # rows of one table are kept as a prefix
                break
            cost = comment_length(t.rows[ri][1]) + 1
            if ri == 0:
                cost += sum(comment_length(line) + 1 for line in (*t.header, *t.footer))
            if cost > left:
                break
            left -= cost
            t.keep += 1
        text = _join(parts)
        over = comment_length(text) - MAX_CHARS
        if over <= 0 or not any(t.keep for t in tables):
            return text
        budget -= over  # only if the estimate was short; each round keeps fewer rows


def _join(parts: list[Any], notes_for_all: bool = False) -> str:
    out: list[str] = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
            continue
        if p.keep:
            out += p.header
            out += [text for _, text in p.rows[: p.keep]]
            out += p.footer
        left = len(p.rows) - p.keep
        if left or notes_for_all:  # notes_for_all: the longest the notes can be, for the estimate
            out += ["", p.more(left)]
    return "\n".join(out).rstrip("\n") + "\n"


def _parts(report: DiffReport) -> list[Any]:
    """The comment as lines (always shown) and row groups (shown as far as they fit)."""
    json_note = "(`--format json` lists them all)"
    out: list[Any] = [MARKER, f"### Policy diff: {_cell(report.old_path)} → {_cell(report.new_path)}", ""]
    s = report.summary
    out.append(" · ".join(_effect(f"{s[e]} {e}") if s[e] else f"{s[e]} {e}" for e in EFFECTS))
    if report.changes:
        rows = [(_change_tier(c),
                 f"| {_effect(c.effect)} | {c.kind} | {_cell(c.pointer)} | {code(describe(c.kind, c.old, 120))} "
                 f"| {code(describe(c.kind, c.new, 120))} |") for c in change_order(report.changes)]
        out.append(_Rows(["", "| effect | kind | pointer | old | new |", "|---|---|---|---|---|"], rows,
                         lambda n: f"… and {n} more changes, left out to fit a comment {json_note}."))
    else:
        out += ["", "No structural changes."]
    b = report.behavior
    if b is not None:
        out += ["", f"#### Trace replay ({report.windows} windows)", "",
                f"{plural(b.calls, 'call')} replayed, **{b.changed} changed**."]
        if b.changed:
            out += ["", "| transition | calls |", "|---|---:|"]
            out += [f"| {'**deny->allow**' if k == 'deny->allow' and b.transitions[k] else k} "
                    f"| {b.transitions.get(k, 0)} |" for k in TRANSITIONS]
            tools = sorted(b.by_tool.items(), key=lambda kv: (-kv[1], kv[0]))
            out.append(_Rows(["", "| tool | changed |", "|---|---:|"],
                             [(_TIER_TOOLS, f"| {_cell(tool)} | {n} |") for tool, n in tools],
                             lambda n: f"… and {plural(n, 'more tool')} with changed calls, left out to fit "
                                       f"a comment {json_note}."))
            args_col = "args" if report.show_args else "arg keys"
            shown_calls = "Changed calls" if b.changed == len(b.examples) else f"First {len(b.examples)} changed calls"
            rows = []
            for ex in b.examples:
                shown = compact(ex.args, 400) if report.show_args else _cut(", ".join(sorted(ex.args)), 2 * CELL)
                rows.append((_TIER_EXAMPLES, f"| {ex.line} | {_cell(ex.tool)} | {code(shown)} | {_outcome(ex.old)} "
                                             f"| {_outcome(ex.new)} |"))
            out.append(_Rows(["", f"<details><summary>{shown_calls}</summary>", "",
                              f"| line | tool | {args_col} | old | new |", "|---:|---|---|---|---|"], rows,
                             lambda n: f"… and {plural(n, 'more example call')}, left out to fit a comment "
                                       f"{json_note}.",
                             footer=["", "</details>"]))
    sr = report.search
    if sr is not None:
        out += ["", f"#### Counterexample search (seed {sr.seed}, budget {sr.budget:g} s, "
                    f"{plural(sr.examples, 'sequence')} tried{search_state(sr)})"]
        note = unreached_note(sr)
        if note:
            out += ["", _cut(note, 4 * CELL)]
        if not sr.counterexamples:
            out += ["", f"No difference found in {plural(sr.examples, 'generated call sequence')}."]
        for ce in sr.counterexamples:
            out += ["", f"**{ce.effect}** — {plural(len(ce.calls), 'call')}:"]
            rows = []
            for first, last, rec, o, n in call_runs(ce):
                lines = str(first) if first == last else f"{first}–{last} (×{last - first + 1})"
                rows.append((_TIER_COUNTEREXAMPLE, f"| {lines} | {rec['ts']} | {_cell(rec['tool'])} "
                                                   f"| {code(compact(rec['args'], 80))} | {_outcome(o)} "
                                                   f"| {_outcome(n)} |"))
            out.append(_Rows(["", "| line | ts | tool | args | old | new |", "|---:|---|---|---|---|---|"], rows,
                             lambda n: f"… and {plural(n, 'more row')} of this counterexample, left out to fit a "
                                       f"comment {json_note}."))
            write_it = (f"The ready-to-run trace has {plural(len(ce.calls), 'line')}: write it with "
                        "`--counterexample FILE`.")
            if len(ce.calls) > MAX_TRACE_LINES:
                out += ["", write_it]
                continue
            # A fence longer than any backtick run in the trace keeps the block closed.
            body = ce.to_jsonl()
            fence = "```"
            while fence in body:
                fence += "`"
            block = "\n".join(["", "Ready-to-run trace (`expect` = the new version's decisions):", "",
                               f"{fence}jsonl", body.rstrip("\n"), fence])
            out.append(_Rows([], [(_TIER_TRACE, block)],
                             lambda n, w=write_it: w + " (left out to fit a comment)"))  # type: ignore[misc]
    out += ["", f"**{verdict(report)}**" if report.failed() else verdict(report)]
    return out
