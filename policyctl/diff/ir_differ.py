"""The structural diff of two policies through the dialect-neutral form (:mod:`policyctl.policy.ir`).

:func:`diff_programs` compares any two versions: PolicyLayer → PolicyLayer, Intercept → Intercept,
and across dialects (PolicyLayer → Intercept, "does my migrated policy still mean the same?"). The
result is a tuple of :class:`policyctl.diff.differ.Change` values, each with a kind, a JSON Pointer
into the new document (the old one for something removed), the old and new values and an
**effect** (the user documentation of these rules is docs/diff.md):

* ``loosened`` — the change can only turn denies into allows; ``tightened`` — it can only turn
  allows into denies; ``neutral`` — it changes no allow/deny decision (it may change a message or
  the rule id reported); ``unknown`` — it can do both, or the direction could not be proved.
* Effects are judged per call, one change at a time. Interplay through quota is not modelled: a
  tightened rule denies calls that then consume no quota, so a later call of the same grant can go
  from ``rate_limited`` to ``allow``; nor is a change to a counter that a ``state`` condition of
  another rule reads (judged as the reservation alone). The behavioural diff and ``--search`` see
  such calls.
* Whether a tool is reachable at all (default, hide, tools added or removed) is judged by comparing
  how each version treats that tool: *blocked* (hidden, unlisted under default deny, or an
  unconditional deny), *open* (unlisted under default allow), or its own rules. A change inside a
  tool's rules or limits is ``neutral`` when the tool is blocked in both versions, or is hidden or
  otherwise blocked in the new version by something else.
* Conditions are compared by meaning (:func:`policyctl.diff.differ.relation`: path, operator and
  value as the evaluator compares them, never Python's ``==``, for which ``True == 1``); a limit
  changed by :func:`policyctl.diff.differ.limit_effect`.

Each version is a program, tool by tool (the wildcard — PolicyLayer's ``all_tools``, Intercept's
``"*"`` rules — as one more part), each part as its **checks** and **reservations**.

**Numbered rules** (``Program.numbered_rules``: PolicyLayer's, known by their list and place):
when both versions have them, each rule list (``all_or_deny``: require; ``deny_if_all``: deny_if)
and the limit list are compared as that dialect's document:

* A rule is its set of conditions (their order does not change allow/deny); rules pair by meaning,
  then by similarity (shared conditions, then shared paths). Reordering that can change which rule
  id or message is reported is listed as ``neutral`` (rules-reordered, conditions-reordered);
  reordering that cannot change anything, and key order, are not changes. In a require list only
  the union of all conditions decides.
* Limits pair by shape (window and ``max``) before counter name: a counter name only names a bucket
  and the reported rule id, so a rename, or names swapped between limits, is ``neutral``.
* The values shown are rebuilt from the program (as the document states them, empty parts left
  out); only an empty ``on_deny``, which the program keeps no message for, is read from the
  document.

**Named rules** (Intercept's, and any pair across dialects):

* A rate limit is a reservation: window, and how many calls fit in it (``limit`` divided by a
  constant ``amount``). Intercept's ``rate_limit: "N/window"`` and a ``state`` rule's ``lte``/``lt``
  on its own counter also lower into a check on the counter's value before the call; that check is
  folded into the reservation (the reservation refuses first whenever the amount is not negative),
  so a PolicyLayer limit and an Intercept ``rate_limit`` of the same size on the same tool and
  window are the same, whatever their counters are called.
* Checks pair by meaning first (mode and the set of conditions), then — within one dialect — by
  rule name, then by the paths their conditions read. A check that can never deny (an ``evaluate``
  rule without conditions) is no check.
* A check added tightens, removed loosens; an action changed to an unconditional ``deny``
  tightens, from one loosens, anything else between ``evaluate`` and ``deny``/``require_approval``
  with conditions is ``unknown``.
* Rule names, messages and counter names are each dialect's own: across dialects they are never
  compared; within one dialect a renamed rule or a new message is ``neutral``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from policyctl.diff.differ import Change, in_context, limit_effect, relation
from policyctl.documents.pointers import unescape_token
from policyctl.policy import ir

#: change kinds only the dialect-neutral diff reports (on top of differ.CHANGE_KINDS)
IR_CHANGE_KINDS: tuple[str, ...] = ("action-changed", "rule-renamed")

_WINDOW_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_UNLISTED = "\x00unlisted"


@dataclass(frozen=True)
class Side:
    """One version: its program and its document's data (for the values a change shows)."""

    program: ir.Program
    data: Any

    def value(self, pointer: str | None) -> Any:
        if pointer is None:
            return None
        node = self.data
        if pointer == "":
            return _plain(node)
        for token in pointer.split("/")[1:]:
            token = unescape_token(token)
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
        return _plain(node)


