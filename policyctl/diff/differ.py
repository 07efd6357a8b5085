"""What changed between two policy versions: the change vocabulary, and the behavioural diff.

* :class:`Change` and :data:`CHANGE_KINDS` — what the **structural** diff
  (:func:`policyctl.diff.ir_differ.diff_programs`, every dialect and pair of dialects) reports: a
  kind, a JSON Pointer, the old and new values and an **effect**; :func:`relation` and
  :func:`limit_effect` are how it judges a condition and a limit that changed.
* :func:`behavior_diff` — the **behavioural** diff: both versions replay one trace (read once), each
  with its own counters, and every call whose decision, reason or rule differs is counted. Either
  version may be a dialect-neutral program (an Intercept policy's); across dialects rules are not
  compared (each dialect names its own).

All pure (no printing, no exits). Policy values are compared only through
:mod:`policyctl.policy.values` (the evaluator's semantics), never with Python's ``==``, for which
``True == 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Protocol

from policyctl.documents.gofmt import to_double
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.policy.values import eq_key, keys_overlap, never_holds, value_key

Effect = Literal["loosened", "tightened", "neutral", "unknown"]
EFFECTS: tuple[str, ...] = ("loosened", "tightened", "neutral", "unknown")

#: The closed set of change kinds, in the order the documentation lists them.
CHANGE_KINDS: tuple[str, ...] = (
    "default-changed",
    "hide-added",
    "hide-removed",
    "tool-added",
    "tool-removed",
    "rule-added",
    "rule-removed",
    "rules-reordered",
    "condition-added",
    "condition-removed",
    "condition-changed",
    "conditions-reordered",
    "on_deny-changed",
    "limit-added",
    "limit-removed",
    "limit-changed",
    "limits-reordered",
)

TRANSITIONS: tuple[str, ...] = ("allow->deny", "deny->allow", "deny->deny")
MAX_EXAMPLES = 20


@dataclass(frozen=True, slots=True)
class Change:
    """One structural change. ``pointer`` points into the new document, or into the old one for
    something that was removed; ``old``/``new`` are plain JSON values (``None`` when absent)."""

    kind: str
    pointer: str
    old: Any
    new: Any
    effect: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "pointer": self.pointer, "old": self.old, "new": self.new,
                "effect": self.effect}


def summarize(changes: Iterable[Change]) -> dict[str, int]:
    """Count changes per effect (every effect present, zero or not)."""
    counts = {e: 0 for e in EFFECTS}
    for c in changes:
        counts[c.effect] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# condition relations: every comparison of policy values goes through policyctl.policy.values (the
# evaluator's semantics), never through Python's ``==`` on JSON values, where ``True == 1``.


class CondLike(Protocol):
    """A condition as the diff reads it: the path as written, the operator and the value."""

    @property
    def path(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def value(self) -> Any: ...


class LimitLike(Protocol):
    """A limit as :func:`limit_effect` reads it: how many calls fit in how many seconds."""

    @property
    def max(self) -> int: ...
    @property
    def seconds(self) -> int: ...


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def cond_key(cond: CondLike) -> tuple[str, str, str]:
    """A condition's allow/deny meaning: path, operator and :func:`value_key` (all strings)."""
    return (cond.path, cond.op, value_key(cond.op, cond.value))


@dataclass(frozen=True)
class _Interval:
    lo: float
    lo_closed: bool
    hi: float
    hi_closed: bool

    def within(self, other: "_Interval") -> bool:
        """Every number in self is in other."""
        lo_ok = other.lo < self.lo or (other.lo == self.lo and (other.lo_closed or not self.lo_closed))
        hi_ok = other.hi > self.hi or (other.hi == self.hi and (other.hi_closed or not self.hi_closed))
        return lo_ok and hi_ok


