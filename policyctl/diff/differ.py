"""What changed between two policy versions, and in which direction.

Two parts, both pure (no printing, no exits):

* :func:`diff_policies` — the **structural** diff: a tuple of :class:`Change` values, each with a
  kind from :data:`CHANGE_KINDS`, a JSON Pointer, the old and new values and an **effect**.
* :func:`behavior_diff` — the **behavioural** diff: both versions replay one trace (read once), each
  with its own counters, and every call whose decision, reason or rule differs is counted. Either
  version may be a dialect-neutral program (an Intercept policy's); across dialects rules are not
  compared (each dialect names its own).

The structural diff of anything but two PolicyLayer policies is :mod:`policyctl.diff.ir_differ`.

How effects are decided (the user documentation of these rules is docs/diff.md):

* ``loosened`` — the change can only turn denies into allows; ``tightened`` — it can only turn allows
  into denies; ``neutral`` — it changes no allow/deny decision (it may change a message or the rule id
  reported); ``unknown`` — it can do both, or the direction could not be proved.
* Effects are judged per call, one change at a time. Interplay through quota is not modelled: a
  tightened rule denies calls that then consume no quota, so a later call of the same grant can go
  from ``rate_limited`` to ``allow``. The behavioural diff and ``--search`` see such calls.
* Rules and limits are identified by content, not by index: a rule is its set of conditions (their
  order does not change allow/deny), an ``in`` list is a set of Go ``%v`` forms (what ``eq``
  compares). Policy values are compared only through :mod:`policyctl.policy.values` (the
  evaluator's semantics), never with Python's ``==``, for which ``True == 1``. Reordering that can
  change which rule id or message is reported is listed as ``neutral``; reordering that cannot
  change anything, and key order, are not changes.
* Limits pair by shape (window and ``max``) before counter name: a counter name only names a bucket
  and the reported rule id, so a rename, or names swapped between limits, is ``neutral``.
* Whether a tool is reachable at all (``default``, ``hide``, tools added or removed) is judged by
  comparing how each version treats that tool: *blocked* (hidden, unlisted under ``default: deny``, or
  an unconditional ``deny_if``), *open* (unlisted under ``default: allow``), or its own rules.
* A change inside a tool's rules or limits is ``neutral`` when the tool is blocked in both versions,
  or is hidden or otherwise blocked in the new version by something else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Literal, Sequence

from policyctl.documents.gofmt import to_double
from policyctl.policy.dialects.policylayer.model import Condition, Limit, Policy, Rule, ToolPolicy, pointer
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
# canonical forms: every comparison of policy values goes through policyctl.policy.values (the
# evaluator's semantics), never through Python's ``==`` on JSON values, where ``True == 1``.


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def cond_key(cond: Condition) -> tuple[str, str, str]:
    """A condition's allow/deny meaning: path, operator and :func:`value_key` (all strings)."""
    return (cond.path, cond.op, value_key(cond.op, cond.value))


def rule_key(rule: Rule) -> frozenset:
    """A rule's allow/deny meaning: the set of its conditions (they are ANDed)."""
    return frozenset(cond_key(c) for c in rule.conditions)


def _rule_sig(rule: Rule) -> tuple:
    """Everything about a rule the diff can report: its conditions in order, and its message."""
    return tuple(cond_key(c) for c in rule.conditions), rule.message or ""


def _limit_sig(limit: Limit) -> tuple[str, str, str]:
    return limit.counter, limit.window, str(int(limit.max))


def _entry_sig(entry: ToolPolicy) -> tuple:
    return (tuple(map(_rule_sig, entry.require)), tuple(map(_rule_sig, entry.deny_if)),
            tuple(map(_limit_sig, entry.limits)))


def _cond_data(cond: Condition) -> dict[str, Any]:
    return cond.model_dump(mode="json")


def _rule_data(rule: Rule) -> dict[str, Any]:
    return rule.model_dump(mode="json", exclude_none=True)


def _limit_data(limit: Limit) -> dict[str, Any]:
    return limit.model_dump(mode="json")


def _tool_data(entry: ToolPolicy) -> dict[str, Any]:
    """A tool entry as plain data, leaving out empty lists (rules keep their ``conditions``)."""
    data: dict[str, Any] = {}
    if entry.require:
        data["require"] = [_rule_data(r) for r in entry.require]
    if entry.deny_if:
        data["deny_if"] = [_rule_data(r) for r in entry.deny_if]
    if entry.limits:
        data["limits"] = [_limit_data(x) for x in entry.limits]
    return data