def _plain(value: Any) -> Any:
    """A JSON value (documents may hold scalars of their own types)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        if isinstance(value, dict):
            return {str(k): _plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [_plain(v) for v in value]
        return str(value)


def side(loaded: Any) -> Side:
    """The :class:`Side` of a :class:`policyctl.policy.load.LoadedPolicy` (any dialect)."""
    return Side(loaded.lowered, loaded.document.data)


# ---------------------------------------------------------------------------------------------
# conditions as the PolicyLayer differ's relation() reads them


@dataclass(frozen=True)
class _Cond:
    path: str
    op: str
    value: Any
    pointer: str


def _cond(c: ir.Condition) -> _Cond:
    return _Cond(("state." if c.source == "state" else "args.") + ".".join(c.path), c.op, c.value, c.pointer)


def _cond_key(c: _Cond) -> tuple[str, str, str]:
    from policyctl.policy.values import value_key

    return (c.path, c.op, value_key(c.op, c.value))


@dataclass(frozen=True)
class _Check:
    mode: str
    conds: tuple[_Cond, ...]
    kind: str
    rule: str | None
    message: str | None
    pointer: str

    @property
    def key(self) -> frozenset:
        return frozenset(_cond_key(c) for c in self.conds)

    @property
    def always_denies(self) -> bool:
        return self.mode == "deny_if_all" and not self.conds


@dataclass(frozen=True)
class _Res:
    window: str
    limit: int | None
    amount: Any  # int, or a tuple path
    bucket: tuple[str, ...]
    rule: str | None
    message: str | None
    pointer: str

    @property
    def capacity(self) -> int | None:
        """Reservations that fit in one window (None: no limit)."""
        if self.limit is None:
            return None
        if isinstance(self.amount, int) and self.amount > 0:
            return self.limit // self.amount
        return self.limit

    @property
    def shape(self) -> tuple:
        return (self.window, self.capacity, self.amount if isinstance(self.amount, tuple) else
                (1 if isinstance(self.amount, int) and self.amount > 0 else self.amount))


def _part(tp: ir.ToolProgram) -> tuple[list[_Check], list[_Res]]:
    """A tool program's checks (without the counter checks its reservations stand for) and
    reservations."""
    own = {r.bucket[1]: r for r in tp.reservations if r.bucket[0] == "intercept" and r.limit is not None}
    folded: set[str] = set()
    checks: list[_Check] = []
    for c in tp.checks:
        conds = []
        for cond in c.conditions:
            r = own.get(cond.path[0]) if cond.source == "state" else None
            if (r is not None and cond.op in ("lt", "lte") and c.mode == "all_or_deny"
                    and cond.path[0] not in folded and r.refused.rule == c.denials[0].rule):
                folded.add(cond.path[0])
                continue
            conds.append(_cond(cond))
        if c.mode == "all_or_deny" and not conds:
            continue  # never denies
        d = c.denials[0]
        checks.append(_Check(c.mode, tuple(conds), c.kind, d.rule, d.message, c.pointer))
    # A state block's own pointer shows the counter but not the limit (a condition of the rule):
    # such a reservation is shown as its whole rule. A rate_limit's "N/window" says it all.
    res = [_Res(r.window, r.limit, r.amount, r.bucket, r.refused.rule, r.refused.message,
                r.pointer[: -len("/state")] if r.pointer.endswith("/state") else r.pointer)
           for r in tp.reservations]
    return checks, res


# ---------------------------------------------------------------------------------------------
# how a version treats a tool


def _gate(prog: ir.Program, tool: str) -> str:
    """``blocked``, ``open`` (not listed: only the wildcard applies) or ``rules``; ``hidden`` is
    blocked by hide."""
    if prog.hidden(tool) is not None:
        return "hidden"
    if prog.default_denied(tool) is not None:
        return "blocked"
    if any(c.mode == "deny_if_all" and not c.conditions for c in prog.checks(tool)):
        return "blocked"
    return "rules" if tool in prog.tools else "open"


def _trivial(tp: ir.ToolProgram) -> bool:
    checks, res = _part(tp)
    return not checks and all(r.limit is None and not isinstance(r.amount, tuple) for r in res)


def _gate_effect(old: Side, new: Side, tool: str) -> str:
    before, after = _gate(old.program, tool), _gate(new.program, tool)
    b_blocked, a_blocked = before in ("blocked", "hidden"), after in ("blocked", "hidden")
    if b_blocked:
        return "neutral" if a_blocked else "loosened"
    if a_blocked:
        return "tightened"
    if before == "open" and after == "open":
        return "neutral"
    if before == "open":
        return "neutral" if _trivial(new.program.tools[tool]) else "tightened"
    if after == "open":
        return "neutral" if _trivial(old.program.tools[tool]) else "loosened"
    return "unknown"


def _all_blocked(prog: ir.Program) -> bool:
    if "*" in prog.hide:
        return True
    if not prog.default_deny:
        return False
    return all(_gate(prog, t) in ("blocked", "hidden") for t in prog.tools if t != prog.wildcard_name)


# ---------------------------------------------------------------------------------------------
# the diff


def diff_programs(old: Side, new: Side) -> tuple[Change, ...]:
    """Every structural change from ``old`` to ``new``: default, hide, the wildcard part, then
    listed tools by name."""
    out: list[Change] = []
    po, pn = old.program, new.program
    same = po.dialect == pn.dialect
    numbered = po.numbered_rules and pn.numbered_rules
    if po.default_deny != pn.default_deny:
        word = {True: "deny", False: "allow"}
        out.append(Change("default-changed", "/default", word[po.default_deny], word[pn.default_deny],
                          _gate_effect(old, new, _UNLISTED)))
    out.extend(_diff_hide(old, new))
    ctx = "neutral" if _all_blocked(pn) else None
    if numbered:
        out.extend(_diff_numbered_part(po.wildcard, pn.wildcard, old, new, ctx))
    else:
        out.extend(_diff_part(po.wildcard, pn.wildcard, old, new, ctx, same))
    names = (set(po.tools) - {po.wildcard_name}) | (set(pn.tools) - {pn.wildcard_name})
    names.discard(None)
    for tool in sorted(names):
        out.extend(_diff_tool(old, new, tool, same, numbered))
    return tuple(out)


def _diff_hide(old: Side, new: Side) -> Iterator[Change]:
    po, pn = old.program, new.program
    for i, name in enumerate(po.hide):
        if name not in pn.hide and name not in po.hide[:i]:
            if name == "*":
                eff = "neutral" if _all_blocked(pn) else "loosened"
            else:
                eff = "neutral" if _gate(pn, name) in ("blocked", "hidden") else "loosened"
            yield Change("hide-removed", po.hide_pointers[i], name, None, eff)
    for i, name in enumerate(pn.hide):
        if name not in po.hide and name not in pn.hide[:i]:
            if name == "*":
                eff = "neutral" if _all_blocked(po) else "tightened"
            else:
                eff = "neutral" if _gate(po, name) in ("blocked", "hidden") else "tightened"
            yield Change("hide-added", pn.hide_pointers[i], None, name, eff)


def _diff_tool(old: Side, new: Side, tool: str, same: bool, numbered: bool) -> Iterator[Change]:
    po, pn = old.program, new.program
    o, n = po.tools.get(tool), pn.tools.get(tool)
    if o is None:
        shown = _numbered_data(n, new) if numbered and n is not None else new.value(pn.tool_pointer(tool))
        yield Change("tool-added", pn.tool_pointer(tool), None, shown, _gate_effect(old, new, tool))
        return
    if n is None:
        shown = _numbered_data(o, old) if numbered else old.value(po.tool_pointer(tool))
        yield Change("tool-removed", po.tool_pointer(tool), shown, None, _gate_effect(old, new, tool))
        return
    if numbered and _numbered_sig(o, old) == _numbered_sig(n, new):
        return
    g_old, g_new = _gate(po, tool), _gate(pn, tool)
    ctx: str | None = None
    if g_old in ("blocked", "hidden") and g_new in ("blocked", "hidden"):
        ctx = "neutral"
    elif g_new == "hidden":
        ctx = "neutral"
    elif g_new == "blocked":
        ctx = "block"
    if numbered:
        yield from _diff_numbered_part(o, n, old, new, ctx)
    else:
        yield from _diff_part(o, n, old, new, ctx, same)


def _diff_part(o: ir.ToolProgram, n: ir.ToolProgram, old: Side, new: Side, ctx: str | None,
               same: bool) -> Iterator[Change]:
    oc, orr = _part(o)
    nc, nr = _part(n)
    yield from _diff_checks(oc, nc, old, new, ctx, same)
    yield from _diff_reservations(orr, nr, old, new, ctx, same)


def _pair(old: Sequence[Any], new: Sequence[Any], matchers: Sequence[Any]) -> tuple[list, list, list]:
    free_old, free_new = list(range(len(old))), list(range(len(new)))
    pairs: list[tuple[int, int]] = []
    for match in matchers:
        for i in list(free_old):
            j = next((j for j in free_new if match(old[i], new[j])), None)
            if j is not None:
                free_old.remove(i)
                free_new.remove(j)
                pairs.append((i, j))
    return free_old, free_new, sorted(pairs, key=lambda p: p[1])


def _diff_checks(old: list[_Check], new: list[_Check], o_side: Side, n_side: Side, ctx: str | None,
                 same: bool) -> Iterator[Change]:
    matchers = [lambda a, b: a.mode == b.mode and a.key == b.key]
    if same:
        matchers.append(lambda a, b: a.rule is not None and a.rule == b.rule)
    matchers.append(lambda a, b: a.mode == b.mode and bool({c.path for c in a.conds} & {c.path for c in b.conds}))
    # an unconditional deny that became conditional (or the reverse): one action change
    matchers.append(lambda a, b: a.always_denies != b.always_denies)
    free_old, free_new, pairs = _pair(old, new, matchers)
    # Every all_or_deny check must pass, so only the set of all their conditions decides (as
    # PolicyLayer's require lists); a deny_if_all check the other version has as it is decides
    # nothing new.
    unions = (_union(old), _union(new))
    o_deny = {c.key for c in old if c.mode == "deny_if_all"}
    n_deny = {c.key for c in new if c.mode == "deny_if_all"}

    def redundant(c: _Check, other: int) -> bool:
        if c.mode == "all_or_deny":
            return c.key <= unions[other]
        return c.key in (n_deny if other else o_deny)

    for i in free_old:
        c = old[i]
        eff = "neutral" if redundant(c, 1) else "loosened"
        yield Change("rule-removed", c.pointer, o_side.value(c.pointer), None, in_context(eff, ctx))
    for j in free_new:
        c = new[j]
        eff = "neutral" if redundant(c, 0) else "tightened"
        yield Change("rule-added", c.pointer, None, n_side.value(c.pointer), in_context(eff, ctx))
    for i, j in pairs:
        a, b = old[i], new[j]
        if same and a.rule != b.rule:
            yield Change("rule-renamed", b.pointer, a.rule, b.rule, in_context("neutral", ctx))
        if a.mode != b.mode or a.always_denies != b.always_denies or (same and a.kind != b.kind):
            if a.mode == b.mode and a.key == b.key:
                eff = "neutral"  # deny and require_approval without conditions: another reason
            elif b.always_denies and not a.always_denies:
                eff = "tightened"
            elif a.always_denies and not b.always_denies:
                eff = "loosened"
            else:
                eff = "unknown"
            yield Change("action-changed", b.pointer, a.kind, b.kind, in_context(eff, ctx))
            if a.mode != b.mode or a.always_denies != b.always_denies:
                continue
        if same and (a.message or "") != (b.message or "") and a.rule == b.rule:
            yield Change("on_deny-changed", b.pointer + "/on_deny", o_side.value(a.pointer + "/on_deny"),
                         n_side.value(b.pointer + "/on_deny"), in_context("neutral", ctx))
        if a.key != b.key:
            yield from _diff_conditions(a.conds, b.conds, a.mode, ctx, unions if a.mode == "all_or_deny" else None,
                                        _shown_as_written(a, b, o_side, n_side))


def _shown_as_written(a: _Check, b: _Check, o_side: Side, n_side: Side) -> Shown:
    """Where a named rule's condition change is shown: at the condition's own place, with the
    document's values."""
    def shown(i: int | None, j: int | None) -> tuple[str, Any, Any]:
        x = a.conds[i].pointer if i is not None else None
        y = b.conds[j].pointer if j is not None else None
        return (y if y is not None else x or "", o_side.value(x), n_side.value(y))

    return shown


