"""Hypothesis properties of the evaluator (SPEC §2):

* the compiled programs and the step-by-step walker of ``explain`` decide every call alike, and
  evaluation never raises, for any schema-valid policy and any calls;
* sliding windows: no window of the limit's length ever holds more than ``max`` units per bucket;
* fixed windows: no calendar window does, and the edge burst of 2 × max across a boundary is real;
* denied calls never change any counter.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyctl.documents.schema import validate
from policyctl.engine.counters import NS
from policyctl.engine.evaluator import Evaluator
from policyctl.engine.explain import explain_call
from policyctl.engine.interpret import Interpreter
from policyctl.policy.dialects.policylayer.lower import lower
from policyctl.policy.dialects.policylayer.model import WINDOW_SECONDS, Policy
from tests.conftest import examples

BASE = 1795478400 * NS  # 2026-11-24T00:00:00Z
TOOLS = ["a", "b", "all_tools", "x/y"]
KEYS = ["a", "b", "c"]

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 12), st.sampled_from([0.5, 1e6, 2.0**53 + 2]),
                        st.sampled_from(["", "a", "b", "5", "true", "1e+06", "<nil>", "npm test; rm", "x y"]))
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)), max_leaves=6)
args_strategy = st.dictionaries(st.sampled_from(KEYS), json_value, max_size=3)

paths = st.lists(st.sampled_from(KEYS), min_size=1, max_size=2).map(lambda ks: "args." + ".".join(ks))


@st.composite
def conditions(draw: Any) -> dict:
    op = draw(st.sampled_from(["eq", "neq", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "regex", "contains"]))
    if op in ("lt", "lte", "gt", "gte"):
        value: Any = draw(st.one_of(st.integers(-2, 10), st.sampled_from([0.5, 1e6])))
    elif op in ("in", "not_in"):
        value = draw(st.lists(json_scalar, max_size=3))
    elif op == "exists":
        value = draw(st.booleans())
    elif op == "regex":
        value = draw(st.sampled_from(["^a", "b$", "rm", "[;&|]", "(?i)TRUE", "(?<=a)b", "^$", "\\d"]))
    else:
        value = draw(json_value)
    return {"path": draw(paths), "op": op, "value": value}


rules = st.builds(lambda c, m: {"conditions": c, **({"on_deny": m} if m is not None else {})},
                  st.lists(conditions(), max_size=2), st.one_of(st.none(), st.sampled_from(["", "no"])))
limits = st.builds(lambda c, w, m: {"counter": c, "window": w, "max": m, "scope": "grant"},
                   st.sampled_from(["c1", "c2"]), st.sampled_from(["minute", "hour", "day"]), st.integers(1, 4))
tool_entries = st.fixed_dictionaries({}, optional={
    "require": st.lists(rules, max_size=2), "deny_if": st.lists(rules, max_size=2),
    "limits": st.lists(limits, max_size=2)})


@st.composite
def policies(draw: Any, with_rules: bool = True) -> Policy:
    data: dict[str, Any] = {"version": "1", "default": draw(st.sampled_from(["allow", "deny"]))}
    hide = draw(st.lists(st.sampled_from(TOOLS + ["*"]), max_size=1, unique=True))
    if hide and draw(st.integers(0, 3)) == 0:
        data["hide"] = hide
    entry = tool_entries if with_rules else st.fixed_dictionaries({}, optional={"limits": st.lists(limits, max_size=2)})
    data["tools"] = draw(st.dictionaries(st.sampled_from(TOOLS), entry, max_size=3))
    if draw(st.booleans()):
        data["all_tools"] = {"limits": draw(st.lists(limits, max_size=2))}
    assert validate(data) == [], validate(data)  # every generated policy is schema-valid
    return Policy.from_data(data)


@st.composite
def calls(draw: Any, monotone: bool = True, n: int = 40) -> list[tuple]:
    steps = draw(st.lists(st.one_of(st.integers(0, 3 * NS), st.sampled_from([0, NS // 1000, 59 * NS, 60 * NS, 3600 * NS]),
                                    st.integers(0, 2 * 86400 * NS)), min_size=1, max_size=n))
    out = []
    t = BASE + draw(st.sampled_from([0, 59 * NS + 999 * 10**6, 3599 * NS, 86399 * NS]))
    for step in steps:
        t = t + step if monotone or draw(st.booleans()) else t - step
        out.append((t, draw(st.sampled_from(["g1", "g2"])), draw(st.sampled_from(TOOLS + ["zz"])),
                    draw(args_strategy), draw(UPSTREAM) if draw(st.integers(0, 5)) == 0 else False))
    return out


#: how an upstream failed, as the trace reader hands it to an engine: a bare ``upstream_error: true``,
#: or the ``upstream`` kind stated with it (PolicyLayer releases on every one of them)
UPSTREAM = st.sampled_from([True, "jsonrpc_error", "tool_error", "no_response", "not_forwarded"])


COMMON = settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(policies(), calls(monotone=False), st.sampled_from(["fixed", "sliding"]))
def test_compiled_programs_and_the_explain_walker_agree_and_never_raise(policy, seq, windows):
    fast, slow = Evaluator(policy, windows=windows), Interpreter(lower(policy), windows=windows)
    for ts, grant, tool, args, up in seq:
        a = fast.evaluate_ns(ts, grant, tool, args, upstream_error=up)
        b = explain_call(slow, ts, grant, tool, args, upstream_error=up).decision
        assert a == b, (ts, grant, tool, args, up)


def _units(ev: Evaluator, seq: list[tuple]) -> dict[tuple, list[int]]:
    """Replay; per bucket (grant, family) the times of the units held by allowed, unreleased calls."""
    held: dict[tuple, list[int]] = defaultdict(list)
    for ts, grant, tool, args, up in seq:
        d = ev.evaluate_ns(ts, grant, tool, args, upstream_error=up)
        if d.allowed and not up:
            for _, _, fam in ev.limits(tool):
                held[(grant, id(fam))].append(ts)
    return held


def _max_of(ev: Evaluator) -> dict[int, tuple[int, int]]:
    """Bound per bucket family: the ``max`` of the last limit that reserves in it. (Two limits of one
    tool with the same counter share a bucket and each reserves in it, so only the last one's check
    bounds what a call leaves behind — the shared-bucket case table in test_engine shows it.)"""
    out = {}
    for tool in list(ev.ir.tools) + ["zz"]:
        for _, lim, fam in ev.limits(tool):
            out[id(fam)] = (lim.max, WINDOW_SECONDS[lim.window] * NS)
    return out


@COMMON
@given(policies(with_rules=False), calls(n=60))
def test_sliding_no_window_of_the_length_holds_more_than_max(policy, seq):
    ev = Evaluator(policy, windows="sliding")
    held = _units(ev, seq)
    bounds = _max_of(ev)
    for (grant, fam), times in held.items():
        mx, length = bounds[fam]
        times.sort()
        for i, t in enumerate(times):
            inside = sum(1 for u in times[: i + 1] if u > t - length)
            assert inside <= mx, (grant, t, inside, mx)


@COMMON
@given(policies(with_rules=False), calls(n=60))
def test_fixed_no_calendar_window_holds_more_than_max(policy, seq):
    ev = Evaluator(policy, windows="fixed")
    held = _units(ev, seq)
    bounds = _max_of(ev)
    for (_grant, fam), times in held.items():
        mx, length = bounds[fam]
        per_window: dict[int, int] = defaultdict(int)
        for t in times:
            per_window[t // length] += 1
        assert max(per_window.values()) <= mx


@settings(max_examples=examples(60), deadline=None)
@given(st.integers(1, 6), st.sampled_from(["minute", "hour", "day"]), st.integers(1, 999))
def test_fixed_edge_burst_of_twice_max_is_real_and_sliding_refuses_it(mx, window, ms_before):
    policy = Policy.from_data({"version": "1", "default": "deny", "tools": {
        "t": {"limits": [{"counter": "c", "window": window, "max": mx, "scope": "grant"}]}}})
    edge = BASE + WINDOW_SECONDS[window] * NS
    burst = [edge - ms_before * 10**6] * mx + [edge] * mx  # 2*max calls within one second
    fixed, sliding = Evaluator(policy), Evaluator(policy, windows="sliding")
    assert all(fixed.evaluate_ns(t, "g", "t", {}).allowed for t in burst)
    got = [sliding.evaluate_ns(t, "g", "t", {}).allowed for t in burst]
    assert got == [True] * mx + [False] * mx


def _snapshot(ev: Evaluator, ts: int) -> dict:
    """Every bucket's count as seen at ``ts`` (what any later call at ``ts`` or after would see)."""
    return {(key, g): fam.count(g, ts) for key, fam in ev.store.families.items() for g in ("g1", "g2")}