# ---------------------------------------------------------------------------------------------
# condition relations


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


def _interval(cond: Condition) -> _Interval | None:
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


def _member_set(cond: Condition) -> tuple[bool, frozenset[str]] | None:
    """``eq``/``in`` as (positive, keys); ``neq``/``not_in`` as (negative, keys)."""
    if cond.op in ("eq", "neq"):
        return (cond.op == "eq", frozenset([eq_key(cond.value)]))
    if cond.op in ("in", "not_in") and isinstance(cond.value, (list, tuple)):
        return (cond.op == "in", frozenset(eq_key(x) for x in cond.value))
    return None


def _implies(a: Condition, b: Condition) -> bool:
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


def relation(old: Condition, new: Condition) -> Relation:
    """How the new condition's truth set compares with the old one's (same path)."""
    fwd, back = _implies(old, new), _implies(new, old)
    if fwd and back:
        return "same"
    if fwd:
        return "broader"
    if back:
        return "narrower"
    return "unknown"


_FAMILY = {"gt": "num", "gte": "num", "lt": "num", "lte": "num",
           "eq": "set", "neq": "set", "in": "set", "not_in": "set"}


def _comparable(a: Condition, b: Condition) -> int:
    """How well two conditions pair up as "one condition changed" (0: not at all)."""
    if a.path != b.path:
        return 0
    if a.op == b.op:
        return 3
    fa, fb = _FAMILY.get(a.op), _FAMILY.get(b.op)
    return 2 if fa is not None and fa == fb else 0


# ---------------------------------------------------------------------------------------------
# how a version treats a tool


@dataclass(frozen=True)
class _Gate:
    kind: Literal["blocked", "open", "rules"]
    entry: ToolPolicy | None = None
    by_hide: bool = False


def _unconditional_deny(entry: ToolPolicy) -> bool:
    return any(not r.conditions for r in entry.deny_if)


def _trivial(entry: ToolPolicy) -> bool:
    """An entry that never denies a call by itself (no deny_if, no real require, no limits)."""
    return not entry.deny_if and not entry.limits and all(not r.conditions for r in entry.require)


def gate(policy: Policy, tool: str | None) -> _Gate:
    """How ``policy`` treats ``tool`` (``None``: any tool that neither version lists or hides)."""
    if policy.hides_all or (tool is not None and tool in policy.hide):
        return _Gate("blocked", by_hide=True)
    entry = policy.tools.get(tool) if tool is not None else None
    if entry is None:
        return _Gate("blocked") if policy.default == "deny" else _Gate("open")
    if _unconditional_deny(entry):
        return _Gate("blocked", entry)
    return _Gate("rules", entry)


def _gate_effect(before: _Gate, after: _Gate) -> str:
    if before.kind == "blocked":
        return "neutral" if after.kind == "blocked" else "loosened"
    if after.kind == "blocked":
        return "tightened"
    if before.kind == "open" and after.kind == "open":
        return "neutral"
    if before.kind == "open":
        return "neutral" if _trivial(after.entry) else "tightened"  # type: ignore[arg-type]
    if after.kind == "open":
        return "neutral" if _trivial(before.entry) else "loosened"  # type: ignore[arg-type]
    return "unknown"  # rules → rules is judged change by change, never here


def _all_blocked(policy: Policy) -> bool:
    """No call can reach the limit stage in this version."""
    if policy.hides_all:
        return True
    if policy.default == "allow":
        return False
    return all(gate(policy, t).kind == "blocked" for t in policy.tools)


# ---------------------------------------------------------------------------------------------
# the structural diff


def diff_policies(old: Policy, new: Policy) -> tuple[Change, ...]:
    """Every structural change from ``old`` to ``new``, in document order: default, hide,
    all_tools, then tools by name (require, deny_if, limits)."""
    out: list[Change] = []
    if old.default != new.default:
        out.append(Change("default-changed", "/default", old.default, new.default,
                          _gate_effect(gate(old, None), gate(new, None))))
    out.extend(_diff_hide(old, new))
    # all_tools limits decide nothing when no call can reach them in the new version.
    ctx = "neutral" if _all_blocked(new) else None
    out.extend(_diff_limits(old.all_tools.limits, new.all_tools.limits, ("all_tools",), ctx))
    for tool in sorted(set(old.tools) | set(new.tools)):
        out.extend(_diff_tool(old, new, tool))
    return tuple(out)