def _interval(cond: CondLike) -> _Interval | None:
    v = cond.value
    if not _is_number(v):
        return None
    x = to_double(v)
    if math.isnan(x):
        return None
    inf = math.inf
    return {
        "gt": _Interval(x, False, inf, False),
        "gte": _Interval(x, True, inf, False),
        "lt": _Interval(-inf, False, x, False),
        "lte": _Interval(-inf, False, x, True),
    }.get(cond.op)


def _member_set(cond: CondLike) -> tuple[bool, frozenset[str]] | None:
    """``eq``/``in`` as (positive, keys); ``neq``/``not_in`` as (negative, keys)."""
    if cond.op in ("eq", "neq"):
        return (cond.op == "eq", frozenset([eq_key(cond.value)]))
    if cond.op in ("in", "not_in") and isinstance(cond.value, (list, tuple)):
        return (cond.op == "in", frozenset(eq_key(x) for x in cond.value))
    return None


def _implies(a: CondLike, b: CondLike) -> bool:
    """Provably: whenever ``a`` holds, ``b`` holds (same path assumed)."""
    if cond_key(a) == cond_key(b) or never_holds(a.op, a.value):
        return True
    ia, ib = _interval(a), _interval(b)
    if ia is not None and ib is not None:
        return ia.within(ib)
    sa, sb = _member_set(a), _member_set(b)
    if sa is not None and sb is not None:
        (pa, ka), (pb, kb) = sa, sb
        if pa and pb:
            return ka <= kb
        if not pa and not pb:
            return kb <= ka
        if pa and not pb:  # found and in ka  ⇒  found and not in kb
            return not keys_overlap(ka, kb)
        return False  # "not in a finite set" never implies "in a finite set"
    return False


Relation = Literal["same", "broader", "narrower", "unknown"]


def relation(old: CondLike, new: CondLike) -> Relation:
    """How the new condition's truth set compares with the old one's (same path)."""
    fwd, back = _implies(old, new), _implies(new, old)
    if fwd and back:
        return "same"
    if fwd:
        return "broader"
    if back:
        return "narrower"
    return "unknown"


def in_context(effect: str, ctx: str | None) -> str:
    """A change's effect where its tool stands: ``neutral`` (blocked in both versions, or hidden in
    the new one: nothing inside decides), ``block`` (blocked in the new version by something else:
    only what tightens counts) or None (as it is)."""
    if ctx == "neutral":
        return "neutral"
    if ctx == "block":
        return "tightened" if effect == "tightened" else "neutral"
    return effect


def limit_effect(old: LimitLike, new: LimitLike) -> str:
    """Compare two limits on the same bucket.

    ``new`` is looser when every burst the old one admits is admitted too: a window no longer and a
    ``max`` no lower, or a longer window whose ``max`` covers the old rate over it. Tighter likewise.
    When bursts and sustained rate disagree (60/hour → 2/minute), the allowance per second of window
    decides, as SPEC §5 asks.
    """
    m1, w1, m2, w2 = old.max, old.seconds, new.max, new.seconds
    looser = (w2 <= w1 and m2 >= m1) or (w2 > w1 and m2 * w1 >= m1 * w2)
    tighter = (w1 <= w2 and m1 >= m2) or (w1 > w2 and m1 * w2 >= m2 * w1)
    if looser and tighter:
        return "neutral"
    if looser:
        return "loosened"
    if tighter:
        return "tightened"
    r1, r2 = m1 * w2, m2 * w1  # compare m1/w1 with m2/w2 without floats
    return "loosened" if r2 > r1 else "tightened" if r2 < r1 else "unknown"


# ---------------------------------------------------------------------------------------------
# the behavioural diff


@dataclass(frozen=True, slots=True)
class Outcome:
    """The part of a decision the behavioural diff compares."""

    decision: str
    reason: str
    rule: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reason": self.reason, "rule": self.rule}


@dataclass(frozen=True, slots=True)
class CallChange:
    """One trace call that the two versions decide differently."""

    line: int
    tool: str
    id: Any
    ts: Any
    args: Any
    old: Outcome
    new: Outcome

    @property
    def transition(self) -> str:
        return f"{self.old.decision}->{self.new.decision}"