def _union(checks: Sequence[_Check]) -> frozenset:
    return frozenset(k for c in checks if c.mode == "all_or_deny" for k in c.key)


#: where a condition change is shown: (pointer, old value, new value) for old condition i and new
#: condition j (None: absent on that side)
Shown = Callable[[int | None, int | None], tuple[str, Any, Any]]


def _diff_conditions(old: Sequence[_Cond], new: Sequence[_Cond], mode: str, ctx: str | None,
                     unions: tuple[frozenset, frozenset] | None, shown: Shown) -> Iterator[Change]:
    """The conditions of two paired checks. ``shown(i, j)`` is a change's (pointer, old value, new
    value) for old condition ``i`` and new condition ``j`` (None: absent on that side)."""
    # all_or_deny (require, evaluate): a broader condition is easier to satisfy (loosened);
    # deny_if_all (deny_if, require_approval): a broader condition denies more (tightened).
    widen, narrow = ("tightened", "loosened") if mode == "deny_if_all" else ("loosened", "tightened")
    okeys = [_cond_key(c) for c in old]
    nkeys = [_cond_key(c) for c in new]
    free_old = [i for i, k in enumerate(okeys) if k not in nkeys]
    free_new = [j for j, k in enumerate(nkeys) if k not in okeys]
    pairs: list[tuple[int, int]] = []
    for _, i, j in sorted((-_comparable(old[i], new[j]), i, j) for i in free_old for j in free_new
                          if _comparable(old[i], new[j])):
        if i in free_old and j in free_new:
            free_old.remove(i)
            free_new.remove(j)
            pairs.append((i, j))
    # an all_or_deny condition that another check of the other version also requires decides nothing
    kept_old = (lambda c: _cond_key(c) in unions[1]) if unions else (lambda c: False)
    kept_new = (lambda c: _cond_key(c) in unions[0]) if unions else (lambda c: False)
    for i in free_old:
        yield Change("condition-removed", *shown(i, None), in_context("neutral" if kept_old(old[i]) else widen, ctx))
    for j in free_new:
        yield Change("condition-added", *shown(None, j), in_context("neutral" if kept_new(new[j]) else narrow, ctx))
    for i, j in sorted(pairs, key=lambda p: p[1]):
        x, y = old[i], new[j]
        if kept_old(x) and kept_new(y):
            eff = "neutral"
        elif kept_old(x):  # only the new condition matters: it is added
            eff = narrow
        elif kept_new(y):  # only the old condition matters: it is removed
            eff = widen
        else:
            rel = relation(x, y)
            eff = {"same": "neutral", "broader": widen, "narrower": narrow, "unknown": "unknown"}[rel]
        yield Change("condition-changed", *shown(i, j), in_context(eff, ctx))