@COMMON
@given(policies(), calls(monotone=False), st.sampled_from(["fixed", "sliding"]))
def test_denied_and_released_calls_never_change_counters(policy, seq, windows):
    ev = Evaluator(policy, windows=windows)
    for ts, grant, tool, args, up in seq:
        at = max(ts, ev.clock) if ev.clock is not None else ts  # the clock never runs backwards
        before = _snapshot(ev, at)
        d = ev.evaluate_ns(ts, grant, tool, args, upstream_error=up)
        if not d.allowed or up:
            assert _snapshot(ev, at) == before, (d, tool)
        else:
            assert sum(_snapshot(ev, at).values()) > sum(before.values()) or not ev.limits(tool)


@COMMON
@given(policies(with_rules=False), calls(monotone=False, n=60), st.sampled_from(["fixed", "sliding"]))
def test_a_trace_going_back_in_time_is_evaluated_on_a_monotonic_clock(policy, seq, windows):
    """Out-of-order input gives exactly the decisions of the same calls at max(ts, newest so far)."""
    a, b = Evaluator(policy, windows=windows), Evaluator(policy, windows=windows)
    clock = None
    for ts, grant, tool, args, up in seq:
        clock = ts if clock is None else max(clock, ts)
        got = a.evaluate_ns(ts, grant, tool, args, upstream_error=up)
        assert got == b.decisions[b.program(tool)(clock, grant, args, up)]
