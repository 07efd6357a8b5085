"""End to end, the edges of the engine and the trace reader that a hostile user found (issue 15):
huge rules (C3), the ends of the year range in explain (C4, B2), expectations on lines that are never
evaluated (W4) and timestamps with non-ASCII digits (W5). Exit codes per SPEC §5; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.conftest import run_cli


def write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    if isinstance(data, list):
        path.write_text("".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n"
                                for x in data), encoding="utf-8")
    else:
        path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


# --- C3: a deny_if rule with 99 or more conditions ------------------------------------------------

@pytest.mark.parametrize("n", [99, 1000])
def test_huge_deny_if_rules_in_simulate_explain_and_diff(tmp_path, n):
    conds = [{"path": f"args.k{i}", "op": "exists", "value": True} for i in range(n)]
    policy = write(tmp_path, "deep.policy.json", {"version": "1", "default": "allow", "tools": {"t": {
        "deny_if": [{"conditions": conds, "on_deny": "all present"}]}}})
    every = {f"k{i}": 1 for i in range(n)}
    trace = write(tmp_path, "t.jsonl", [
        {"ts": 1, "tool": "t", "args": {"k0": 1}, "expect": "allow"},
        {"ts": 2, "tool": "t", "args": every, "expect": "deny_if", "expect_rule": "/tools/t/deny_if/args.k0-exists"},
    ])
    r = run_cli("simulate", trace, "--policy", policy, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["expectations"] == {"checked": 2, "failed": 0} and data["by_reason"]["deny_if"] == 1

    r = run_cli("explain", "--policy", policy, "--trace", trace, "--line", "2", "--format", "json")
    assert r.returncode == 0, r.stderr
    explained = json.loads(r.stdout)
    assert explained["decision"]["rule"] == "/tools/t/deny_if/args.k0-exists"
    assert len(explained["steps"]["rules"][0]["conditions"]) == n

    r = run_cli("diff", policy, policy, "--trace", trace, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["behavior"]["changed"] == 0


# --- C4 + B2: explain at the ends of the year range -----------------------------------------------

LIMITED = {"version": "1", "default": "allow",
           "all_tools": {"limits": [{"counter": "all", "window": "minute", "max": 3, "scope": "grant"}]}}


def _times(stdout: str) -> dict:
    data = json.loads(stdout)
    step = data["steps"]["limits"][0]
    return {"evaluated_at": data["evaluated_at"], "window_start": step["window_start"],
            "window_end": step["window_end"], "resets_at": step["resets_at"]}


def test_explain_the_last_second_of_year_9999(tmp_path):
    policy = write(tmp_path, "pol.json", LIMITED)
    trace = write(tmp_path, "t.jsonl", [{"ts": "9999-12-31T23:59:59Z", "tool": "u"}])
    r = run_cli("explain", "--policy", policy, "--trace", trace, "--line", "1", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert _times(r.stdout) == {"evaluated_at": "9999-12-31T23:59:59Z", "window_start": "9999-12-31T23:59:00Z",
                                "window_end": "+10000-01-01T00:00:00Z", "resets_at": "+10000-01-01T00:00:00Z"}
    r = run_cli("explain", "--policy", policy, "--trace", trace, "--line", "1")
    assert r.returncode == 0 and r.stderr == ""
    assert ("window [9999-12-31T23:59:00Z, +10000-01-01T00:00:00Z); resets +10000-01-01T00:00:00Z"
            in r.stdout.replace("\n   ", " "))


@pytest.mark.parametrize("windows, times", [
    ("fixed", {"evaluated_at": "0001-01-01T00:00:30Z", "window_start": "0001-01-01T00:00:00Z",
               "window_end": "0001-01-01T00:01:00Z", "resets_at": "0001-01-01T00:01:00Z"}),
    ("sliding", {"evaluated_at": "0001-01-01T00:00:30Z", "window_start": "0000-12-31T23:59:30Z",
                 "window_end": "0001-01-01T00:00:30Z", "resets_at": "0001-01-01T00:01:30Z"}),
])
def test_explain_the_first_minute_of_year_1(tmp_path, windows, times):
    policy = write(tmp_path, "pol.json", LIMITED)
    args = ["explain", "--policy", policy, "--call", '{"tool": "u"}', "--at", "0001-01-01T00:00:30Z",
            "--windows", windows]
    r = run_cli(*args, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert _times(r.stdout) == times
    r = run_cli(*args)
    assert r.returncode == 0 and r.stderr == ""
    assert "ts 0001-01-01T00:00:30Z" in r.stdout and times["window_start"] in r.stdout
    assert "1-01-01T" not in r.stdout.replace("0001-01-01T", "")


# --- W4: an expectation on a line that is never evaluated -----------------------------------------

SKIPPED_CALL = {"ts": "2026-11-24T10:00:00Z", "message": {"jsonrpc": "2.0", "id": 1, "method": "Tools/Call",
                                                          "params": {"name": "delete_everything", "arguments": {}}},
                "expect": "allow"}
WHAT = ('"expect" on a message that is not a tools/call call is never checked (method "Tools/Call"; '
        'only exactly "tools/call" is evaluated)')


def test_an_expectation_on_a_skipped_message_stops_the_run(tmp_path):
    policy = write(tmp_path, "deny.policy.json", {"version": "1", "default": "deny"})
    trace = write(tmp_path, "trace.jsonl", [
        {"ts": "2026-11-24T09:59:59Z", "tool": "read", "args": {}, "expect": "deny"}, SKIPPED_CALL])
    junit = tmp_path / "junit.xml"
    for fmt in ("text", "json", "jsonl"):
        r = run_cli("simulate", trace, "--policy", policy, "--format", fmt, "--junit", str(junit))
        assert (r.returncode, r.stderr) == (2, f"error: {trace}:2: {WHAT}\n")
        assert r.stdout.count("\n") == (1 if fmt == "jsonl" else 0)  # jsonl streams the lines before it
        assert not junit.exists()  # no report of a run that did not happen


def test_skip_invalid_reports_it_and_junit_shows_an_unchecked_expectation(tmp_path):
    policy = write(tmp_path, "deny.policy.json", {"version": "1", "default": "deny"})
    trace = write(tmp_path, "trace.jsonl", [
        {"ts": "2026-11-24T09:59:59Z", "tool": "read", "args": {}, "expect": "deny"}, SKIPPED_CALL,
        {"ts": "2026-11-24T10:00:01Z", "message": {"jsonrpc": "2.0", "method": "tools/list"}}])
    junit = tmp_path / "junit.xml"
    r = run_cli("simulate", trace, "--policy", policy, "--format", "json", "--junit", str(junit), "--skip-invalid")
    assert r.returncode == 0
    data = json.loads(r.stdout)
    assert data["skipped"] == {"non_tool_messages": 1, "invalid_lines": 1}
    assert data["expectations"] == {"checked": 1, "failed": 0}
    assert f"{trace}:2: {WHAT}" in r.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "0", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["line 1: read", "line 2: not checked"]
    error = cases[1].find("error")
    assert error.get("type") == "invalid-line" and error.get("message") == f"{trace}:2: {WHAT}"


def test_explain_call_with_an_expectation_on_a_skipped_message(tmp_path):
    policy = write(tmp_path, "deny.policy.json", {"version": "1", "default": "deny"})
    r = run_cli("explain", "--policy", policy, "--call", json.dumps(SKIPPED_CALL))
    assert (r.returncode, r.stderr) == (2, f"error: --call: {WHAT}\n")


# --- W5: digits that are not ASCII ----------------------------------------------------------------

@pytest.mark.parametrize("ts", [
    "\u0662\u0660\u0662\u0666-\u0661\u0661-\u0662\u0664T\u0661\u0660:\u0660\u0660:\u0660\u0660Z",
    "\uff12\uff10\uff12\uff16-11-24T10:00:00Z",
    "2026-11-24T10:00:00+\u0660\u0665:\u0663\u0660",
])
def test_non_ascii_digits_are_bad_lines_in_simulate_diff_and_explain(tmp_path, ts):
    policy = write(tmp_path, "allow.policy.json", {"version": "1", "default": "allow"})
    trace = write(tmp_path, "trace.jsonl", [{"ts": "2026-11-24T09:00:00Z", "tool": "t", "args": {}},
                                            {"ts": ts, "tool": "t", "args": {}}])
    what = f'"ts" is not an RFC 3339 timestamp (its digits must be ASCII 0-9): "{ts}"'
    for args in (["simulate", trace, "--policy", policy, "--format", "json"],
                 ["simulate", trace, "--policy", policy, "--format", "jsonl"],
                 ["diff", policy, policy, "--trace", trace],
                 ["explain", "--policy", policy, "--trace", trace, "--line", "2"]):
        r = run_cli(*args)
        assert (r.returncode, r.stderr) == (2, f"error: {trace}:2: {what}\n"), args
        assert r.stdout.count("\n") == (1 if "jsonl" in args else 0)  # jsonl streams the lines before it
    r = run_cli("explain", "--policy", policy, "--call", '{"tool": "t"}', "--at", ts)
    assert (r.returncode, r.stderr) == (2, f"error: --at: {what}\n")
