"""Behavioural diff: one read of the trace, two evaluators, agreement with two simulate runs."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import given, settings

from policyctl.diff.differ import TRANSITIONS, behavior_diff, outcome
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.simulate.run import simulate
from policyctl.traces.reader import read_trace
from tests.conftest import examples
from tests.test_diff_strategies import policies, trace_lines, traces

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "diff"


def load(name: str) -> Policy:
    return Policy.from_data(json.loads((SAMPLES / name).read_text("utf-8")))


def expected_from_simulations(old: Policy, new: Policy, path: str, windows: str):
    """What the behavioural diff must report, computed from two independent simulate runs."""
    a = [d for _, d in simulate(old, read_trace(path), windows=windows)]
    b = [(c, d) for c, d in simulate(new, read_trace(path), windows=windows)]
    transitions = {t: 0 for t in TRANSITIONS}
    by_tool: dict[str, int] = {}
    changed = []
    for x, (call, y) in zip(a, b):
        if (x.allowed, x.reason, x.rule) != (y.allowed, y.reason, y.rule):
            transitions[f"{x.decision}->{y.decision}"] += 1
            by_tool[call.tool] = by_tool.get(call.tool, 0) + 1
            changed.append((call.line, call.tool, outcome(x), outcome(y)))
    return len(a), transitions, by_tool, changed


@settings(max_examples=examples(150))
@given(policies(), policies(), traces())
def test_behavior_diff_agrees_with_two_simulations(a: dict, b: dict, calls: list) -> None:
    old, new = Policy.from_data(a), Policy.from_data(b)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.jsonl")
        with open(path, "w", encoding="utf-8") as fh:
            for rec in trace_lines(calls):
                fh.write(json.dumps(rec) + "\n")
        for windows in ("fixed", "sliding"):
            n, transitions, by_tool, changed = expected_from_simulations(old, new, path, windows)
            got = behavior_diff(old, new, read_trace(path), windows=windows, max_examples=5)
            assert got.calls == n
            assert got.changed == len(changed)
            assert got.transitions == transitions
            assert got.by_tool == dict(sorted(by_tool.items()))
            assert [(e.line, e.tool, e.old, e.new) for e in got.examples] == changed[:5]


def test_sample_trace_exact_counts() -> None:
    got = behavior_diff(load("v1.policy.json"), load("v2.policy.json"), read_trace(str(SAMPLES / "trace.jsonl")))
    assert got.calls == 21
    assert got.changed == 8
    assert got.transitions == {"allow->deny": 2, "deny->allow": 5, "deny->deny": 1}
    assert got.by_tool == {"create_charge": 2, "create_refund": 2, "get_balance": 1, "run_command": 1,
                           "send_email": 2}
    assert [e.line for e in got.examples] == [3, 4, 5, 6, 7, 11, 18, 19]
    assert got.loosened


def test_examples_keep_the_first_twenty_and_counts_stay_exact(tmp_path: Path) -> None:
    old = Policy.from_data({"version": "1", "default": "deny", "tools": {"t": {}}})
    new = Policy.from_data({"version": "1", "default": "deny"})
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(json.dumps({"ts": 1795514400 + i, "tool": "t", "args": {"k": i}}) + "\n"
                             for i in range(50)), encoding="utf-8")
    got = behavior_diff(old, new, read_trace(str(trace)))
    assert got.changed == 50
    assert got.transitions == {"allow->deny": 50, "deny->allow": 0, "deny->deny": 0}
    assert [e.line for e in got.examples] == list(range(1, 21))
    assert not got.loosened


def test_the_trace_is_read_once() -> None:
    old, new = load("v1.policy.json"), load("v2.policy.json")
    consumed = []

    def once():
        for call in read_trace(str(SAMPLES / "trace.jsonl")):
            consumed.append(call.line)
            yield call

    got = behavior_diff(old, new, once())
    assert got.calls == len(consumed) == 21
    assert consumed == sorted(consumed)


def test_each_version_keeps_its_own_counters(tmp_path: Path) -> None:
    # Old allows 2 per minute, new 3: the third call flips; the fourth is denied by both for the
    # same reason only if counters are separate (a shared store would deny new's third call).
    lim = lambda m: {"version": "1", "default": "deny",  # noqa: E731
                     "tools": {"t": {"limits": [{"counter": "c", "window": "minute", "max": m, "scope": "grant"}]}}}
    trace = tmp_path / "t.jsonl"
    trace.write_text("".join(json.dumps({"ts": "2026-11-24T10:00:0%dZ" % i, "tool": "t"}) + "\n" for i in range(4)),
                     encoding="utf-8")
    got = behavior_diff(Policy.from_data(lim(2)), Policy.from_data(lim(3)), read_trace(str(trace)))
    assert got.changed == 1
    assert [(e.line, e.transition) for e in got.examples] == [(3, "deny->allow")]


@settings(max_examples=examples(100))
@given(policies(), policies(), traces())
def test_reading_the_file_directly_gives_the_same_diff(a: dict, b: dict, calls: list) -> None:
    from policyctl.diff.differ import behavior_diff_trace

    old, new = Policy.from_data(a), Policy.from_data(b)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.jsonl")
        with open(path, "w", encoding="utf-8") as fh:
            for i, rec in enumerate(trace_lines(calls)):
                if i % 3 == 0:
                    rec["id"] = f"c{i}"
                fh.write(json.dumps(rec) + "\n")
        assert behavior_diff_trace(old, new, path) == behavior_diff(old, new, read_trace(path))
