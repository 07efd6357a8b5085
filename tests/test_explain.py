"""`policyctl explain`: every step of one call, counters replayed from the trace, positions of the
deciding rule in the policy, argument values only with --show-args."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policyctl.engine.explain import explain_trace_line
from policyctl.engine.interpret import Interpreter
from policyctl.policy.load import load_policy
from policyctl.simulate.run import simulate
from policyctl.traces.reader import read_trace
from tests.conftest import REPO, assert_golden, run_cli

GOLDEN = Path(__file__).resolve().parent / "golden" / "explain"
LOOP = "samples/traces/end-session-loop.jsonl"
SNCRO = "samples/sncro.policy.json"
PAYMENTS = "samples/payments.policy.yaml"

CASES = {
    "loop-line-16-text": ["explain", "--policy", SNCRO, "--trace", LOOP, "--line", "16"],
    "loop-line-5-upstream-error": ["explain", "--policy", SNCRO, "--trace", LOOP, "--line", "5"],
    "loop-line-16-json": ["explain", "--policy", SNCRO, "--trace", LOOP, "--line", "16", "--format", "json"],
    "refund-call-text": ["explain", "--policy", PAYMENTS, "--call",
                         '{"tool": "create_refund", "args": {"amount": 48000, "charge": "ch_9"}, "grant": "g"}',
                         "--at", "2026-11-24T14:03:40Z"],
    "refund-call-show-args": ["explain", "--policy", PAYMENTS, "--call",
                              '{"tool": "create_refund", "args": {"amount": 48000, "charge": "ch_9"}}',
                              "--at", "1795578220", "--show-args"],
    "charge-require-json": ["explain", "--policy", PAYMENTS, "--format", "json", "--call",
                            '{"ts": "2026-11-24T14:06:00Z", "tool": "create_charge", '
                            '"args": {"customer": "cus_1", "amount": 1999, "currency": "jpy"}}'],
    "hidden-text": ["explain", "--policy", PAYMENTS, "--call", '{"tool": "delete_customer"}', "--at", "0"],
    "default-deny-text": ["explain", "--policy", SNCRO, "--call", '{"tool": "run_javascript"}', "--at", "0"],
    "shell-deny-if-text": ["explain", "--policy", "samples/shell-exec.policy.json", "--trace",
                           "samples/traces/shell-smuggling.jsonl", "--line", "5"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    r = run_cli(*CASES[name])
    got = f"exit: {r.returncode}\n--- stdout\n{r.stdout}--- stderr\n{r.stderr}"
    assert_golden(GOLDEN / f"{name}.txt", got)


def _stdout(name: str) -> str:
    return (GOLDEN / f"{name}.txt").read_text().split("--- stdout\n")[1].split("--- stderr")[0]


def test_golden_facts():
    text = _stdout("loop-line-16-text")
    assert "counters: replayed 13 earlier calls of the trace" in text
    assert "/tools/end_session/limits/end_session_rate: 10 per minute: 10 -> 10 (full: rate limited" in text
    assert "resets 2026-11-24T10:17:00Z" in text
    assert "decided by: samples/sncro.policy.json:25:9 (/tools/end_session/limits/0)" in text
    assert "k-77d0" not in text and "sec-ee41" not in text
    assert "2 -> 3 (reserved, then released: back to 2" in _stdout("loop-line-5-upstream-error")
    data = json.loads(_stdout("loop-line-16-json"))
    assert data["decision"] == {"decision": "deny", "reason": "rate_limited",
                                "rule": "/tools/end_session/limits/end_session_rate",
                                "message": 'Rate limit of 10 per minute reached (counter "end_session_rate")'}
    assert data["decided_by"] == {"pointer": "/tools/end_session/limits/0", "file": SNCRO, "line": 25, "column": 9}
    assert data["steps"]["limits"][0]["before"] == 10 and data["call"]["id"] == 14
    refund = _stdout("refund-call-text")
    assert "args.amount gt 10000: value <number> -> true" in refund
    assert "decided by: samples/payments.policy.yaml:61:9 (/tools/create_refund/deny_if/0)" in refund
    assert "48000" not in refund and "ch_9" not in refund
    assert "value 48000 -> true" in _stdout("refund-call-show-args")
    charge = json.loads(_stdout("charge-require-json"))
    conds = [c for r in charge["steps"]["rules"] for c in r["conditions"]]
    assert [c["result"] for c in conds] == [True, False]
    assert conds[1]["actual_type"] == "string" and "actual" not in conds[1]
    assert charge["decision"]["rule"] == "/tools/create_charge/require/args.currency-in"
    assert "hidden: yes, by /hide/1" in _stdout("hidden-text")
    assert 'listed: no, and default is "deny"' in _stdout("default-deny-text")


@pytest.mark.parametrize("trace, policy", [
    ("samples/traces/end-session-loop.jsonl", SNCRO), ("samples/traces/sncro-session.jsonl", SNCRO),
    ("samples/traces/refund-above-threshold.jsonl", PAYMENTS),
    ("samples/traces/shell-smuggling.jsonl", "samples/shell-exec.policy.json"),
])
def test_explaining_any_line_gives_the_simulators_decision(trace, policy):
    loaded = load_policy(str(REPO / policy))
    path = str(REPO / trace)
    for call, decision in simulate(loaded.policy, read_trace(path)):
        ex, _ = explain_trace_line(Interpreter(loaded.lowered), path, call.line, False)
        assert ex.decision == decision, call.line


@pytest.mark.parametrize("args, fragment", [
    (["--trace", LOOP], "--trace needs --line N"),
    (["--trace", LOOP, "--line", "1"], ".jsonl:1: not a tool call"),
    (["--trace", LOOP, "--line", "99"], "has only 19 lines, no line 99"),
    (["--trace", LOOP, "--line", "0"], "--line: must be 1 or more"),
    (["--line", "3"], "give either --trace FILE --line N, or --call JSON"),
    (["--call", "{nope"], "--call: not valid JSON"),
    (["--call", '{"tool": "t"}'], "--call needs a time"),
    (["--call", '{"tool": "t"}', "--at", "2026-11-24T10:00:00"], "--at: \"ts\" has no timezone"),
    (["--call", '{"tool": 5}', "--at", "0"], '--call: "tool" must be a string'),
    (["--call", '{"tool": "t"}', "--at", "0", "--trace", LOOP], "give either"),
    (["--trace", LOOP, "--line", "3", "--at", "0"], "--at only applies with --call"),
])
def test_usage_errors(args, fragment):
    r = run_cli("explain", "--policy", SNCRO, *args)
    assert r.returncode == 2 and fragment in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_output_never_overwrites_the_policy_or_the_trace(tmp_path):
    policy = tmp_path / "p.policy.json"
    policy.write_text((REPO / SNCRO).read_text())
    trace = tmp_path / "t.jsonl"
    trace.write_text((REPO / LOOP).read_text())
    (tmp_path / "link.json").symlink_to(policy)
    for target in (policy, trace, tmp_path / "link.json"):
        r = run_cli("explain", "--policy", str(policy), "--trace", str(trace), "--line", "1", "--output", str(target))
        assert r.returncode == 2 and "refusing to overwrite an input" in r.stderr, r.stderr
    assert policy.read_text() == (REPO / SNCRO).read_text() and trace.read_text() == (REPO / LOOP).read_text()
    out = tmp_path / "why.txt"
    r = run_cli("explain", "--policy", str(policy), "--trace", str(trace), "--line", "3", "--output", str(out))
    assert r.returncode == 0 and out.read_text().startswith("policyctl explain:")


def test_a_line_that_goes_back_in_time_is_explained_at_the_newest_time(tmp_path):
    t = tmp_path / "back.jsonl"
    t.write_text('{"ts": "2026-11-24T10:00:10Z", "tool": "end_session"}\n'
                 '{"ts": "2026-11-24T10:00:05Z", "tool": "end_session"}\n')
    r = run_cli("explain", "--policy", SNCRO, "--trace", str(t), "--line", "2", "--format", "json")
    data = json.loads(r.stdout)
    assert data["call"]["ts"] == "2026-11-24T10:00:05Z" and data["evaluated_at"] == "2026-11-24T10:00:10Z"
    r = run_cli("explain", "--policy", SNCRO, "--trace", str(t), "--line", "2")
    assert "evaluated at 2026-11-24T10:00:10Z: the trace went back in time" in r.stdout


def test_sliding_windows_are_explained_through_the_program():
    """Line 16 of the loop under --windows sliding: ten end_session calls in the minute before
    10:16:59.999 fill the counter; a slot frees when the oldest (10:16:04.250) leaves the window."""
    proc = run_cli("explain", "--trace", str(REPO / "samples/traces/end-session-loop.jsonl"), "--line", "16",
                   "--policy", str(REPO / "samples/sncro.policy.json"), "--windows", "sliding", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    [limit] = out["steps"]["limits"]
    assert (limit["location"], limit["counter"], limit["max"], limit["before"], limit["after"]) == \
        ("/tools/end_session", "end_session_rate", 10, 10, 10)
    assert (limit["window_start"], limit["window_end"], limit["resets_at"], limit["outcome"]) == \
        ("2026-11-24T10:15:59.999Z", "2026-11-24T10:16:59.999Z", "2026-11-24T10:17:04.250Z", "full")
    assert out["decision"]["rule"] == "/tools/end_session/limits/end_session_rate"
    fixed = json.loads(run_cli("explain", "--trace", str(REPO / "samples/traces/end-session-loop.jsonl"), "--line",
                               "16", "--policy", str(REPO / "samples/sncro.policy.json"), "--format", "json").stdout)
    assert fixed["steps"]["limits"][0]["window_start"] == "2026-11-24T10:16:00Z"


def test_an_empty_require_is_shown_as_holding():
    """An empty ``require`` (lint PL104) always holds; explain lists it as written, with no conditions."""
    from policyctl.engine.explain import explain_call
    from policyctl.policy.dialects.policylayer.lower import lower
    from policyctl.policy.dialects.policylayer.model import Policy

    policy = Policy.from_data({"version": "1", "default": "deny", "tools": {"t": {
        "require": [{"conditions": []}, {"conditions": [{"path": "args.n", "op": "lt", "value": 5}]}]}}})
    ex = explain_call(Interpreter(lower(policy)), 0, "g", "t", {"n": 7})
    assert [(r.kind, r.index, r.holds, r.denies, len(r.conditions)) for r in ex.rules] == \
        [("require", 0, True, False, 0), ("require", 1, False, True, 1)]
    assert ex.decision.rule == "/tools/t/require/args.n-lt"


def test_every_stated_upstream_failure_releases_in_explain_and_coverage(tmp_path):
    """PolicyLayer releases an allowed call's reservation on any upstream failure, also one stated as
    ``upstream: not_forwarded`` with ``upstream_error: true``: explain and coverage agree with simulate."""
    policy = tmp_path / "p.yaml"
    policy.write_text('version: "1"\ndefault: deny\ntools:\n  t:\n    limits:\n'
                      '      - {counter: c, window: minute, max: 1, scope: grant}\n', encoding="utf-8")
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"ts":"2026-11-24T10:00:00Z","grant":"g","tool":"t","args":{},'
                     '"upstream":"not_forwarded","upstream_error":true}\n'
                     '{"ts":"2026-11-24T10:00:01Z","grant":"g","tool":"t","args":{}}\n', encoding="utf-8")
    sim = json.loads(run_cli("simulate", str(trace), "--policy", str(policy), "--coverage", "--format", "json").stdout)
    assert (sim["calls"], sim["allowed"]) == (2, 2)
    [limit] = [e for e in sim["coverage"]["items"] if e["kind"] == "limit"]
    assert (limit["checked"], limit["reached"]) == (2, 0)
    out = json.loads(run_cli("explain", "--trace", str(trace), "--line", "2", "--policy", str(policy),
                             "--format", "json").stdout)
    assert out["decision"]["decision"] == "allow"
    assert (out["steps"]["limits"][0]["before"], out["steps"]["limits"][0]["after"]) == (0, 1)
    first = json.loads(run_cli("explain", "--trace", str(trace), "--line", "1", "--policy", str(policy),
                               "--format", "json").stdout)
    assert first["steps"]["released_after_upstream_error"] is True
    assert first["call"]["upstream_error"] is True  # always a boolean, whatever kind of failure
