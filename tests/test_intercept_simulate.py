"""`policyctl simulate` on Intercept policies, end to end through the CLI."""

from __future__ import annotations

import json

from tests.conftest import run_cli

POLICY = "samples/intercept/payments.policy.yaml"
TRACE = "samples/traces/intercept-payments.jsonl"


def test_sample_trace_meets_every_expectation():
    r = run_cli("simulate", TRACE, "--policy", POLICY, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["expectations"] == {"checked": 13, "failed": 0}
    assert data["by_reason"] == {"allowed": 6, "hidden": 1, "default_deny": 1, "require": 2, "deny_if": 1,
                                 "rate_limited": 1, "require_approval": 0, "policy_error": 1}


def test_decisions_carry_intercepts_rule_names_and_messages():
    r = run_cli("simulate", TRACE, "--policy", POLICY, "--format", "jsonl")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    by_line = {row["line"]: (row["decision"], row["reason"], row["rule"], row["message"]) for row in rows}
    assert by_line[3] == ("deny", "require", "refunds up to 100.00", "Refunds above 100.00 need a person.")
    # the charge answered with a JSON-RPC error gave its 1,500.00 back: 3,000 + 2,000 fit the 5,000 budget
    assert by_line[6][0] == "allow"
    assert by_line[7] == ("deny", "rate_limited", "daily charge budget", "Daily charge budget (5,000.00) reached.")
    assert by_line[9] == ("deny", "policy_error", "daily charge budget", "Internal policy error")
    assert by_line[11] == ("deny", "hidden", "(hidden)", 'Tool "delete_customer" is hidden by policy')
    assert by_line[13][0] == "allow"  # a new UTC day: the daily counter starts again


def test_an_invalid_intercept_policy_is_refused_with_intercepts_messages(tmp_path):
    policy = tmp_path / "bad.policy.yaml"
    policy.write_text('version: "1"\ntools:\n  t:\n    rules:\n      - name: r\n        rate_limit: 5/fortnight\n'
                      "        conditons: []\n")
    r = run_cli("simulate", TRACE, "--policy", str(policy))
    assert r.returncode == 2
    assert 'error[PL501] tools.t.rules[0]: rate_limit window must be "minute", "hour", or "day", got "fortnight"' in r.stderr
    assert 'error[PL502] unknown key "conditons"' in r.stderr


def test_what_is_not_built_for_intercept_yet_is_refused_cleanly():
    for args in (["simulate", TRACE, "--policy", POLICY, "--windows", "sliding"],
                 ["diff", POLICY, POLICY, "--trace", TRACE, "--windows", "sliding"]):
        r = run_cli(*args)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr, args


def test_a_tool_error_keeps_intercepts_reservation_but_a_jsonrpc_error_gives_it_back(tmp_path):
    policy = tmp_path / "p.policy.yaml"
    policy.write_text('version: "1"\ntools:\n  t:\n    rules:\n      - name: once\n        rate_limit: 1/minute\n')
    for kind, second in (("tool_error", "deny"), ("jsonrpc_error", "allow"), ("no_response", "deny")):
        trace = tmp_path / f"{kind}.jsonl"
        trace.write_text(f'{{"ts": "2026-12-03T10:00:00Z", "tool": "t", "upstream": "{kind}", "upstream_error": true}}\n'
                         '{"ts": "2026-12-03T10:00:01Z", "tool": "t"}\n')
        r = run_cli("simulate", str(trace), "--policy", str(policy), "--format", "jsonl")
        assert [json.loads(x)["decision"] for x in r.stdout.splitlines()] == ["allow", second], kind