@dataclass(frozen=True)
class BehaviorDiff:
    calls: int
    changed: int
    transitions: dict[str, int]
    by_tool: dict[str, int]
    examples: tuple[CallChange, ...]

    @property
    def loosened(self) -> bool:
        return self.transitions.get("deny->allow", 0) > 0


def outcome(decision: Any) -> Outcome:
    """An engine ``Decision`` reduced to what the diff compares."""
    return Outcome("allow" if decision.allowed else "deny", decision.reason, decision.rule)


def behavior_diff(old: Any, new: Any, calls: Iterable[Any], *, windows: str = "fixed",
                  max_examples: int = MAX_EXAMPLES) -> BehaviorDiff:
    """Replay ``calls`` (trace calls, read once) through both versions, each with its own counters.

    ``old`` and ``new`` are each a PolicyLayer :class:`Policy` or a dialect-neutral
    :class:`policyctl.policy.ir.Program` (any dialect, e.g. an Intercept policy's)."""
    from policyctl.engine.evaluator import seconds_to_ns

    rows = ((c.line, c.ts_ns if c.ts_ns is not None else seconds_to_ns(c.ts), c.grant, c.tool, c.args,
             (c.upstream or True) if c.upstream_error else False, c, None) for c in calls)
    return _replay(old, new, rows, lambda c, _: (c.id, c.ts_raw), windows, max_examples)


def behavior_diff_trace(old: Any, new: Any, path: str, *, windows: str = "fixed", skip_invalid: bool = False,
                        stats: Any = None, max_examples: int = MAX_EXAMPLES, trace_input: Any = None,
                        observer: Any = None) -> BehaviorDiff:
    """:func:`behavior_diff` straight from a trace file (``-`` = stdin), read once and streamed.

    Uses the trace reader's record stream rather than building a ``TraceCall`` per line: reading is
    most of the cost of a behavioural diff, so this keeps it near the cost of one simulation plus
    one more evaluation per call. ``observer`` (``diff --report``): its ``change(ts_ns, tool,
    transition)`` sees every changed call, its ``span(first_ns, last_ns)`` the trace's time range.
    """
    from policyctl.traces.reader import iter_records, record_id

    if trace_input is not None and not trace_input.plain:  # an imported source, or a filtered trace
        rows = trace_input.records(skip_invalid=skip_invalid, stats=stats)
    else:
        rows = iter_records(path, skip_invalid=skip_invalid, stats=stats)
    return _replay(old, new, rows, lambda rec, msg: (record_id(rec, msg), rec.get("ts")), windows, max_examples,
                   observer)


def dialect_of(subject: Any) -> str:
    """``policylayer`` for a PolicyLayer model, else the program's dialect."""
    return "policylayer" if isinstance(subject, Policy) else subject.dialect


