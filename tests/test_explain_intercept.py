"""explain and simulate --coverage on an Intercept policy: the step walker of the dialect-neutral
program (policyctl.engine.walk) against the interpreter, and the commands' outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given

from policyctl.engine.interpret import Interpreter
from policyctl.engine.walk import walk_call
from policyctl.policy.dialects.policylayer.lower import lower
from policyctl.traces.reader import parse_ts
from tests.conftest import SAMPLES, run_cli
from tests.test_engine_properties import COMMON, calls, policies
from tests.test_ir import CALL_CASES, _program

POLICY = str(SAMPLES / "intercept" / "payments.policy.yaml")
TRACE = str(SAMPLES / "traces" / "intercept-payments.jsonl")


def _upstream(call: dict) -> object:
    up = call.get("upstream", "ok")
    return False if up == "ok" else up


@pytest.mark.parametrize("case", CALL_CASES, ids=lambda c: c["name"][:60])
def test_walker_decides_every_conformance_call_as_the_interpreter(case):
    program = _program(case["policy"])
    fast, walked = Interpreter(program), Interpreter(program)
    for k, call in enumerate(case["calls"]):
        ts, args = parse_ts(call["ts"]), call.get("args") or {}
        want = fast.evaluate_ns(ts, "default", call["tool"], args, upstream_error=_upstream(call))
        ex = walk_call(walked, ts, "default", call["tool"], args, upstream_error=_upstream(call))
        assert ex.decision == want, (k, call)
        # the same counters afterwards: the next call sees the same state
        assert {k2: v[:2] for k2, v in walked.store.rows.items()} == {k2: v[:2] for k2, v in fast.store.rows.items()}


@COMMON
@given(policies(), calls(monotone=False))
def test_walker_decides_lowered_policylayer_programs_as_the_interpreter(policy, seq):
    program = lower(policy)
    fast, walked = Interpreter(program), Interpreter(program)
    for ts, grant, tool, args, up in seq:
        code = fast.program(tool)(fast.tick(ts), grant, args, up)
        ex = walk_call(walked, ts, grant, tool, args, upstream_error=up)
        assert (ex.decision, ex.origin) == (fast.decisions[code], fast.origins[code]), (ts, grant, tool, args, up)


def test_explain_text_shows_counter_amounts_and_the_deciding_rule():
    r = run_cli("explain", "--policy", POLICY, "--trace", TRACE, "--line", "7")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert '"daily charge budget" (evaluate)' in out
    assert "state.create_charge.daily_amount lte 500000: value 500000 -> true" in out
    assert "create_charge.daily_amount (rule \"daily charge budget\", per day): 500000 + 1 = 500001 > 500000: denied" in out
    assert "_global._rate_minute (rule \"global rate limit\", per minute): not reached" in out
    assert "decision: deny (rate_limited)  rule daily charge budget" in out
    assert "message: Daily charge budget (5,000.00) reached." in out
    assert out.rstrip().endswith("(/tools/create_charge/rules/1/state)")


def test_explain_text_release_after_a_jsonrpc_error():
    r = run_cli("explain", "--policy", POLICY, "--trace", TRACE, "--line", "5")
    assert r.returncode == 0, r.stderr
    assert ("300000 + 150000 = 450000 <= 500000: reserved, then released: back to 300000") in r.stdout
    assert "upstream answered jsonrpc_error: the call's reservations were released" in r.stdout
    assert "decision: allow (allowed)" in r.stdout


def test_explain_json_for_an_unreadable_increment():
    r = run_cli("explain", "--policy", POLICY, "--trace", TRACE, "--line", "9", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["dialect"] == "intercept"
    assert data["decision"] == {"decision": "deny", "reason": "policy_error", "rule": "daily charge budget",
                                "message": "Internal policy error"}
    assert data["decided_by"]["pointer"] == "/tools/create_charge/rules/1/state/increment_from"
    assert [r["name"] for r in data["steps"]["rules"]] == ["currencies we settle in", "daily charge budget",
                                                           "global rate limit"]
    assert [(s["counter"], s["outcome"], s["rule"]) for s in data["steps"]["limits"]] == [
        ("create_charge.daily_amount", "bad amount", "daily charge budget"),
        ("_global._rate_minute", "not reached", "global rate limit")]


def test_explain_a_call_given_directly_starts_from_empty_counters():
    call = json.dumps({"tool": "create_charge", "args": {"amount": 600000, "currency": "usd", "customer": "c"}})
    r = run_cli("explain", "--policy", POLICY, "--call", call, "--at", "2026-12-03T10:00:00Z")
    assert r.returncode == 0, r.stderr
    assert "0 + 600000 = 600000 > 500000: denied" in r.stdout
    assert "decision: deny (rate_limited)" in r.stdout


def test_explain_refuses_sliding_windows_for_intercept():
    r = run_cli("explain", "--policy", POLICY, "--trace", TRACE, "--line", "1", "--windows", "sliding")
    assert r.returncode == 2
    assert "fixed calendar windows only" in r.stderr
    assert r.stdout == ""


def test_simulate_coverage_of_an_intercept_policy():
    plain = run_cli("simulate", TRACE, "--policy", POLICY, "--format", "json")
    covered = run_cli("simulate", TRACE, "--policy", POLICY, "--format", "json", "--coverage")
    assert plain.returncode == covered.returncode == 0, covered.stderr
    a, b = json.loads(plain.stdout), json.loads(covered.stdout)
    assert b.pop("coverage") and a.get("coverage") is None
    assert a == b  # walking the program decides exactly as the interpreter
    cov = json.loads(covered.stdout)["coverage"]
    assert (cov["covered"], cov["total"]) == (16, 25)
    items = {(i["kind"], i["pointer"]): i for i in cov["items"]}
    assert items[("tool", "/tools/retrieve_charge")]["missing"] == ["called"]
    assert items[("hide", "/hide/0")]["hidden"] == 1 and items[("hide", "/hide/0")]["missing"] == []
    budget = items[("limit", "/tools/create_charge/rules/1/state")]
    assert (budget["checked"], budget["reached"], budget["missing"]) == (6, 2, [])
    state_cond = items[("condition", "/tools/create_charge/rules/1/conditions/0")]
    assert (state_cond["true"], state_cond["false"]) == (6, 0)
    assert items[("rule", "/tools/create_payout/rules/0")]["fired"] == 1
    # the "*" tool is not a tool one calls: its rules count, it does not
    assert ("tool", "/tools/*") not in items


def test_simulate_min_coverage_fails_an_intercept_run_below_it(tmp_path: Path):
    r = run_cli("simulate", TRACE, "--policy", POLICY, "--min-coverage", "80")
    assert r.returncode == 1
    assert "coverage 64% is below --min-coverage 80%" in r.stderr


def test_rollback_on_any_releases_on_a_tool_error(tmp_path: Path):
    policy = tmp_path / "p.policy.yaml"
    policy.write_text('version: "1"\ntools:\n  t:\n    rules:\n      - name: once\n        rate_limit: 1/minute\n')
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"ts": "2026-12-03T10:00:00Z", "tool": "t", "upstream": "tool_error", "upstream_error": true}\n'
                     '{"ts": "2026-12-03T10:00:01Z", "tool": "t"}\n')
    seen = {}
    for mode in ("jsonrpc_error", "any"):
        r = run_cli("simulate", str(trace), "--policy", str(policy), "--format", "jsonl", "--rollback-on", mode)
        assert r.returncode == 0, r.stderr
        seen[mode] = [json.loads(x)["decision"] for x in r.stdout.splitlines()]
    assert seen == {"jsonrpc_error": ["allow", "deny"], "any": ["allow", "allow"]}
    r = run_cli("explain", "--policy", str(policy), "--trace", str(trace), "--line", "1", "--rollback-on", "any")
    assert "0 + 1 = 1 <= 1: reserved, then released: back to 0" in r.stdout
    assert "upstream answered tool_error: the call's reservations were released" in r.stdout
    r = run_cli("simulate", str(trace), "--policy", str(policy), "--rollback-on", "sometimes")
    assert r.returncode == 2 and "--rollback-on" in r.stderr and r.stdout == ""
