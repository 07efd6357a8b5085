"""``diff --report FILE.html``: the structural changes with their effects, changed calls over time
and per tool, and the first changed calls with the old and the new rule — one page, nothing fetched.

Argument values of trace calls appear only with ``--show-args`` (keys otherwise), as in the other
diff formats.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from policyctl.diff.differ import TRANSITIONS, DiffReport
from policyctl.reporters.html import render_page, safe
from policyctl.reporters.html.svg import MARKS, fmt_span, hbars, stacked_bars, swatch

Position = Callable[[str], tuple[int, int]]


def _value(v: Any) -> str:
    return "" if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True)


def render(report: DiffReport, *, timeline: Any = None, old_position: Position | None = None,
           new_position: Position | None = None) -> str:
    """``timeline``: the :class:`policyctl.diff.report.ChangeTimeline` of the trace replay (or None)."""

    def where(change: Any) -> str:
        removed = change.new is None and change.old is not None
        path, position = (report.old_path, old_position) if removed else (report.new_path, new_position)
        if position is None:
            return path
        line, col = position(change.pointer)
        return f"{path}:{line}:{col}"

    changes = [{"c": c, "where": where(c), "old": _value(c.old), "new": _value(c.new)} for c in report.changes]
    b = report.behavior
    over_time = per_tool = None
    if b is not None and timeline is not None and timeline.first_ns is not None and b.changed:
        width_ns = timeline.width_s * 1_000_000_000
        cells = list(timeline.bins.items())
        start = min([timeline.first_ns] + [s for s, _ in cells]) // width_ns * width_ns
        over_time = safe(stacked_bars(cells, TRANSITIONS, start, max(timeline.last_ns, start) + 1, width_ns,
                                      height=120, label="changed calls over time by transition"))
        rows = sorted(timeline.by_tool.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:40]
        per_tool = safe(hbars(rows, TRANSITIONS, label="changed calls per tool by transition"))
    examples = []
    if b is not None:
        for ex in b.examples:
            args = ex.args if isinstance(ex.args, dict) else {}
            examples.append({"x": ex, "args": _value(args) if report.show_args else ", ".join(sorted(args)),
                             "id": "" if ex.id is None else (ex.id if isinstance(ex.id, str) else _value(ex.id))})
    return render_page(
        "diff.html.j2",
        title=f"policyctl diff: {report.old_path} → {report.new_path}",
        report=report, summary=report.summary, changes=changes, behavior=b, transitions=TRANSITIONS,
        over_time=over_time, per_tool=per_tool, examples=examples, show_args=report.show_args,
        swatches={k: safe(swatch(k)) for k in MARKS}, labels={t: t.replace("->", " → ") for t in TRANSITIONS},
        bin=fmt_span(timeline.width_s) if timeline is not None else "",
        gate=report.failed(),
    )