def _replay(old: Any, new: Any, rows: Iterable[tuple], describe: Any, windows: str,
            max_examples: int, observer: Any = None) -> BehaviorDiff:
    """The loop: ``rows`` are ``(line, ts_ns, grant, tool, args, upstream_error, rec, msg)`` (the
    trace reader's record tuples); ``describe(rec, msg) -> (id, ts_raw)`` runs only for kept examples.

    Versions of one dialect differ on a call when the decision, reason or rule differs. Across
    dialects rules are each dialect's own names (a PolicyLayer pointer, an Intercept rule name) and
    never equal, so only decision and reason are compared; the examples still show both rules."""
    from policyctl.engine.interpret import make_evaluator

    ev_old = make_evaluator(old, windows=windows)
    ev_new = make_evaluator(new, windows=windows)
    same_dialect = dialect_of(old) == dialect_of(new)
    # The compiled evaluator takes a boolean; an interpreter tells the upstream's failures apart
    # (Intercept releases on a JSON-RPC error only).
    raw_old, raw_new = not isinstance(old, Policy), not isinstance(new, Policy)
    # The evaluators' compiled per-tool programs and decision tables, used directly: this loop is
    # the whole cost of a behavioural diff besides reading.
    p_old, p_new = ev_old.programs, ev_new.programs
    d_old, d_new = ev_old.decisions, ev_new.decisions
    transitions = {t: 0 for t in TRANSITIONS}
    by_tool: dict[str, int] = {}
    examples: list[CallChange] = []
    n = changed = 0
    first = ts = None
    on_change = observer.change if observer is not None else None
    for line, ts, grant, tool, args, upstream, rec, msg in rows:
        n += 1
        if first is None:
            first = ts
        po = p_old.get(tool) or ev_old.program(tool)
        pn = p_new.get(tool) or ev_new.program(tool)
        flag = bool(upstream)
        a = d_old[po(ts, grant, args, upstream if raw_old else flag)]
        b = d_new[pn(ts, grant, args, upstream if raw_new else flag)]
        if a is b or (a.allowed == b.allowed and a.reason == b.reason and (a.rule == b.rule or not same_dialect)):
            continue
        changed += 1
        oa, ob = outcome(a), outcome(b)
        key = f"{oa.decision}->{ob.decision}"
        transitions[key] = transitions.get(key, 0) + 1
        by_tool[tool] = by_tool.get(tool, 0) + 1
        if on_change is not None:
            on_change(ts, tool, key)
        if len(examples) < max_examples:
            call_id, ts_raw = describe(rec, msg)
            examples.append(CallChange(line, tool, call_id, ts_raw, args, oa, ob))
    if observer is not None:
        observer.span(first, ts)
    return BehaviorDiff(n, changed, transitions, dict(sorted(by_tool.items())), tuple(examples))


# ---------------------------------------------------------------------------------------------
# the whole report and its gate

FAIL_ON: tuple[str, ...] = ("loosened", "any", "never")


@dataclass(frozen=True)
class DiffReport:
    """Everything ``policyctl diff`` found; reporters render it, :meth:`failed` gates on it.

    ``search`` is a :class:`policyctl.diff.search.SearchResult` (typed loosely so this module
    never imports hypothesis).
    """

    old_path: str
    new_path: str
    changes: tuple[Change, ...]
    behavior: BehaviorDiff | None = None
    search: Any = None
    windows: str = "fixed"
    show_args: bool = False
    fail_on: str = "loosened"

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.changes)

    def loosened(self) -> bool:
        """Anything that lets a denied call through: a loosened change, a deny→allow call in the
        trace, or a loosening counterexample."""
        return (self.summary["loosened"] > 0
                or (self.behavior is not None and self.behavior.loosened)
                or (self.search is not None and self.search.loosened))

    def unsettled(self) -> int:
        """Unknown changes that may loosen and that no complete ``--search`` has cleared: the gate
        fails closed on them (S1: ``eq true`` → ``eq 1`` lets ``force: true`` through)."""
        unknown = self.summary["unknown"]
        if unknown and self.search is not None and self.search.complete and not self.search.loosened:
            return 0
        return unknown

    def changed(self) -> bool:
        return (bool(self.changes)
                or (self.behavior is not None and self.behavior.changed > 0)
                or (self.search is not None and self.search.found))

    def failed(self, fail_on: str | None = None) -> bool:
        """Whether the ``--fail-on`` gate trips (exit code 1)."""
        fail_on = fail_on or self.fail_on
        if fail_on == "never":
            return False
        if fail_on == "any":
            return self.changed()
        return self.loosened() or self.unsettled() > 0


__all__ = [
    "BehaviorDiff", "CHANGE_KINDS", "CallChange", "Change", "DiffReport", "EFFECTS", "FAIL_ON", "MAX_EXAMPLES",
    "Outcome", "TRANSITIONS", "behavior_diff", "behavior_diff_trace", "dialect_of", "eq_key", "in_context",
    "limit_effect", "outcome", "relation", "summarize",
]