def _diff_hide(old: Policy, new: Policy) -> Iterator[Change]:
    old_set, new_set = set(old.hide), set(new.hide)
    for i, name in enumerate(old.hide):
        if name not in new_set and name not in old.hide[:i]:
            if name == "*":
                eff = "neutral" if _all_blocked(new) else "loosened"
            else:
                eff = "neutral" if gate(new, name).kind == "blocked" else "loosened"
            yield Change("hide-removed", pointer("hide", i), name, None, eff)
    for i, name in enumerate(new.hide):
        if name not in old_set and name not in new.hide[:i]:
            if name == "*":
                eff = "neutral" if _all_blocked(old) else "tightened"
            else:
                eff = "neutral" if gate(old, name).kind == "blocked" else "tightened"
            yield Change("hide-added", pointer("hide", i), None, name, eff)


def _diff_tool(old: Policy, new: Policy, tool: str) -> Iterator[Change]:
    o, n = old.tools.get(tool), new.tools.get(tool)
    g_old, g_new = gate(old, tool), gate(new, tool)
    if o is None:
        if n is not None:  # the tool is in one version at least
            yield Change("tool-added", pointer("tools", tool), None, _tool_data(n), _gate_effect(g_old, g_new))
        return
    if n is None:
        yield Change("tool-removed", pointer("tools", tool), _tool_data(o), None, _gate_effect(g_old, g_new))
        return
    if _entry_sig(o) == _entry_sig(n):
        return
    # Context: a tool blocked in both versions, or hidden in the new one, decides nothing by its
    # rules; one blocked in the new version only by an unconditional deny_if keeps the change
    # that blocks it (tightened) and nothing else matters.
    ctx: str | None = None
    if g_old.kind == "blocked" and g_new.kind == "blocked":
        ctx = "neutral"
    elif g_new.kind == "blocked" and g_new.by_hide:
        ctx = "neutral"
    elif g_new.kind == "blocked":
        ctx = "block"
    base = ("tools", tool)
    yield from _diff_rules(o.require, n.require, base + ("require",), "require", ctx)
    yield from _diff_rules(o.deny_if, n.deny_if, base + ("deny_if",), "deny_if", ctx)
    yield from _diff_limits(o.limits, n.limits, base, ctx)


def in_context(effect: str, ctx: str | None) -> str:
    if ctx == "neutral":
        return "neutral"
    if ctx == "block":
        return "tightened" if effect == "tightened" else "neutral"
    return effect


def _rule_label(rule: Rule) -> str:
    return " & ".join(c.ident for c in rule.conditions) if rule.conditions else "(no conditions)"


