"""The compiled programs of the interpreter (fixed windows: each tool's steps as straight-line
Python) against its step-by-step closures (``Interpreter(compiled=False)``, the reference):
the same decision and the same counter rows after every call, on every conformance call, on
generated programs with every kind of check and reservation, and on lowered PolicyLayer policies.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policyctl.engine.interpret import Interpreter
from policyctl.policy import ir
from policyctl.policy.dialects.policylayer.lower import lower
from policyctl.traces.reader import parse_ts
from tests.test_engine_properties import COMMON, calls, policies
from tests.test_ir import CALL_CASES, _program

NS = 10**9


def _agree(program: ir.Program, seq: list[tuple]) -> None:
    fast, ref = Interpreter(program), Interpreter(program, compiled=False)
    assert fast.compiled and not ref.compiled
    for n, (ts, grant, tool, args, up) in enumerate(seq):
        a = fast.evaluate_ns(ts, grant, tool, args, upstream_error=up)
        b = ref.evaluate_ns(ts, grant, tool, args, upstream_error=up)
        assert a == b, (n, tool, args, up)
        assert fast.store.rows == ref.store.rows, (n, tool, args, up)
    assert fast.decisions == ref.decisions and fast.origins == ref.origins and fast.tools == ref.tools


@pytest.mark.parametrize("case", CALL_CASES, ids=lambda c: c["name"][:60])
def test_compiled_programs_decide_every_conformance_call_as_the_reference(case):
    seq = []
    for call in case["calls"]:
        up = call.get("upstream", "ok")
        seq.append((parse_ts(call["ts"]), "default", call["tool"], call.get("args") or {},
                    False if up == "ok" else up))
    _agree(_program(case["policy"]), seq)


@COMMON
@given(policies(), calls(monotone=False))
def test_compiled_programs_decide_lowered_policylayer_policies_as_the_reference(policy, seq):
    _agree(lower(policy), seq)


# --- generated Intercept programs -------------------------------------------------------------

TOOLS = ("t", "u", "*", "x")
KEYS = ("t.c", "t.d", "_global.c", "u.c")
OPS = ("eq", "neq", "in", "not_in", "lt", "lte", "gt", "gte", "exists", "regex", "contains")
VALUES = st.one_of(st.integers(-3, 5), st.sampled_from([2**60, 1000000, 1.5, -0.0, "1", "x", "ab", True, None,
                                                         "^a", "b$", ["x", 1, "1"], [], [2, 3.0]]))
ARG_VALUES = st.one_of(st.integers(-3, 5), st.sampled_from([2**60, 1000000, 1.5, 2.9, -2.7, "1", "x", "abc", True,
                                                             None, {"b": 1}, {"b": "x"}, ["x", 1], [], 1e300]))


@st.composite
def _condition(draw: Any) -> ir.Condition:
    if draw(st.integers(0, 3)) == 0:
        key = draw(st.sampled_from(KEYS))
        op = draw(st.sampled_from(("lt", "lte", "gt", "gte", "eq", "neq", "in")))
        value = draw(st.one_of(st.integers(-1, 4), st.sampled_from([1.5, 2**60, "2", [0, 1]])))
        return ir.Condition("state", (key,), op, value, "/s")
    path = draw(st.sampled_from([("a",), ("n",), ("a", "b"), ()]))
    return ir.Condition("args", path, draw(st.sampled_from(OPS)), draw(VALUES), "/c")


def _outcome(reason: str, n: int) -> ir.Outcome:
    return ir.Outcome(reason, f"rule {n}", f"message {n}", f"/o/{n}")


@st.composite
def _tool(draw: Any, name: str) -> ir.ToolProgram:
    checks = []
    for i in range(draw(st.integers(0, 3))):
        conds = tuple(draw(st.lists(_condition(), max_size=3)))
        mode = draw(st.sampled_from(("all_or_deny", "deny_if_all")))
        reason = "require" if mode == "all_or_deny" else draw(st.sampled_from(("deny_if", "require_approval")))
        denials = tuple(_outcome(reason, 10 * i + j) for j in range(max(1, len(conds)) if draw(st.booleans()) else 1))
        checks.append(ir.Check(mode, conds, denials, f"/{name}/{i}"))
    reservations = []
    for i in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(KEYS))
        amount: Any = draw(st.one_of(st.integers(-1, 3), st.sampled_from([("n",), ("a", "b"), ("a",)])))
        reservations.append(ir.Reservation(
            ("intercept", key), draw(st.sampled_from(("minute", "hour", "day"))),
            draw(st.one_of(st.none(), st.integers(-1, 4))), amount, _outcome("rate_limited", 100 + i),
            _outcome("policy_error", 200 + i) if draw(st.booleans()) else None, f"/{name}/r{i}"))
    return ir.ToolProgram(tuple(checks), tuple(reservations))


@st.composite
def _programs(draw: Any) -> ir.Program:
    names = draw(st.lists(st.sampled_from(TOOLS), unique=True, min_size=1))
    tools = {name: draw(_tool(name)) for name in names}
    hide = tuple(draw(st.lists(st.sampled_from(("x", "u")), unique=True, max_size=1)))
    release = draw(st.sampled_from([frozenset({ir.UPSTREAM_JSONRPC_ERROR}),
                                    frozenset({ir.UPSTREAM_JSONRPC_ERROR, ir.UPSTREAM_TOOL_ERROR})]))
    return ir.Program("intercept", hide, tuple(f"/hide/{i}" for i in range(len(hide))), draw(st.booleans()),
                      tools, tools.get("*", ir.EMPTY), wildcard_name="*", release_on=release, quote_names=True,
                      hide_star_first=False)


@st.composite
def _calls(draw: Any) -> list[tuple]:
    ts = parse_ts("2026-11-24T23:58:30Z")
    out = []
    for _ in range(draw(st.integers(1, 40))):
        ts += draw(st.sampled_from([0, 1, 20, 59, 61, 3599, 86400])) * NS
        args = draw(st.dictionaries(st.sampled_from(("a", "n")), ARG_VALUES, max_size=2))
        up = draw(st.sampled_from([False, False, True, "jsonrpc_error", "tool_error", "ok"]))
        out.append((ts, draw(st.sampled_from(("g1", "g2"))), draw(st.sampled_from(TOOLS)), args, up))
    return out


@COMMON
@given(_programs(), _calls())
def test_compiled_programs_decide_generated_intercept_programs_as_the_reference(program, seq):
    _agree(program, seq)


def test_a_bucket_written_with_two_window_lengths_keeps_each_rows_own_length():
    limit = ir.Condition("state", ("t.c",), "lte", 1, "/s")
    minute = ir.Reservation(("intercept", "t.c"), "minute", 2, 1, _outcome("rate_limited", 1), None, "/r1")
    day = ir.Reservation(("intercept", "t.c"), "day", 2, 1, _outcome("rate_limited", 2), None, "/r2")
    check = ir.Check("all_or_deny", (limit,), (_outcome("require", 0),), "/c")
    tools = {"t": ir.ToolProgram((check,), (minute,)), "u": ir.ToolProgram((), (day,))}
    program = ir.Program("intercept", (), (), True, tools, wildcard_name="*", quote_names=True)
    t0 = parse_ts("2026-11-24T00:00:00Z")
    seq = [(t0 + k * 30 * NS, "g", tool, {}, False) for k in range(8) for tool in ("t", "u")]
    _agree(program, seq)


# --- the two-process path --------------------------------------------------------------------

def _outcomes(result: Any) -> dict:
    ev = result.evaluator
    out: dict = {}
    for code, n in enumerate(result.tally):
        if n:
            out[(ev.tools[code], ev.decisions[code])] = out.get((ev.tools[code], ev.decisions[code]), 0) + n
    return out


def _trace_lines(seq: list[tuple], kinds: list[Any]) -> list[str]:
    import json
    from datetime import datetime, timezone

    lines = []
    for (ts, grant, tool, args, _up), kind in zip(seq, kinds):
        stamp = datetime.fromtimestamp(ts // NS, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        rec: dict = {"ts": stamp, "grant": grant, "tool": tool, "args": args}
        if kind is True:
            rec["upstream_error"] = True
        elif kind:
            rec["upstream"] = kind
            if kind != "ok":
                rec["upstream_error"] = True
        lines.append(json.dumps(rec))
    return lines


UPSTREAMS = [False, False, False, True, "ok", "jsonrpc_error", "tool_error", "no_response", "not_forwarded"]


def _same_on_every_path(program: ir.Program, path: str) -> None:
    from policyctl.simulate.run import run

    fast = run(program, path, parallel=False)
    par = run(program, path, parallel=True)
    general = run(program, path, on_call=lambda c: None)
    assert _outcomes(par) == _outcomes(fast) == _outcomes(general)
    assert vars(par.stats) == vars(fast.stats) == vars(general.stats)


@COMMON
@given(_programs(), _calls(), st.lists(st.sampled_from(UPSTREAMS), min_size=40, max_size=40))
def test_the_two_process_path_decides_generated_programs_as_one_process(tmp_path_factory, program, seq, kinds):
    path = tmp_path_factory.mktemp("par") / "t.jsonl"
    path.write_text("\n".join(_trace_lines(seq, kinds)) + "\n")
    _same_on_every_path(program, str(path))


RATE_LIMITED = '''version: "1"
default: "deny"
hide: [gone]
tools:
  t:
    rules:
      - name: "small"
        conditions: [{path: "args.n", op: "lte", value: 2}]
      - name: "per minute"
        rate_limit: "3/minute"
  u:
    rules:
      - name: "counted"
        conditions: [{path: "state.u.c", op: "lt", value: 3}]
        state: {counter: "c", window: "minute"}
  "*":
    rules:
      - name: "everything"
        rate_limit: "5/minute"
'''


def test_a_rate_limited_policy_splits_and_every_upstream_kind_keeps_its_meaning(tmp_path):
    program = _program(RATE_LIMITED)
    it = Interpreter(program)
    assert it.splits()
    rules, limits = it.stages("t")
    assert limits is not None and rules({"n": 5}) >= 0 and rules({"n": 1}) == -1
    t0 = parse_ts("2026-11-24T00:00:00Z")
    seq = [(t0 + k * 7 * NS, "g", tool, {"n": k % 4}, False) for k in range(120) for tool in ("t", "u", "gone", "v")]
    kinds = [UPSTREAMS[k % len(UPSTREAMS)] for k in range(len(seq))]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(_trace_lines(seq, kinds)) + "\n")
    _same_on_every_path(program, str(path))
    # v1.1.0 keeps a reservation on tool_error: the two-process path must not release it
    from policyctl.simulate.run import run

    assert run(program, str(path), parallel=True).by_reason() == run(program, str(path), parallel=False).by_reason()


def test_programs_that_read_arguments_after_a_counter_do_not_split():
    spend = RATE_LIMITED.replace('state: {counter: "c", window: "minute"}',
                                 'state: {counter: "c", window: "minute", increment_from: "args.n"}')
    assert not Interpreter(_program(spend)).splits()
    cross = RATE_LIMITED.replace('path: "state.u.c", op: "lt"', 'path: "state.t.x", op: "lt"')
    assert not Interpreter(_program(cross)).splits()
    assert not Interpreter(_program(RATE_LIMITED), compiled=False).splits()


@pytest.mark.parametrize("limit", [2**63 - 1, 2**62, 10])
def test_sums_beyond_int64_wrap_in_compiled_programs_as_in_the_reference(limit: int) -> None:
    # Intercept adds increment_from amounts in Go's int64: 2^62 + 2^62 wraps to -2^63, and an amount
    # beyond int64 arrives as -2^63; the compiled program must wrap exactly where the reference does.
    budget = ir.Reservation(("intercept", "t.spend"), "day", limit, ("n",), _outcome("rate_limited", 1),
                            _outcome("policy_error", 2), "/t/r0")
    fixed = ir.Reservation(("intercept", "t.calls"), "day", 2**63 - 1, 2**62, _outcome("rate_limited", 3),
                           None, "/t/r1")
    tool = ir.ToolProgram((), (budget, fixed))
    program = ir.Program("intercept", (), (), False, {"t": tool}, ir.EMPTY, wildcard_name="*",
                         release_on=frozenset({ir.UPSTREAM_JSONRPC_ERROR}), quote_names=True, hide_star_first=False)
    ts = parse_ts("2026-11-24T10:00:00Z")
    amounts = [2**62, 2**62, 1e20, -(2**62), 9.3e18, 2**62, 5]
    seq = [(ts + i * NS, "g", "t", {"n": n}, "jsonrpc_error" if i == 4 else False) for i, n in enumerate(amounts)]
    _agree(program, seq)


def test_a_small_constant_wraps_when_another_reservation_of_its_bucket_reads_an_argument() -> None:
    # t's increment_from can leave the shared counter at -2^63 or near 2^63; u's small constant must
    # then wrap in int64 too, although u alone could never leave int64's range.
    def program(t_limit: int, u_amount: int, u_limit: int) -> ir.Program:
        t = ir.ToolProgram((), (ir.Reservation(("intercept", "s.c"), "day", t_limit, ("n",),
                                               _outcome("rate_limited", 1), _outcome("policy_error", 2), "/t/r0"),))
        u = ir.ToolProgram((), (ir.Reservation(("intercept", "s.c"), "day", u_limit, u_amount,
                                               _outcome("rate_limited", 3), None, "/u/r0"),))
        return ir.Program("intercept", (), (), False, {"t": t, "u": u}, ir.EMPTY, wildcard_name="*",
                          release_on=frozenset({ir.UPSTREAM_JSONRPC_ERROR}), quote_names=True,
                          hide_star_first=False)

    ts = parse_ts("2026-11-24T10:00:00Z")
    _agree(program(10, -1, 5), [(ts, "g", "t", {"n": 1e30}, False), (ts + NS, "g", "u", {}, False)])
    _agree(program(2**63 - 1, 2000, 5), [(ts, "g", "t", {"n": float(2**63 - 1024)}, False),
                                         (ts + NS, "g", "u", {}, False)])
