"""`simulate --coverage`: which tools, hide entries, rules, condition outcomes and limits a trace
exercised; --min-coverage as a gate."""

from __future__ import annotations

import json

from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.simulate.run import run
from tests.conftest import run_cli

POLICY = {
    "version": "1", "default": "deny", "hide": ["drop"],
    "all_tools": {"limits": [{"counter": "all", "window": "minute", "max": 3, "scope": "grant"}]},
    "tools": {
        "t": {
            "require": [{"conditions": [{"path": "args.a", "op": "exists", "value": True},
                                        {"path": "args.b", "op": "eq", "value": 1}]}],
            "deny_if": [{"conditions": [{"path": "args.a", "op": "gt", "value": 5}], "on_deny": "big"}],
            "limits": [{"counter": "t", "window": "hour", "max": 1, "scope": "grant"}],
        },
        "u": {},
    },
}


def trace(tmp_path, lines):
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return str(p)


def by_pointer(report):
    return {e.pointer: e for e in report.entries}


def test_nothing_exercised(tmp_path):
    r = run(Policy.from_data(POLICY), trace(tmp_path, [{"ts": 0, "tool": "zzz"}]), coverage=True)
    cov = r.coverage
    assert cov.covered == 0 and cov.total == 1 + 2 + 2 + 2 * 3 + 2 and cov.percent == 0.0
    items = by_pointer(cov)
    assert items["/tools/t/require/0/conditions/0"].missing == ("true", "false")
    assert items["/all_tools/limits/0"].counts == {"checked": 0, "reached": 0}


def test_short_circuit_and_counts(tmp_path):
    calls = [
        {"ts": 0, "tool": "t", "args": {}},  # require fails at condition 0: condition 1 not evaluated
        {"ts": 1, "tool": "t", "args": {"a": 9, "b": 1}},  # require holds, deny_if fires
        {"ts": 2, "tool": "t", "args": {"a": 1, "b": 1}},  # allowed: both limits checked
        {"ts": 3, "tool": "t", "args": {"a": 1, "b": 1}},  # tool limit reached (1/hour)
        {"ts": 4, "tool": "drop"},
        {"ts": 5, "tool": "u"}, {"ts": 6, "tool": "u"}, {"ts": 7, "tool": "u"},  # 3rd u: all_tools full
    ]
    r = run(Policy.from_data(POLICY), trace(tmp_path, calls), coverage=True)
    items = by_pointer(r.coverage)
    assert items["/tools/t"].counts == {"calls": 4}
    assert items["/hide/0"].missing == ()
    assert items["/tools/t/require/0"].counts == {"evaluated": 4, "fired": 1}
    assert items["/tools/t/require/0/conditions/0"].counts == {"true": 3, "false": 1}
    assert items["/tools/t/require/0/conditions/1"].counts == {"true": 3, "false": 0}
    assert items["/tools/t/require/0/conditions/1"].missing == ("false",)
    assert items["/tools/t/deny_if/0"].counts == {"evaluated": 3, "fired": 1}
    assert items["/tools/t/limits/0"].counts == {"checked": 2, "reached": 1}
    assert items["/all_tools/limits/0"].counts == {"checked": 4, "reached": 1}
    assert [e.pointer for e in r.coverage.uncovered()] == ["/tools/t/require/0/conditions/1"]
    assert r.coverage.percent == round(100 * 12 / 13, 1)


def test_min_coverage_gate_and_json_shape(tmp_path):
    p = tmp_path / "p.policy.json"
    p.write_text(json.dumps(POLICY))
    t = trace(tmp_path, [{"ts": 0, "tool": "u", "expect": "allow"}])
    r = run_cli("simulate", t, "--policy", str(p), "--format", "json", "--min-coverage", "10")
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data["coverage"]["covered"] == 1 and data["coverage"]["total"] == 13
    assert data["expectations"] == {"checked": 1, "failed": 0}
    assert r.stderr.splitlines()[-1] == "coverage 7.7% is below --min-coverage 10%"
    r = run_cli("simulate", t, "--policy", str(p), "--format", "json", "--min-coverage", "5")
    assert r.returncode == 0


def test_empty_policy_is_fully_covered(tmp_path):
    r = run(Policy.from_data({"version": "1", "default": "allow"}), trace(tmp_path, [{"ts": 0, "tool": "x"}]),
            coverage=True)
    assert r.coverage.percent == 100.0 and r.coverage.total == 0