def _diff_rules(old: Sequence[Rule], new: Sequence[Rule], base: tuple[str, ...], kind: str,
                ctx: str | None) -> Iterator[Change]:
    if tuple(map(_rule_sig, old)) == tuple(map(_rule_sig, new)):
        return
    keys_old, keys_new = [rule_key(r) for r in old], [rule_key(r) for r in new]
    # 1. pair rules with the same meaning (set of conditions), in order.
    pairs: list[tuple[int, int]] = []
    waiting: dict[frozenset, list[int]] = {}
    for j, k in enumerate(keys_new):
        waiting.setdefault(k, []).append(j)
    free_old: list[int] = []
    for i, k in enumerate(keys_old):
        slots = waiting.get(k)
        if slots:
            pairs.append((i, slots.pop(0)))
        else:
            free_old.append(i)
    taken = {j for _, j in pairs}
    free_new = [j for j in range(len(new)) if j not in taken]
    # 2. pair what is left by similarity: shared conditions weigh most, then shared paths.
    changed: list[tuple[int, int]] = []
    scored = []
    for i in free_old:
        for j in free_new:
            ko, kn = keys_old[i], keys_new[j]
            shared = len(ko & kn)
            paths = len({c.path for c in old[i].conditions} & {c.path for c in new[j].conditions})
            score = 2 * shared + paths
            if score > 0:
                scored.append((-score, i, j))
    for _, i, j in sorted(scored):
        if i in free_old and j in free_new:
            free_old.remove(i)
            free_new.remove(j)
            changed.append((i, j))

    # A require list holds when every condition of every rule holds: its allow/deny meaning is the
    # union of their conditions, however they are grouped into rules.
    unions = (frozenset().union(*map(rule_key, old)), frozenset().union(*map(rule_key, new))) \
        if kind == "require" else None
    for i in free_old:
        r = old[i]
        if unions is not None:
            eff = "loosened" if rule_key(r) - unions[1] else "neutral"
        elif any(k <= keys_old[i] for k in keys_new):  # a broader deny_if stays
            eff = "neutral"
        else:
            eff = "loosened"
        yield Change("rule-removed", pointer(*base, i), _rule_data(r), None, in_context(eff, ctx))
    for j in free_new:
        r = new[j]
        if unions is not None:
            eff = "tightened" if rule_key(r) - unions[0] else "neutral"
        elif any(k <= keys_new[j] for k in keys_old):  # a broader deny_if was there already
            eff = "neutral"
        else:
            eff = "tightened"
        yield Change("rule-added", pointer(*base, j), None, _rule_data(r), in_context(eff, ctx))
    for i, j in sorted(changed, key=lambda p: p[1]):
        yield from _diff_conditions(old[i], new[j], base + (j,), kind, ctx, unions)
        yield from _diff_message(old[i], new[j], base + (j,))
    for i, j in sorted(pairs, key=lambda p: p[1]):
        yield from _diff_condition_order(old[i], new[j], base + (j,))
        yield from _diff_message(old[i], new[j], base + (j,))
    # 3. order of the rules that stayed: observable only through the reported rule id / message.
    if pairs:
        by_old = [old[i] for i, _ in pairs]
        by_new = [new[j] for _, j in sorted(pairs, key=lambda p: p[1])]
        obs_old = [(tuple(c.ident for c in r.conditions), r.message) for r in by_old]
        obs_new = [(tuple(c.ident for c in r.conditions), r.message) for r in by_new]
        order_changed = [j for _, j in pairs] != sorted(j for _, j in pairs)
        if order_changed and obs_old != obs_new and len(pairs) > 1:
            yield Change("rules-reordered", pointer(*base), [_rule_label(r) for r in by_old],
                         [_rule_label(r) for r in by_new], "neutral")


def _diff_message(o: Rule, n: Rule, at: tuple) -> Iterator[Change]:
    if o.message != n.message:
        yield Change("on_deny-changed", pointer(*at, "on_deny"), o.message, n.message, "neutral")


def _diff_condition_order(o: Rule, n: Rule, at: tuple) -> Iterator[Change]:
    # The decision never depends on condition order; the reported rule id can (first condition of
    # a deny_if, first failing condition of a require).
    oi, ni = [c.ident for c in o.conditions], [c.ident for c in n.conditions]
    if oi != ni:
        yield Change("conditions-reordered", pointer(*at, "conditions"), oi, ni, "neutral")


def _diff_conditions(o: Rule, n: Rule, at: tuple, kind: str, ctx: str | None,
                     unions: tuple[frozenset, frozenset] | None = None) -> Iterator[Change]:
    # Within a deny_if rule a broader condition makes the rule hold more often (tightened); within
    # a require rule it makes the rule easier to satisfy (loosened).
    widen, narrow = ("tightened", "loosened") if kind == "deny_if" else ("loosened", "tightened")
    okeys = [cond_key(c) for c in o.conditions]
    nkeys = [cond_key(c) for c in n.conditions]
    free_old = [i for i, k in enumerate(okeys) if k not in nkeys]
    free_new = [j for j, k in enumerate(nkeys) if k not in okeys]
    pairs: list[tuple[int, int]] = []
    scored = sorted((-_comparable(o.conditions[i], n.conditions[j]), i, j)
                    for i in free_old for j in free_new if _comparable(o.conditions[i], n.conditions[j]))
    for _, i, j in scored:
        if i in free_old and j in free_new:
            free_old.remove(i)
            free_new.remove(j)
            pairs.append((i, j))
    # In a require list a condition that another rule of the same version also requires decides
    # nothing by itself (see ``unions``).
    kept_old = (lambda c: cond_key(c) in unions[1]) if unions else (lambda c: False)
    kept_new = (lambda c: cond_key(c) in unions[0]) if unions else (lambda c: False)
    for i in free_old:
        c = o.conditions[i]
        yield Change("condition-removed", pointer(*at, "conditions", i), _cond_data(c), None,
                     in_context("neutral" if kept_old(c) else widen, ctx))
    for j in free_new:
        c = n.conditions[j]
        yield Change("condition-added", pointer(*at, "conditions", j), None, _cond_data(c),
                     in_context("neutral" if kept_new(c) else narrow, ctx))
    for i, j in sorted(pairs, key=lambda p: p[1]):
        a, b = o.conditions[i], n.conditions[j]
        if kept_old(a) and kept_new(b):
            eff = "neutral"
        elif kept_old(a):  # only the new condition matters: it is added
            eff = narrow
        elif kept_new(b):  # only the old condition matters: it is removed
            eff = widen
        else:
            rel = relation(a, b)
            eff = {"same": "neutral", "broader": widen, "narrower": narrow, "unknown": "unknown"}[rel]
        yield Change("condition-changed", pointer(*at, "conditions", j), _cond_data(a), _cond_data(b),
                     in_context(eff, ctx))


