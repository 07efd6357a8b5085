"""The simulator: its fast loop agrees with the general loop and with the public simulate() API on
any trace (good, odd and bad lines mixed), expectations are checked as SPEC §3 says, and the
samples shipped in samples/traces pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyctl.engine.evaluator import Decision, Evaluator
from policyctl.errors import InputError
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.policy.load import load_policy
from policyctl.simulate import run as run_module
from policyctl.simulate.run import expectation_ok, run, simulate
from policyctl.traces.reader import TraceStats, read_trace
from tests.conftest import examples
from tests.test_engine_properties import args_strategy, policies

REPO = Path(__file__).resolve().parent.parent
SAMPLES = [
    ("sncro-session.jsonl", "sncro.policy.json", 10),
    ("end-session-loop.jsonl", "sncro.policy.json", 16),
    ("refund-above-threshold.jsonl", "payments.policy.yaml", 10),
    ("shell-smuggling.jsonl", "shell-exec.policy.json", 9),
]


@pytest.mark.parametrize("trace, policy, checked", SAMPLES)
def test_samples_pass_their_expectations(trace, policy, checked):
    loaded = load_policy(str(REPO / "samples" / policy))
    result = run(loaded.policy, str(REPO / "samples" / "traces" / trace))
    assert (result.checked, result.failed) == (checked, 0), result.failures
    assert result.stats.invalid_lines == 0 and result.stats.backwards == 0


def test_end_session_loop_sample_is_rate_limited_then_recovers():
    loaded = load_policy(str(REPO / "samples" / "sncro.policy.json"))
    path = str(REPO / "samples" / "traces" / "end-session-loop.jsonl")
    decisions = [(c.line, d.reason) for c, d in simulate(loaded.policy, read_trace(path))]
    assert [r for _, r in decisions].count("rate_limited") == 3
    assert decisions[-1] == (18, "allowed")  # 10:17:00.000Z: a new calendar minute
    # a sliding window still holds the ten calls of the last 60 s at 10:17:00.000
    sliding = [d.reason for _, d in simulate(loaded.policy, read_trace(path), windows="sliding")]
    assert sliding[-1] == "rate_limited"


_RECORD_FIELDS = [
    ("upstream", 3, ['"ok"', '"tool_error"', '"jsonrpc_error"', '"no_response"', '"not_forwarded"', '"weird"', "null", "3"]),
    ("server", 4, ['"sncro"', "null", "1"]),
    ("executed", 6, ["false", "true", '"no"']),
    ("observed", 6, ['"denied"', "[]"]),
    ("shadow", 6, ['{"decision": "allow"}', '"allow"']),
]


def line_strategy() -> st.SearchStrategy[str]:
    ts = st.one_of(st.integers(1795514400, 1795514400 + 300).map(str),
                   st.integers(0, 299_999).map(lambda ms: json.dumps(
                       "2026-11-24T10:%02d:%02d.%03dZ" % (ms // 60000, ms // 1000 % 60, ms % 1000))),
                   st.sampled_from(['"2026-11-24T10:00:00+00:00"', '"2026-11-24T10:00:00"', "true"]))
    tool = st.sampled_from(['"a"', '"b"', '"all_tools"', '"x/y"', '"zz"', "5"])
    grant = st.sampled_from(['"g1"', '"g2"', "null", "7"])
    expect = st.sampled_from(['"allow"', '"deny"', '"rate_limited"', '"require"', '"maybe"'])

    @st.composite
    def plain(draw):
        parts = [f'"ts": {draw(ts)}', f'"tool": {draw(tool)}']
        if draw(st.booleans()):
            parts.append(f'"args": {json.dumps(draw(args_strategy))}')
        if draw(st.booleans()):
            parts.append(f'"grant": {draw(grant)}')
        if draw(st.integers(0, 4)) == 0:
            parts.append(f'"upstream_error": {draw(st.sampled_from(["true", "false", "1"]))}')
        if draw(st.integers(0, 3)) == 0:
            parts.append(f'"expect": {draw(expect)}')
        if draw(st.integers(0, 5)) == 0:
            parts.append('"expect_rule": "(default deny)"')
        if draw(st.integers(0, 4)) == 0:
            parts.append('"id": "c"')
        for key, odds, values in _RECORD_FIELDS:  # the fields record and import write (SPEC §3)
            if draw(st.integers(0, odds)) == 0:
                parts.append(f'"{key}": {draw(st.sampled_from(values))}')
        draw(st.randoms()).shuffle(parts)
        return "{" + ", ".join(parts) + "}"

    @st.composite
    def mcp(draw):
        method = draw(st.sampled_from(["tools/call", "tools/call", "ping"]))
        params = {"name": draw(st.sampled_from(["a", "b", "zz"])), "arguments": draw(args_strategy)}
        extra = ', "expect": "allow"' if draw(st.booleans()) else ""
        return (f'{{"ts": {draw(ts)}, "grant": {draw(grant)}, "message": '
                f'{json.dumps({"jsonrpc": "2.0", "id": 3, "method": method, "params": params})}{extra}}}')

    return st.one_of(plain(), plain(), mcp(), st.sampled_from(["", "   ", "{bad", "[]", '{"tool": "a"}']))


def _outcomes(result) -> dict:
    ev = result.evaluator
    out: dict = {}
    for code, n in enumerate(result.tally):
        if n:
            key = (ev.tools[code], ev.decisions[code])
            out[key] = out.get(key, 0) + n
    return out


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(policies(), st.lists(line_strategy(), max_size=30), st.sampled_from(["fixed", "sliding"]))
def test_fast_loop_general_loop_and_simulate_agree(tmp_path, policy, lines, windows):
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n")
    fast = run(policy, str(path), windows=windows, skip_invalid=True, parallel=False)
    # the fast loop reading common lines with policyctl.traces.plain from the first line on
    saved, run_module.PLAIN_AFTER_LINES = run_module.PLAIN_AFTER_LINES, 0
    try:
        plain = run(policy, str(path), windows=windows, skip_invalid=True, parallel=False)
    finally:
        run_module.PLAIN_AFTER_LINES = saved
    assert plain.tally == fast.tally
    assert (plain.checked, plain.failed, plain.failures) == (fast.checked, fast.failed, fast.failures)
    assert vars(plain.stats) == vars(fast.stats)
    # the two-process path (forced on this small file) must give exactly the same result
    par = run(policy, str(path), windows=windows, skip_invalid=True, parallel=True)
    assert _outcomes(par) == _outcomes(fast)  # codes may be numbered differently: compare what they mean
    assert (par.checked, par.failed, par.failures) == (fast.checked, fast.failed, fast.failures)
    assert vars(par.stats) == vars(fast.stats)
    seen = []
    general = run(policy, str(path), windows=windows, skip_invalid=True, on_call=seen.append)
    n = len(fast.tally)
    assert fast.tally[:n] == general.tally[:n] and not any(general.tally[n:])
    assert (fast.checked, fast.failed, fast.failures) == (general.checked, general.failed, general.failures)
    assert vars(fast.stats) == vars(general.stats)
    stats = TraceStats()
    pairs = list(simulate(policy, read_trace(str(path), skip_invalid=True, stats=stats), windows=windows))
    assert [d for _, d in pairs] == [c.decision for c in seen]
    assert [c.line for c, _ in pairs] == [c.line for c in seen]
    assert vars(stats) == vars(general.stats)
    # without --skip-invalid both loops stop at the same bad line with the same message
    if fast.stats.invalid_lines:
        errors = []
        for kw in ({"parallel": False}, {"on_call": lambda c: None}, {"parallel": True}):
            with pytest.raises(InputError) as exc:
                run(policy, str(path), windows=windows, **kw)
            errors.append(exc.value.message)
        assert errors[0] == errors[1] == errors[2] == general.stats.invalid_messages[0]


@pytest.mark.parametrize("expect, rule, want", [
    ("allow", None, False), ("deny", None, True), ("rate_limited", None, True), ("require", None, False),
    (None, "/tools/t/limits/c", True), (None, "/tools/t/limits/other", False),
    ("deny", "/tools/t/limits/c", True), ("rate_limited", "/x", False), (None, None, True),
])
def test_expectations(expect, rule, want):
    d = Decision(False, "rate_limited", "/tools/t/limits/c", "m")
    assert expectation_ok(d, expect, rule) is want


def test_run_summary_counts(tmp_path):
    policy = Policy.from_data({"version": "1", "default": "deny", "hide": ["h"], "tools": {
        "t": {"limits": [{"counter": "c", "window": "minute", "max": 1, "scope": "grant"}]}}})
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join([
        '{"ts": 1795514400, "tool": "t", "expect": "allow"}',
        '{"ts": 1795514401, "tool": "t", "expect": "allow", "id": 9}',
        '{"ts": 1795514402, "tool": "h", "expect": "hidden"}',
        '{"ts": 1795514403, "tool": "u"}',
        '{"ts": 1795514404, "message": {"method": "ping"}}',
    ]))
    r = run(policy, str(path))
    assert r.calls == 4 and r.allowed == 1 and r.denied == 3
    assert r.by_reason() == {"allowed": 1, "hidden": 1, "default_deny": 1, "require": 0, "deny_if": 0,
                             "rate_limited": 1}
    assert r.by_tool()["t"] == {"calls": 2, "allowed": 1, "hidden": 0, "default_deny": 0, "require": 0,
                                "deny_if": 0, "rate_limited": 1}
    assert (r.checked, r.failed) == (3, 1)
    f = r.failures[0]
    assert (f.line, f.id, f.expect, f.decision.reason) == (2, 9, "allow", "rate_limited")
    assert r.stats.non_tool_messages == 1


@pytest.mark.parametrize("kw", [{"parallel": False}, {"parallel": True}, {"on_call": lambda c: None}])
def test_null_expectations_state_nothing(tmp_path, kw):
    policy = Policy.from_data({"version": "1", "default": "deny"})
    path = tmp_path / "t.jsonl"
    path.write_text('{"ts": 1795514400, "tool": "t", "expect": null}\n'
                    '{"ts": 1795514401, "tool": "t", "expect_rule": null, "expect": null}\n'
                    '{"ts": 1795514402, "tool": "t", "expect": "deny", "expect_rule": null}\n')
    r = run(policy, str(path), **kw)
    assert (r.checked, r.failed, r.calls) == (1, 0, 3)
    seen = []
    run(policy, str(path), on_call=seen.append)
    assert [c.ok for c in seen] == [None, None, True]


def test_simulate_accepts_calls_without_ts_ns(tmp_path):
    from policyctl.traces.reader import TraceCall

    policy = Policy.from_data({"version": "1", "default": "allow", "all_tools": {
        "limits": [{"counter": "c", "window": "minute", "max": 1, "scope": "grant"}]}})
    calls = [TraceCall(i, 1795514400.5 + i, None, "g", "t", {}, None, False, None, None) for i in range(2)]
    assert [d.reason for _, d in simulate(policy, calls)] == ["allowed", "rate_limited"]


def test_evaluator_rejects_unknown_window_mode():
    with pytest.raises(ValueError):
        Evaluator(Policy.from_data({"version": "1", "default": "allow"}), windows="rolling")


@pytest.mark.parametrize("first, second", [('"upstream": "tool_error"', "allowed"), ('"upstream": "jsonrpc_error"', "allowed"),
                                           ('"upstream": "ok"', "rate_limited"), ('"upstream": "no_response"', "rate_limited")])
def test_upstream_tool_or_jsonrpc_error_gives_the_reservation_back(tmp_path, first, second):
    from policyctl.policy.dialects.policylayer.model import Policy

    policy = Policy.from_data({"version": "1", "default": "deny", "tools": {"t": {"limits": [
        {"counter": "c", "window": "minute", "max": 1, "scope": "grant"}]}}})
    path = tmp_path / "t.jsonl"
    path.write_text(f'{{"ts": 1795514400, "grant": "g", "tool": "t", "args": {{}}, {first}}}\n'
                    '{"ts": 1795514401, "grant": "g", "tool": "t", "args": {}}\n')
    for kw in ({"parallel": False}, {"on_call": lambda c: None}, {"parallel": True}):
        result = run(policy, str(path), **kw)
        assert result.by_reason()["allowed"] == (2 if second == "allowed" else 1), kw