_FAMILY = {"gt": "num", "gte": "num", "lt": "num", "lte": "num",
           "eq": "set", "neq": "set", "in": "set", "not_in": "set"}


def _comparable(a: _Cond, b: _Cond) -> int:
    """How well two conditions pair up as "one condition changed" (0: not at all)."""
    if a.path != b.path:
        return 0
    if a.op == b.op:
        return 3
    fa, fb = _FAMILY.get(a.op), _FAMILY.get(b.op)
    return 2 if fa is not None and fa == fb else 0


@dataclass(frozen=True)
class _Limit:
    """What :func:`policyctl.diff.differ.limit_effect` reads."""

    max: int
    seconds: int


def _res_effect(a: _Res, b: _Res) -> str:
    if a.shape == b.shape:
        return "neutral"
    if isinstance(a.amount, tuple) != isinstance(b.amount, tuple) or (
            isinstance(a.amount, tuple) and a.amount != b.amount):
        return "unknown"  # counted in different units
    if a.capacity is None or b.capacity is None:
        if a.capacity is None and b.capacity is None:
            return "neutral"
        return "tightened" if a.capacity is None else "loosened"
    return limit_effect(_Limit(a.capacity, _WINDOW_SECONDS[a.window]),
                        _Limit(b.capacity, _WINDOW_SECONDS[b.window]))