def limit_effect(old: Limit, new: Limit) -> str:
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


def _diff_limits(old: Sequence[Limit], new: Sequence[Limit], base: tuple[str, ...],
                 ctx: str | None) -> Iterator[Change]:
    if tuple(map(_limit_sig, old)) == tuple(map(_limit_sig, new)):
        return
    at = base + ("limits",)

    def shared(ls: Sequence[Limit]) -> bool:
        buckets = [(x.counter, x.window) for x in ls]
        return len(buckets) != len(set(buckets))

    # Two limits on one bucket each reserve in it, so their order and sizes interact: unknown.
    interact = shared(old) or shared(new)

    def eff(e: str) -> str:
        return in_context("unknown" if interact and e != "neutral" else e, ctx)

    # Pairing. A counter name decides nothing but the reported rule id (each limit of a list has
    # its own bucket unless two share counter and window), so limits pair by what they count first:
    # the same shape (window and max) under another name is a rename, neutral — a swap of names
    # between two limits is two renames, not a loosening and a tightening. Then the same bucket
    # with another max, the same window, and last the same counter with another window.
    free_old, free_new = list(range(len(old))), list(range(len(new)))
    same: list[tuple[int, int]] = []
    changed: list[tuple[int, int]] = []
    for match in (lambda a, b: _limit_sig(a) == _limit_sig(b),
                  lambda a, b: a.window == b.window and int(a.max) == int(b.max),
                  lambda a, b: a.counter == b.counter and a.window == b.window,
                  lambda a, b: a.window == b.window,
                  lambda a, b: a.counter == b.counter):
        for i in list(free_old):
            j = next((j for j in free_new if match(old[i], new[j])), None)
            if j is not None:
                free_old.remove(i)
                free_new.remove(j)
                (same if _limit_sig(old[i]) == _limit_sig(new[j]) else changed).append((i, j))
    for i in free_old:
        yield Change("limit-removed", pointer(*at, i), _limit_data(old[i]), None, eff("loosened"))
    for j in free_new:
        yield Change("limit-added", pointer(*at, j), None, _limit_data(new[j]), eff("tightened"))
    for i, j in sorted(changed, key=lambda p: p[1]):
        a, b = old[i], new[j]
        e = "neutral" if (a.window, int(a.max)) == (b.window, int(b.max)) else limit_effect(a, b)
        if interact:
            e = "unknown"
        yield Change("limit-changed", pointer(*at, j), _limit_data(a), _limit_data(b), in_context(e, ctx))
    if len(same) > 1:
        order = [j for _, j in same]
        if order != sorted(order):
            # Observable through the reported counter; with a shared bucket, through decisions too.
            o_lims = [old[i] for i, _ in same]
            n_lims = [new[j] for _, j in sorted(same, key=lambda p: p[1])]
            seen = _limit_sig if interact else (lambda x: x.counter)
            if [seen(x) for x in o_lims] != [seen(x) for x in n_lims]:
                yield Change("limits-reordered", pointer(*at), [_limit_label(x) for x in o_lims],
                             [_limit_label(x) for x in n_lims],
                             in_context("unknown" if interact else "neutral", ctx))


def _limit_label(limit: Limit) -> str:
    return f"{limit.counter} ({limit.max}/{limit.window})"


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
    "Outcome", "TRANSITIONS", "behavior_diff", "behavior_diff_trace", "dialect_of", "diff_policies", "eq_key", "gate",
    "limit_effect", "outcome", "relation", "summarize",
]
