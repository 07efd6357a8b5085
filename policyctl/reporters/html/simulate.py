"""``simulate --report FILE.html``: the summary, limit buckets over time, window-edge bursts, the
timeline per tool and the rules that denied most — one page, nothing fetched.

Argument values are not on this page at all (the aggregation never keeps them); ``--show-args`` changes
nothing here.
"""

from __future__ import annotations

from typing import Callable

from policyctl.reporters.html import render_page, safe
from policyctl.reporters.html.svg import BASE_MARKS, MARKS, fmt_span, fmt_time, stacked_bars, step_chart, swatch
from policyctl.simulate.run import SimulationResult

LABELS = {"allowed": "allowed", "hidden": "hidden", "default_deny": "default deny", "require": "require",
          "deny_if": "deny_if", "rate_limited": "rate limited", "require_approval": "require approval",
          "policy_error": "policy error"}
MAX_TIMELINE_TOOLS = 30


def render(result: SimulationResult, *, trace: str, policy: str,
           position: Callable[[str], tuple[int, int]] | None = None) -> str:
    rep = result.report
    if rep is None:
        raise ValueError("the run was made without report=True")

    def where(pointer: str | None) -> str:
        if pointer is None or position is None:
            return policy
        line, col = position(pointer)
        return f"{policy}:{line}:{col}"

    reasons = result.reasons  # SPEC §2's six; an Intercept run adds require_approval and policy_error
    by_reason = result.by_reason()
    by_tool = result.by_tool()
    start, end = rep.timeline.start_ns, rep.timeline.end_ns
    buckets = []
    for b in rep.buckets:
        chart_from = b.series_from_ns if b.series_from_ns is not None else b.first_ns
        bursts = {(u.at_ns, u.sliding) for u in rep.bursts
                  if (u.grant, u.location, u.counter, u.window) == (b.grant, b.location, b.counter, b.window)}
        if b.worst is not None:
            bursts.add((b.worst.at_ns, b.worst.sliding))
        chart = step_chart(b.series, limit=b.max, length_ns=b.length_ns, start_ns=chart_from,
                           end_ns=max(end or chart_from, chart_from), bursts=sorted(bursts),
                           label=f"{b.location} {b.counter} per {b.window} for grant {b.grant}")
        buckets.append({"b": b, "chart": safe(chart) if b.series else None, "where": where(b.origin),
                        "from": fmt_time(chart_from), "partial": b.series_from_ns is not None and
                        rep.first_ns is not None and b.series_from_ns > rep.first_ns})
    timeline = []
    tools = sorted(rep.timeline.rows, key=lambda t: (-by_tool[t]["calls"], t)) if rep.timeline.rows else []
    shown, rest = tools[:MAX_TIMELINE_TOOLS], tools[MAX_TIMELINE_TOOLS:]
    width_ns = rep.timeline.width_s * 1_000_000_000
    rows = [(t, rep.timeline.rows[t]) for t in shown]
    if rest:
        merged: dict[int, dict[str, int]] = {}
        for t in rest:
            for bin_start, cell in rep.timeline.rows[t]:
                into = merged.setdefault(bin_start, {r: 0 for r in reasons})
                for r, n in cell.items():
                    into[r] += n
        rows.append((f"{len(rest)} other tools", sorted(merged.items())))
    if start is not None and end is not None:
        for tool, cells in rows:
            chart = stacked_bars(cells, reasons, start, end + 1, width_ns, label=f"calls to {tool} over time")
            timeline.append({"tool": tool, "calls": sum(sum(c.values()) for _, c in cells), "chart": safe(chart)})
    rules = [{"r": r, "where": where(r.pointer)} for r in rep.rules[:20]]
    coverage = None
    if result.coverage is not None:
        cov = result.coverage
        coverage = {"percent": cov.percent, "covered": cov.covered, "total": cov.total,
                    "missing": [{"label": item.label, "where": where(item.pointer), "missing": ", ".join(item.missing)}
                                for item in cov.uncovered()[:100]]}
    failures = [{"f": f, "expected": ", ".join(x for x in (f.expect, f.expect_rule and f"rule {f.expect_rule}") if x),
                 "actual": f"{f.decision.decision} ({f.decision.reason}"
                           f"{', ' + f.decision.rule if f.decision.rule else ''})"}
                for f in result.failures[:50]]
    return render_page(
        "simulate.html.j2",
        title=f"policyctl simulate: {trace}",
        trace=trace, policy=policy, windows=result.windows,
        first=fmt_time(rep.first_ns), last=fmt_time(rep.last_ns),
        calls=result.calls, allowed=by_reason["allowed"], denied=result.calls - by_reason["allowed"],
        by_reason=by_reason, by_tool=by_tool, reasons=reasons, labels=LABELS,
        marks=tuple(r for r in reasons if r not in BASE_MARKS),
        swatches={k: safe(swatch(k)) for k in MARKS}, short={k: MARKS[k][2] for k in MARKS},
        checked=result.checked, failed=result.failed, failures=failures, stats=result.stats,
        buckets=buckets, other=rep.other_buckets, bursts=rep.bursts, burst_count=rep.burst_count,
        fmt_time=fmt_time, fmt_span=fmt_span, timeline=timeline, bin=fmt_span(rep.timeline.width_s),
        rules=rules, coverage=coverage, where=where,
        dialect=getattr(getattr(result.evaluator, "ir", None), "dialect", "policylayer"),
    )