def _diff_reservations(old: list[_Res], new: list[_Res], o_side: Side, n_side: Side, ctx: str | None,
                       same: bool) -> Iterator[Change]:
    matchers = [lambda a, b: a.shape == b.shape and (not same or a.bucket == b.bucket),
                lambda a, b: a.shape == b.shape,
                lambda a, b: same and a.bucket == b.bucket,
                lambda a, b: same and a.rule is not None and a.rule == b.rule,
                lambda a, b: a.window == b.window]
    free_old, free_new, pairs = _pair(old, new, matchers)

    def shared(rs: Sequence[_Res]) -> bool:
        buckets = [(r.bucket, r.window) for r in rs]
        return len(buckets) != len(set(buckets))

    # Two reservations in one bucket (two PolicyLayer limits on one counter, two Intercept rules on
    # one state counter) each take from it: their sizes interact, so a change there is unknown.
    interact = shared(old) or shared(new)

    def counts(r: _Res) -> bool:  # whether the reservation can deny at all
        return r.limit is not None or isinstance(r.amount, tuple)

    def eff(e: str) -> str:
        return in_context("unknown" if interact and e != "neutral" else e, ctx)

    for i in free_old:
        r = old[i]
        yield Change("limit-removed", r.pointer, o_side.value(r.pointer), None,
                     eff("loosened" if counts(r) else "neutral"))
    for j in free_new:
        r = new[j]
        yield Change("limit-added", r.pointer, None, n_side.value(r.pointer),
                     eff("tightened" if counts(r) else "neutral"))
    for i, j in pairs:
        a, b = old[i], new[j]
        renamed = same and (a.bucket != b.bucket or a.rule != b.rule or a.message != b.message)
        if a.shape == b.shape and not renamed:
            continue
        e = _res_effect(a, b)
        if interact and (e != "neutral" or a.bucket != b.bucket):
            e = "unknown"  # a rename can split or merge a shared bucket
        yield Change("limit-changed", b.pointer, o_side.value(a.pointer), n_side.value(b.pointer),
                     in_context(e, ctx))


