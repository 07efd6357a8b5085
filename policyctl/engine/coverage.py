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

from policyctl.engine.evaluator import Evaluator
from policyctl.engine.explain import walk_rules
from policyctl.policy.dialects.policylayer.model import Policy, pointer

__all__ = ["CoverageCollector", "CoverageReport", "CoverageItem"]


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


def _cond_label(c: Any) -> str:
    import json

    return f"{c.path} {c.op} {json.dumps(c.value, ensure_ascii=False)}"


class CoverageCollector:
    """Observes every evaluated call (tool, args, decision) and tallies what each part of the policy did."""

    def __init__(self, policy: Policy, ev: Evaluator) -> None:
        self.policy = policy
        self.ev = ev
        self.calls: dict[str, int] = {}
        self.hid: dict[int, int] = {}
        self.evaluated: dict[str, int] = {}  # rule pointer → times evaluated
        self.cond_true: dict[str, int] = {}
        self.cond_false: dict[str, int] = {}
        self.limit_checked: dict[str, int] = {}
        self._hide_index = {name: i for i, name in enumerate(policy.hide)}

    def observe(self, tool: str, args: dict, code: int) -> None:
        """Record one call and the engine's decision code for it."""
        decision = self.ev.decisions[code]
        self.calls[tool] = self.calls.get(tool, 0) + 1
        policy = self.policy
        reason = decision.reason
        if reason == "hidden":
            i = self._hide_index.get("*", self._hide_index.get(tool))
            if i is not None:
                self.hid[i] = self.hid.get(i, 0) + 1
            return
        if reason == "default_deny":
            return
        entry = policy.tools.get(tool)
        if entry is not None and (entry.require or entry.deny_if):
            steps, _, _, _ = walk_rules(entry, tool, args)
            for step in steps:
                self.evaluated[step.pointer] = self.evaluated.get(step.pointer, 0) + 1
                for c in step.conditions:
                    target = self.cond_true if c.result else self.cond_false
                    target[c.pointer] = target.get(c.pointer, 0) + 1
        if reason in ("allowed", "rate_limited"):
            own = len(entry.limits) if entry is not None else 0
            names = [pointer("tools", tool, "limits", k) for k in range(own)]
            names += [pointer("all_tools", "limits", k) for k in range(len(policy.all_tools.limits))]
            if reason == "rate_limited":
                # the limits up to (and including) the one that refused were checked
                origin = self.ev.origins[code]
                cut = names.index(origin) + 1 if origin in names else len(names)
                names = names[:cut]
            for name in names:
                self.limit_checked[name] = self.limit_checked.get(name, 0) + 1

    def report(self, result: Any) -> CoverageReport:
        """Combine the observations with the simulation's tallies (which rule or limit decided)."""
        fired: dict[str, int] = {}
        for code, n in enumerate(result.tally):
            origin = self.ev.origins[code]
            if n and origin is not None:
                # a require denial's origin names the failing condition; the rule is its parent
                key = origin.rsplit("/conditions/", 1)[0]
                fired[key] = fired.get(key, 0) + n
        rep = CoverageReport()
        policy = self.policy
        for i, name in enumerate(policy.hide):
            n = self.hid.get(i, 0)
            rep.entries.append(CoverageItem("hide", pointer("hide", i), f'hide "{name}"', {"hidden": n},
                                            () if n else ("hid a call",), 1))
        for tool, entry in policy.tools.items():
            n = self.calls.get(tool, 0)
            rep.entries.append(CoverageItem("tool", pointer("tools", tool), f'tool "{tool}"', {"calls": n},
                                            () if n else ("called",), 1))
            for kind in ("require", "deny_if"):
                for i, rule in enumerate(getattr(entry, kind)):
                    rp = pointer("tools", tool, kind, i)
                    f = fired.get(rp, 0)
                    label = f"{kind} #{i}" + (f' ("{rule.on_deny}")' if rule.on_deny else "")
                    rep.entries.append(CoverageItem("rule", rp, f'tool "{tool}" {label}',
                                                    {"evaluated": self.evaluated.get(rp, 0), "fired": f},
                                                    () if f else ("fired",), 1))
                    for j, cond in enumerate(rule.conditions):
                        cp = f"{rp}/conditions/{j}"
                        t, fl = self.cond_true.get(cp, 0), self.cond_false.get(cp, 0)
                        missing = tuple(m for m, v in (("true", t), ("false", fl)) if not v)
                        rep.entries.append(CoverageItem("condition", cp, _cond_label(cond),
                                                        {"true": t, "false": fl}, missing, 2))
            for k, lim in enumerate(entry.limits):
                lp = pointer("tools", tool, "limits", k)
                r = fired.get(lp, 0)
                rep.entries.append(CoverageItem(
                    "limit", lp, f'tool "{tool}" limit "{lim.counter}" {lim.max}/{lim.window}',
                    {"checked": self.limit_checked.get(lp, 0), "reached": r}, () if r else ("reached",), 1))
        for k, lim in enumerate(policy.all_tools.limits):
            lp = pointer("all_tools", "limits", k)
            r = fired.get(lp, 0)
            rep.entries.append(CoverageItem(
                "limit", lp, f'all_tools limit "{lim.counter}" {lim.max}/{lim.window}',
                {"checked": self.limit_checked.get(lp, 0), "reached": r}, () if r else ("reached",), 1))
        return rep


class ProgramCoverage:
    """Coverage of a dialect-neutral program (:mod:`policyctl.policy.ir`; Intercept policies).

    Each call is decided by walking the program (:func:`policyctl.engine.walk.walk_call`) against
    the interpreter's own counters, so the conditions counted are exactly those the engine
    evaluated, a counter condition included (it reads the counter before the call). The items: every
    hide entry (hid a call), every listed tool but the ``"*"`` one (called), every rule (fired: it
    denied a call), every condition (seen true, seen false), every counter (reached: it refused a
    call, a missing or non-numeric ``increment_from`` amount included).
    """

    def __init__(self, program: Any, it: Any) -> None:
        self.program = program
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
        return self.it._code(tool, ex.decision, ex.origin)

    def observe(self, tool: str, args: dict, code: int) -> None:
        """Nothing to add: :meth:`decide` counted the call."""

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
                name = check.denials[0].rule
                rep.entries.append(CoverageItem("rule", rp, f'{owner} rule "{name}" ({check.kind or check.mode})',
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
                counter = ".".join(r.bucket[1:]) if r.bucket[0] == "intercept" else str(r.bucket[2])
                limit = "no limit" if r.limit is None else f"{r.limit}/{r.window}"
                rep.entries.append(CoverageItem(
                    "limit", r.pointer, f'{owner} counter "{counter}" {limit} (rule "{r.refused.rule}")',
                    {"checked": self.checked.get(r.pointer, 0), "reached": reached},
                    () if reached else ("reached",), 1))
        return rep
