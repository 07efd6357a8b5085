"""Patterns the gateway (Go's regexp) cannot compile never match, in every path (SPEC §3, issue 15 W1).

policyctl compiles with C++ RE2, which accepts `\\C` and non-ASCII group names; Go rejects both, so
on the gateway a `deny_if` using them never fires and a `require` using them always denies. lint
(PL101), simulate (fast, general and two-process paths, coverage), explain, diff --trace and the
counterexample search must all see them that way. The facts about Go below were established by
compiling generated patterns with Go's regexp and with the `re2` module side by side.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policyctl.engine.explain import explain_call
from policyctl.engine.interpret import Interpreter
from policyctl.policy.dialects.policylayer.lower import lower
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.policy.operators import compile_regex
from policyctl.policy.regex import compile_gateway, gateway_error, go_rejects
from policyctl.simulate.run import run
from tests.conftest import run_cli

BYTE = "\\C (any single byte)"


@pytest.mark.parametrize("pattern, rejected", [
    ("\\C", [BYTE]), ("(?i)drop\\C*table", [BYTE]), ("a|\\C+", [BYTE]), ("(?s:\\C)", [BYTE]),
    ("(?P<名>x)", ["the group name '名' (Go allows only ASCII letters, digits and _)"]),
    ("(?<é>x)", ["the group name 'é' (Go allows only ASCII letters, digits and _)"]),
    ("(?P<a名>x)\\C", ["the group name 'a名' (Go allows only ASCII letters, digits and _)", BYTE]),
    # the same characters where they are not what they look like
    ("\\\\C", []), ("\\Q\\C\\E", []), ("\\Qx\\C", []), ("[(?P<名>]", []), ("[]\\\\C]", []),
    ("(?P<name_1>x)", []), ("\\pC", []), ("\\p{Cc}", []), ("[[:alpha:]]\\d", []),
])
def test_go_rejects(pattern, rejected):
    assert list(go_rejects(pattern)) == rejected


@pytest.mark.parametrize("pattern", ["\\C", "x\\C", "(?i)drop\\C*table", "(?P<名>x)"])
def test_what_only_cpp_re2_accepts_does_not_compile_for_the_gateway(pattern):
    problem = gateway_error(pattern)
    assert problem is not None and problem.re2_error is None and problem.go_rejects == go_rejects(pattern)
    assert "which Go's regexp rejects" in str(problem)
    assert compile_gateway(pattern) is None and compile_regex(pattern) is None


def test_re2_errors_and_valid_patterns():
    assert gateway_error("^ok$") is None and compile_gateway("^ok$") is not None
    lookbehind = gateway_error("(?<=a)b")
    assert lookbehind is not None and lookbehind.re2_error and lookbehind.go_rejects == ()
    in_class = gateway_error("[\\C]")  # RE2 itself refuses \C in a class (so does Go)
    assert in_class is not None and in_class.re2_error is not None
    assert str(gateway_error(5)) == "the value is not a string" and compile_gateway(5) is None
    # Go accepts a repeated group name, and so does the compile (RE2 refuses it only when capturing)
    assert gateway_error("(?P<n>a)|(?P<n>b)") is None


# --- every path -----------------------------------------------------------------------------------

SQL = "(?i)drop\\C*table"
POLICY = {
    "version": "1", "default": "allow",
    "tools": {
        "run_sql": {"deny_if": [{"conditions": [{"path": "args.sql", "op": "regex", "value": SQL}],
                                 "on_deny": "no DROP TABLE"}]},
        "fetch": {"require": [{"conditions": [{"path": "args.url", "op": "regex", "value": "(?P<名>^https://)"}]}]},
    },
}
FIXED = {  # what an author who wants the rule to work writes instead
    "version": "1", "default": "allow",
    "tools": {
        "run_sql": {"deny_if": [{"conditions": [{"path": "args.sql", "op": "regex", "value": "(?i)drop\\s*table"}],
                                 "on_deny": "no DROP TABLE"}]},
        "fetch": {"require": [{"conditions": [{"path": "args.url", "op": "regex", "value": "(?P<scheme>^https://)"}]}]},
    },
}
CALLS = [
    {"ts": "2026-11-24T10:00:00Z", "tool": "run_sql", "args": {"sql": "DROP  TABLE users"}, "expect": "allow"},
    {"ts": "2026-11-24T10:00:01Z", "tool": "fetch", "args": {"url": "https://example.com/"},
     "expect": "deny", "expect_rule": "/tools/fetch/require/args.url-regex"},
]


def write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    if isinstance(data, list):
        path.write_text("".join(json.dumps(x) + "\n" for x in data))
    else:
        path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("mode", ["fast", "general", "parallel", "coverage"])
def test_simulate_in_every_path(tmp_path, mode):
    trace = write(tmp_path, "t.jsonl", CALLS)
    kw = {"fast": {"parallel": False}, "general": {"on_call": lambda c: None}, "parallel": {"parallel": True},
          "coverage": {"coverage": True}}[mode]
    result = run(Policy.from_data(POLICY), trace, **kw)
    assert (result.checked, result.failed) == (2, 0)
    assert result.by_reason()["deny_if"] == 0 and result.by_reason()["require"] == 1
    if mode == "coverage":
        rule = {e.pointer: e for e in result.coverage.entries}["/tools/run_sql/deny_if/0"]
        assert rule.counts == {"evaluated": 1, "fired": 0}


def test_explain_walks_the_condition_as_false():
    ev = Interpreter(lower(Policy.from_data(POLICY)))
    ex = explain_call(ev, 0, "g", "run_sql", {"sql": "DROP  TABLE users"})
    assert ex.decision.allowed and [c.result for r in ex.rules for c in r.conditions] == [False]
    ex = explain_call(ev, 0, "g", "fetch", {"url": "https://example.com/"})
    assert ex.decision.rule == "/tools/fetch/require/args.url-regex"


def test_cli_lint_simulate_explain_and_diff_agree(tmp_path):
    policy = write(tmp_path, "sql.policy.json", POLICY)
    fixed = write(tmp_path, "fixed.policy.json", FIXED)
    trace = write(tmp_path, "t.jsonl", CALLS)

    r = run_cli("lint", policy, "--format", "json")
    messages = [d["message"] for f in json.loads(r.stdout)["files"] for d in f["diagnostics"] if d["code"] == "PL101"]
    assert r.returncode == 1 and len(messages) == 2
    assert all("Go's regexp rejects; the gateway cannot compile it" in m for m in messages)

    r = run_cli("simulate", trace, "--policy", policy, "--format", "jsonl")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 0, r.stderr
    assert [(x["decision"], x["ok"]) for x in rows] == [("allow", True), ("deny", True)]
    r = run_cli("simulate", trace, "--policy", policy, "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["expectations"] == {"checked": 2, "failed": 0}

    r = run_cli("explain", "--policy", policy, "--trace", trace, "--line", "1", "--format", "json")
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["decision"]["decision"] == "allow"
    assert [c["result"] for rule in data["steps"]["rules"] for c in rule["conditions"]] == [False]

    # the broken version lets the DROP TABLE through, the fixed one denies it: diff sees both ways
    r = run_cli("diff", policy, fixed, "--trace", trace, "--format", "json")
    behavior = json.loads(r.stdout)["behavior"]
    assert behavior["transitions"] == {"allow->deny": 1, "deny->allow": 1, "deny->deny": 0}
    assert [(c["line"], c["old"]["decision"], c["new"]["decision"]) for c in behavior["examples"]] == [
        (1, "allow", "deny"), (2, "deny", "allow")]


def test_the_counterexample_search_never_matches_them_either(tmp_path):
    # Removing a rule that can never fire on the gateway changes nothing there: no counterexample.
    old = write(tmp_path, "old.json", {"version": "1", "default": "allow", "tools": {
        "a": {"deny_if": [{"conditions": [{"path": "args.s", "op": "regex", "value": "x\\C"}]}]},
        "b": {"deny_if": [{"conditions": [{"path": "args.s", "op": "regex", "value": "(?P<名>x)"}]}]}}})
    new = write(tmp_path, "new.json", {"version": "1", "default": "allow", "tools": {"a": {}, "b": {}}})
    r = run_cli("diff", old, new, "--search", "--search-budget", "2", "--format", "json")
    data = json.loads(r.stdout)
    assert data["search"]["sequences"] > 0 and data["search"]["counterexamples"] == []