__all__ = ["IR_CHANGE_KINDS", "Side", "diff_programs", "side"]


# ---------------------------------------------------------------------------------------------
# numbered rules (PolicyLayer): a rule is known by its list and place, a limit by its bucket


def _written(c: ir.Condition) -> _Cond:
    """A condition with its path as the document writes it (what a numbered rule's id names)."""
    return _Cond(c.label if c.label is not None else _cond(c).path, c.op, c.value, c.pointer)


def _ident(c: _Cond) -> str:
    return f"{c.path}-{c.op}"


def _json(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value)


@dataclass(frozen=True)
class _Rule:
    """A numbered rule: its conditions (as written), its own message and where it is."""

    conds: tuple[_Cond, ...]
    message: str | None  # None when it states none (an empty on_deny is none)
    on_deny: str | None  # as written: "" is kept
    pointer: str

    @property
    def key(self) -> frozenset:
        return frozenset(_cond_key(c) for c in self.conds)

    @property
    def sig(self) -> tuple:
        return tuple(_cond_key(c) for c in self.conds), self.message or ""

    @property
    def label(self) -> str:
        return " & ".join(map(_ident, self.conds)) if self.conds else "(no conditions)"

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"conditions": [_cond_data(c, keep_none=False) for c in self.conds]}
        if self.on_deny is not None:
            out["on_deny"] = self.on_deny
        return out


def _cond_data(c: _Cond, keep_none: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"path": c.path, "op": c.op}
    if keep_none or c.value is not None:
        out["value"] = _json(c.value)
    return out


