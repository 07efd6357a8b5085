"""Which parts of a policy a trace exercised (``simulate --coverage``).

Coverage items, each covered or not:

* every tool listed under ``tools`` — covered when the trace called it;
* every ``hide`` entry — covered when it hid a call;
* every ``require`` / ``deny_if`` rule — covered when it *fired* (denied a call);
* every condition — two items: seen true, seen false (a condition counts only when the engine
  actually evaluated it: evaluation of a rule stops at the first condition that settles it);
* every limit (each tool's, and each ``all_tools`` one) — covered when it was *reached*
  (refused a call as rate-limited).

The percentage is covered items / all items × 100. ``--min-coverage PCT`` fails the run (exit 1)
below PCT. Counts (calls that reached a limit, times a rule was evaluated) are reported too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ProgramCoverage", "CoverageReport", "CoverageItem"]


@dataclass(frozen=True)
class CoverageItem:
    kind: str  # "tool" | "hide" | "rule" | "condition" | "limit"
    pointer: str  # JSON Pointer into the policy document
    label: str  # what it is, in a few words
    counts: dict[str, int]
    missing: tuple[str, ...]  # what was never seen: "called", "hid a call", "fired", "true", "false", "reached"
    items: int  # how many coverage items this entry stands for (conditions: 2)

    @property
    def covered(self) -> int:
        return self.items - len(self.missing)


@dataclass
class CoverageReport:
    entries: list[CoverageItem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(e.items for e in self.entries)

    @property
    def covered(self) -> int:
        return sum(e.covered for e in self.entries)

    @property
    def percent(self) -> float:
        return 100.0 if not self.total else round(100.0 * self.covered / self.total, 1)

    def uncovered(self) -> list[CoverageItem]:
        return [e for e in self.entries if e.missing]

    def to_dict(self) -> dict[str, Any]:
        return {
            "percent": self.percent, "covered": self.covered, "total": self.total,
            "items": [{"kind": e.kind, "pointer": e.pointer, "label": e.label, **e.counts,
                       "missing": list(e.missing)} for e in self.entries],
        }


class ProgramCoverage:
    """Coverage of a policy through its intermediate form (:mod:`policyctl.policy.ir`), any dialect.

    Each call is walked through the program (:func:`policyctl.engine.walk.walk_call`) against an
    interpreter's counters, so the conditions counted are exactly those the engine evaluated, a
    counter condition included (it reads the counter before the call). The items: every hide entry
    (hid a call), every listed tool but the ``"*"`` one (called), every rule (fired: it denied a
    call), every condition (seen true, seen false), every counter or limit (reached: it refused a
    call, a missing or non-numeric ``increment_from`` amount included).

    ``it`` given: the walk *decides* each call (:meth:`decide`, codes of ``it``). Without it the
    coverage keeps an interpreter of its own beside the evaluator that decides (the compiled
    PolicyLayer one) and walks each call there too (:meth:`count`); the two agree on every call
    (a property test holds them to it), so the counts are the same either way.
    """

    def __init__(self, program: Any, it: Any = None, *, windows: str = "fixed") -> None:
        self.program = program
        self.decides = it is not None
        if it is None:
            from policyctl.engine.interpret import Interpreter

            it = Interpreter(program, windows=windows)
        self.it = it
        self.calls: dict[str, int] = {}
        self.hid: dict[str, int] = {}
        self.evaluated: dict[str, int] = {}
        self.fired: dict[str, int] = {}
        self.cond_true: dict[str, int] = {}
        self.cond_false: dict[str, int] = {}
        self.checked: dict[str, int] = {}
        self.reached: dict[str, int] = {}

    def decide(self, ts: int, grant: str, tool: str, args: dict, upstream: Any) -> int:
        """Decide one call (instead of the interpreter's program) and count what it exercised."""
        ex = self._walk(ts, grant, tool, args, upstream)
        return self.it._code(tool, ex.decision, ex.origin)

    def count(self, ts: int, grant: str, tool: str, args: dict, upstream: Any) -> None:
        """Count what one call exercised (another evaluator decided it)."""
        self._walk(ts, grant, tool, args, upstream)

    def _walk(self, ts: int, grant: str, tool: str, args: dict, upstream: Any) -> Any:
        from policyctl.engine.walk import walk_call

        ex = walk_call(self.it, ts, grant, tool, args, upstream_error=upstream)
        self.calls[tool] = self.calls.get(tool, 0) + 1
        if ex.hidden_by is not None:
            self.hid[ex.hidden_by] = self.hid.get(ex.hidden_by, 0) + 1
        for step in ex.rules:
            self.evaluated[step.pointer] = self.evaluated.get(step.pointer, 0) + 1
            if step.denies:
                self.fired[step.pointer] = self.fired.get(step.pointer, 0) + 1
            for c in step.conditions:
                target = self.cond_true if c.result else self.cond_false
                target[c.pointer] = target.get(c.pointer, 0) + 1
        for lim in ex.limits:
            if lim.outcome == "not reached":
                continue
            self.checked[lim.pointer] = self.checked.get(lim.pointer, 0) + 1
            if lim.outcome in ("full", "bad amount"):
                self.reached[lim.pointer] = self.reached.get(lim.pointer, 0) + 1
        return ex

    def report(self, result: Any) -> CoverageReport:
        import json

        from policyctl.engine.walk import condition_label

        program = self.program
        rep = CoverageReport()
        for name, at in zip(program.hide, program.hide_pointers):
            n = self.hid.get(at, 0)
            rep.entries.append(CoverageItem("hide", at, f'hide "{name}"', {"hidden": n},
                                            () if n else ("hid a call",), 1))
        parts = list(program.tools.items())
        if program.wildcard_name is None and (program.wildcard.checks or program.wildcard.reservations):
            parts.append((None, program.wildcard))
        for tool, part in parts:
            if tool is not None and tool != program.wildcard_name:
                tp = program.tool_pointer(tool)
                n = self.calls.get(tool, 0)
                rep.entries.append(CoverageItem("tool", tp, f'tool "{tool}"', {"calls": n},
                                                () if n else ("called",), 1))
            owner = "all tools" if tool is None or tool == program.wildcard_name else f'tool "{tool}"'
            for check in part.checks:
                rp = check.pointer
                f = self.fired.get(rp, 0)
                if check.index is not None:  # a dialect that numbers its rules (PolicyLayer's require #0)
                    what = f"{check.kind} #{check.index}" + (f' ("{check.on_deny}")' if check.on_deny else "")
                else:  # one that names them
                    what = f'rule "{check.denials[0].rule}" ({check.kind or check.mode})'
                rep.entries.append(CoverageItem("rule", rp, f"{owner} {what}",
                                                {"evaluated": self.evaluated.get(rp, 0), "fired": f},
                                                () if f else ("fired",), 1))
                for c in check.conditions:
                    t, fl = self.cond_true.get(c.pointer, 0), self.cond_false.get(c.pointer, 0)
                    missing = tuple(m for m, v in (("true", t), ("false", fl)) if not v)
                    label = f"{condition_label(c)} {c.op} {json.dumps(c.value, ensure_ascii=False)}"
                    rep.entries.append(CoverageItem("condition", c.pointer, label, {"true": t, "false": fl},
                                                    missing, 2))
            for r in part.reservations:
                reached = self.reached.get(r.pointer, 0)
                limit = "no limit" if r.limit is None else f"{r.limit}/{r.window}"
                if r.bucket[0] == "intercept":  # a counter of a named rule
                    what = f'{owner} counter "{".".join(r.bucket[1:])}" {limit} (rule "{r.refused.rule}")'
                else:  # PolicyLayer's limits: a tool's own, or the all_tools ones
                    where = "all_tools" if r.bucket[0] == "all_tools" else owner
                    what = f'{where} limit "{r.bucket[2]}" {limit}'
                rep.entries.append(CoverageItem(
                    "limit", r.pointer, what, {"checked": self.checked.get(r.pointer, 0), "reached": reached},
                    () if reached else ("reached",), 1))
        return rep