@dataclass(frozen=True)
class _NLimit:
    """A numbered limit: a counter, a window and a ``max``, per grant."""

    counter: str
    window: str
    max: int
    pointer: str

    @property
    def seconds(self) -> int:
        return _WINDOW_SECONDS[self.window]

    @property
    def sig(self) -> tuple[str, str, str]:
        return self.counter, self.window, str(self.max)

    @property
    def label(self) -> str:
        return f"{self.counter} ({self.max}/{self.window})"

    def data(self) -> dict[str, Any]:
        return {"counter": self.counter, "window": self.window, "max": self.max, "scope": "grant"}


def _rules(tp: ir.ToolProgram, mode: str, side_: Side) -> list[_Rule]:
    """A part's numbered rules of one mode (``all_or_deny``: require; ``deny_if_all``: deny_if), in
    their order."""
    out = []
    for c in tp.checks:
        if c.mode == mode:
            on_deny = c.on_deny
            if on_deny is None and side_.value(c.pointer + "/on_deny") == "":
                on_deny = ""  # stated, but empty: the IR keeps no message for it
            out.append(_Rule(tuple(map(_written, c.conditions)), c.on_deny, on_deny, c.pointer))
    return out


def _limits(tp: ir.ToolProgram) -> list[_NLimit]:
    return [_NLimit(r.bucket[2], r.window, int(r.limit or 0), r.pointer) for r in tp.reservations]


def _numbered_data(tp: ir.ToolProgram, side_: Side) -> dict[str, Any]:
    """A tool's part as plain data, leaving out empty lists (rules keep their ``conditions``)."""
    data: dict[str, Any] = {}
    require, deny_if, limits = _rules(tp, "all_or_deny", side_), _rules(tp, "deny_if_all", side_), _limits(tp)
    if require:
        data["require"] = [r.data() for r in require]
    if deny_if:
        data["deny_if"] = [r.data() for r in deny_if]
    if limits:
        data["limits"] = [x.data() for x in limits]
    return data


def _numbered_sig(tp: ir.ToolProgram, side_: Side) -> tuple:
    return (tuple(r.sig for r in _rules(tp, "all_or_deny", side_)),
            tuple(r.sig for r in _rules(tp, "deny_if_all", side_)), tuple(x.sig for x in _limits(tp)))


def _diff_numbered_part(o: ir.ToolProgram, n: ir.ToolProgram, old: Side, new: Side,
                        ctx: str | None) -> Iterator[Change]:
    for mode in ("all_or_deny", "deny_if_all"):
        yield from _diff_numbered_rules(_rules(o, mode, old), _rules(n, mode, new), mode, ctx)
    yield from _diff_numbered_limits(_limits(o), _limits(n), ctx)


def _parent(pointer_: str) -> str:
    return pointer_.rsplit("/", 1)[0]


def _diff_numbered_rules(old: list[_Rule], new: list[_Rule], mode: str, ctx: str | None) -> Iterator[Change]:
    if [r.sig for r in old] == [r.sig for r in new]:
        return
    keys_old, keys_new = [r.key for r in old], [r.key for r in new]
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
            shared = len(keys_old[i] & keys_new[j])
            paths = len({c.path for c in old[i].conds} & {c.path for c in new[j].conds})
            score = 2 * shared + paths
            if score > 0:
                scored.append((-score, i, j))
    for _, i, j in sorted(scored):
        if i in free_old and j in free_new:
            free_old.remove(i)
            free_new.remove(j)
            changed.append((i, j))
    # Every all_or_deny rule must hold: the list's allow/deny meaning is the union of their
    # conditions, however they are grouped into rules.
    unions = (frozenset().union(*keys_old), frozenset().union(*keys_new)) if mode == "all_or_deny" else None
    for i in free_old:
        r = old[i]
        if unions is not None:
            eff = "loosened" if r.key - unions[1] else "neutral"
        elif any(k <= keys_old[i] for k in keys_new):  # a broader deny_if_all stays
            eff = "neutral"
        else:
            eff = "loosened"
        yield Change("rule-removed", r.pointer, r.data(), None, in_context(eff, ctx))
    for j in free_new:
        r = new[j]
        if unions is not None:
            eff = "tightened" if r.key - unions[0] else "neutral"
        elif any(k <= keys_new[j] for k in keys_old):  # a broader deny_if_all was there already
            eff = "neutral"
        else:
            eff = "tightened"
        yield Change("rule-added", r.pointer, None, r.data(), in_context(eff, ctx))
    for i, j in sorted(changed, key=lambda p: p[1]):
        yield from _diff_conditions(old[i].conds, new[j].conds, mode, ctx, unions, _shown_at(old[i], new[j]))
        yield from _diff_message(old[i], new[j])
    for i, j in sorted(pairs, key=lambda p: p[1]):
        oi, ni = [_ident(c) for c in old[i].conds], [_ident(c) for c in new[j].conds]
        if oi != ni:
            # The decision never depends on condition order; the reported rule id can.
            yield Change("conditions-reordered", new[j].pointer + "/conditions", oi, ni, "neutral")
        yield from _diff_message(old[i], new[j])
    # 3. order of the rules that stayed: observable only through the reported rule id / message.
    if len(pairs) > 1:
        by_old = [old[i] for i, _ in pairs]
        by_new = [new[j] for _, j in sorted(pairs, key=lambda p: p[1])]
        seen_old = [(tuple(map(_ident, r.conds)), r.message) for r in by_old]
        seen_new = [(tuple(map(_ident, r.conds)), r.message) for r in by_new]
        if [j for _, j in pairs] != sorted(j for _, j in pairs) and seen_old != seen_new:
            yield Change("rules-reordered", _parent(new[0].pointer), [r.label for r in by_old],
                         [r.label for r in by_new], "neutral")


def _shown_at(o: _Rule, n: _Rule) -> Shown:
    """Where a numbered rule's condition change is shown: at its place in the new rule (a removed
    one at its old place), with the conditions as data."""
    def shown(i: int | None, j: int | None) -> tuple[str, Any, Any]:
        at = f"{n.pointer}/conditions/{j if j is not None else i}"
        return (at, _cond_data(o.conds[i]) if i is not None else None,
                _cond_data(n.conds[j]) if j is not None else None)

    return shown


def _diff_message(o: _Rule, n: _Rule) -> Iterator[Change]:
    if o.message != n.message:
        yield Change("on_deny-changed", n.pointer + "/on_deny", o.message, n.message, "neutral")


def _diff_numbered_limits(old: list[_NLimit], new: list[_NLimit], ctx: str | None) -> Iterator[Change]:
    if [x.sig for x in old] == [x.sig for x in new]:
        return

    def shared(ls: Sequence[_NLimit]) -> bool:
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
    for match in (lambda a, b: a.sig == b.sig,
                  lambda a, b: a.window == b.window and a.max == b.max,
                  lambda a, b: a.counter == b.counter and a.window == b.window,
                  lambda a, b: a.window == b.window,
                  lambda a, b: a.counter == b.counter):
        for i in list(free_old):
            j = next((j for j in free_new if match(old[i], new[j])), None)
            if j is not None:
                free_old.remove(i)
                free_new.remove(j)
                (same if old[i].sig == new[j].sig else changed).append((i, j))
    for i in free_old:
        yield Change("limit-removed", old[i].pointer, old[i].data(), None, eff("loosened"))
    for j in free_new:
        yield Change("limit-added", new[j].pointer, None, new[j].data(), eff("tightened"))
    for i, j in sorted(changed, key=lambda p: p[1]):
        a, b = old[i], new[j]
        e = "neutral" if (a.window, a.max) == (b.window, b.max) else limit_effect(a, b)
        if interact:
            e = "unknown"
        yield Change("limit-changed", b.pointer, a.data(), b.data(), in_context(e, ctx))
    if len(same) > 1:
        order = [j for _, j in same]
        if order != sorted(order):
            # Observable through the reported counter; with a shared bucket, through decisions too.
            o_lims = [old[i] for i, _ in same]
            n_lims = [new[j] for _, j in sorted(same, key=lambda p: p[1])]
            seen = (lambda x: x.sig) if interact else (lambda x: x.counter)
            if [seen(x) for x in o_lims] != [seen(x) for x in n_lims]:
                yield Change("limits-reordered", _parent(n_lims[0].pointer), [x.label for x in o_lims],
                             [x.label for x in n_lims], in_context("unknown" if interact else "neutral", ctx))
