"""`policyctl diff` on Intercept policies, and across dialects (PolicyLayer ↔ Intercept)."""

from __future__ import annotations

import json

import pytest

from policyctl.diff.ir_differ import diff_programs, side
from policyctl.policy.load import policy_from_bytes
from tests.conftest import REPO, run_cli

INTERCEPT = """\
version: "1"
default: "deny"
hide:
  - delete_customer
tools:
  list_customers:
    rules: []
  create_refund:
    rules:
      - name: "refunds up to 100.00"
        conditions:
          - path: "args.amount"
            op: "lte"
            value: 10000
        on_deny: "Refunds above 100.00 need a person."
      - name: "refunds per minute"
        rate_limit: "2/minute"
  create_payout:
    rules:
      - name: "payouts need a person"
        action: "deny"
        on_deny: "Payouts need a person."
"""

# The same policy in PolicyLayer's dialect: every call of TRACE is decided alike.
POLICYLAYER = {
    "version": "1", "default": "deny", "hide": ["delete_customer"],
    "tools": {
        "list_customers": {},
        "create_refund": {
            "require": [{"conditions": [{"path": "args.amount", "op": "lte", "value": 10000}],
                         "on_deny": "Refunds above 100.00 need a person."}],
            "limits": [{"counter": "refunds", "window": "minute", "max": 2, "scope": "grant"}]},
        "create_payout": {"deny_if": [{"conditions": [], "on_deny": "Payouts need a person."}]},
    },
}

TRACE = "".join(json.dumps(x) + "\n" for x in [
    {"ts": "2026-12-03T09:00:00Z", "tool": "list_customers", "args": {"limit": 10}},
    {"ts": "2026-12-03T09:00:01Z", "tool": "create_refund", "args": {"charge": "ch_1", "amount": 2500}},
    {"ts": "2026-12-03T09:00:02Z", "tool": "create_refund", "args": {"charge": "ch_2", "amount": 25000}},
    {"ts": "2026-12-03T09:00:03Z", "tool": "create_refund", "args": {"charge": "ch_3", "amount": 100}},
    {"ts": "2026-12-03T09:00:04Z", "tool": "create_refund", "args": {"charge": "ch_4", "amount": 100}},
    {"ts": "2026-12-03T09:00:05Z", "tool": "create_payout", "args": {"amount": 1}},
    {"ts": "2026-12-03T09:00:06Z", "tool": "delete_customer", "args": {"customer": "cu_1"}},
    {"ts": "2026-12-03T09:00:07Z", "tool": "send_email", "args": {}},
    {"ts": "2026-12-03T09:01:00Z", "tool": "create_refund", "args": {"charge": "ch_5", "amount": 100}},
])

# INTERCEPT with a looser refund rate, payouts allowed below 1.00, send_email hidden, a new tool
LOOSER = INTERCEPT.replace('"2/minute"', '"5/minute"').replace(
    '        action: "deny"\n',
    '        action: "evaluate"\n        conditions:\n          - path: "args.amount"\n'
    '            op: "lt"\n            value: 100\n').replace(
    "hide:\n", "hide:\n  - send_email\n") + "  get_balance:\n    rules: []\n"


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def changes(old: str, new: str) -> list[dict]:
    a = policy_from_bytes(old.encode(), "old.yaml")
    b = policy_from_bytes(new.encode(), "new.yaml")
    return [c.to_dict() for c in diff_programs(side(a), side(b))]


def test_intercept_to_intercept_reports_changes_and_changed_calls(tmp_path):
    old = write(tmp_path, "old.policy.yaml", INTERCEPT)
    new = write(tmp_path, "new.policy.yaml", LOOSER)
    trace = write(tmp_path, "t.jsonl", TRACE)
    r = run_cli("diff", old, new, "--trace", trace, "--format", "json")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["changes"] == [
        {"kind": "hide-added", "pointer": "/hide/0", "old": None, "new": "send_email", "effect": "neutral"},
        {"kind": "action-changed", "pointer": "/tools/create_payout/rules/0", "old": "deny", "new": "evaluate",
         "effect": "loosened"},
        {"kind": "limit-changed", "pointer": "/tools/create_refund/rules/1/rate_limit", "old": "2/minute",
         "new": "5/minute", "effect": "loosened"},
        {"kind": "tool-added", "pointer": "/tools/get_balance", "old": None, "new": {"rules": []},
         "effect": "loosened"},
    ]
    assert data["summary"] == {"loosened": 3, "tightened": 0, "neutral": 1, "unknown": 0}
    behavior = data["behavior"]
    assert behavior["calls"] == 9 and behavior["changed"] == 3
    assert behavior["transitions"] == {"allow->deny": 0, "deny->allow": 2, "deny->deny": 1}
    assert behavior["by_tool"] == {"create_payout": {"changed": 1}, "create_refund": {"changed": 1},
                                   "send_email": {"changed": 1}}
    # rules are Intercept's rule names, as simulate reports them
    assert behavior["examples"][0] == {
        "line": 5, "tool": "create_refund",
        "old": {"decision": "deny", "reason": "rate_limited", "rule": "refunds per minute"},
        "new": {"decision": "allow", "reason": "allowed", "rule": None}}
    assert behavior["examples"][2]["old"] == {"decision": "deny", "reason": "default_deny", "rule": "(default deny)"}
    assert behavior["examples"][2]["new"] == {"decision": "deny", "reason": "hidden", "rule": "(hidden)"}


@pytest.mark.parametrize("direction", ["pl->intercept", "intercept->pl"])
def test_an_equivalent_migration_changes_nothing(tmp_path, direction):
    pl = write(tmp_path, "pl.policy.json", json.dumps(POLICYLAYER))
    ic = write(tmp_path, "ic.policy.yaml", INTERCEPT)
    trace = write(tmp_path, "t.jsonl", TRACE)
    old, new = (pl, ic) if direction == "pl->intercept" else (ic, pl)
    r = run_cli("diff", old, new, "--trace", trace, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "version": 1, "changes": [], "summary": {"loosened": 0, "tightened": 0, "neutral": 0, "unknown": 0},
        "behavior": {"calls": 9, "changed": 0, "transitions": {"allow->deny": 0, "deny->allow": 0, "deny->deny": 0},
                     "by_tool": {}, "examples": []}}


def test_a_loosening_migration_is_caught_by_both_diffs(tmp_path):
    pl = write(tmp_path, "pl.policy.json", json.dumps(POLICYLAYER))
    ic = write(tmp_path, "ic.policy.yaml", INTERCEPT.replace('"2/minute"', '"3/minute"'))
    trace = write(tmp_path, "t.jsonl", TRACE)
    r = run_cli("diff", pl, ic, "--trace", trace, "--format", "json")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["changes"] == [
        {"kind": "limit-changed", "pointer": "/tools/create_refund/rules/1/rate_limit",
         "old": {"counter": "refunds", "window": "minute", "max": 2, "scope": "grant"}, "new": "3/minute",
         "effect": "loosened"}]
    # each side reports its own dialect's rule
    assert data["behavior"]["examples"] == [{
        "line": 5, "tool": "create_refund",
        "old": {"decision": "deny", "reason": "rate_limited", "rule": "/tools/create_refund/limits/refunds"},
        "new": {"decision": "allow", "reason": "allowed", "rule": None}}]


def test_rate_limits_compare_as_calls_per_second_of_window():
    assert changes(INTERCEPT, INTERCEPT.replace('"2/minute"', '"4/minute"'))[0]["effect"] == "loosened"
    assert changes(INTERCEPT, INTERCEPT.replace('"2/minute"', '"1/minute"'))[0]["effect"] == "tightened"
    assert changes(INTERCEPT, INTERCEPT.replace('"2/minute"', '"120/hour"')) == [
        {"kind": "limit-changed", "pointer": "/tools/create_refund/rules/1/rate_limit", "old": "2/minute",
         "new": "120/hour", "effect": "loosened"}]
    assert changes(INTERCEPT, INTERCEPT.replace('"2/minute"', '"60/hour"'))[0]["effect"] == "tightened"


STATEFUL = """\
version: "1"
default: "allow"
tools:
  create_charge:
    rules:
      - name: "daily budget"
        conditions:
          - path: "state.create_charge.spent"
            op: "lte"
            value: 500000
        state:
          counter: "spent"
          window: "day"
          increment_from: "args.amount"
        on_deny: "Budget reached."
"""


def test_a_state_limit_change_is_one_limit_change():
    def rule(limit: int) -> dict:
        return {"name": "daily budget",
                "conditions": [{"path": "state.create_charge.spent", "op": "lte", "value": limit}],
                "state": {"counter": "spent", "window": "day", "increment_from": "args.amount"},
                "on_deny": "Budget reached."}

    # the limit's condition and the state block are one limit: shown as the whole rule
    assert changes(STATEFUL, STATEFUL.replace("500000", "800000")) == [
        {"kind": "limit-changed", "pointer": "/tools/create_charge/rules/0", "old": rule(500000),
         "new": rule(800000), "effect": "loosened"}]
    assert changes(STATEFUL, STATEFUL.replace("500000", "100000"))[0]["effect"] == "tightened"


def test_actions_conditions_names_and_messages():
    evaluate_to_deny = INTERCEPT.replace('''        conditions:
          - path: "args.amount"
            op: "lte"
            value: 10000
''', '''        action: "deny"
''')
    assert changes(INTERCEPT, evaluate_to_deny) == [
        {"kind": "action-changed", "pointer": "/tools/create_refund/rules/0", "old": "evaluate", "new": "deny",
         "effect": "tightened"}]
    assert changes(INTERCEPT, INTERCEPT.replace("value: 10000", "value: 5000")) == [
        {"kind": "condition-changed", "pointer": "/tools/create_refund/rules/0/conditions/0",
         "old": {"path": "args.amount", "op": "lte", "value": 10000},
         "new": {"path": "args.amount", "op": "lte", "value": 5000}, "effect": "tightened"}]
    renamed = INTERCEPT.replace('"refunds up to 100.00"', '"small refunds"').replace(
        "Refunds above 100.00 need a person.", "Ask a person.")
    assert changes(INTERCEPT, renamed) == [
        {"kind": "rule-renamed", "pointer": "/tools/create_refund/rules/0", "old": "refunds up to 100.00",
         "new": "small refunds", "effect": "neutral"}]
    reworded = INTERCEPT.replace("Refunds above 100.00 need a person.", "Ask a person.")
    assert changes(INTERCEPT, reworded) == [
        {"kind": "on_deny-changed", "pointer": "/tools/create_refund/rules/0/on_deny",
         "old": "Refunds above 100.00 need a person.", "new": "Ask a person.", "effect": "neutral"}]
    without_rule = INTERCEPT.replace('''      - name: "refunds per minute"
        rate_limit: "2/minute"
''', "")
    assert changes(INTERCEPT, without_rule) == [
        {"kind": "limit-removed", "pointer": "/tools/create_refund/rules/1/rate_limit", "old": "2/minute",
         "new": None, "effect": "loosened"}]


def test_sliding_windows_are_refused_for_intercept(tmp_path):
    ic = write(tmp_path, "ic.policy.yaml", INTERCEPT)
    pl = write(tmp_path, "pl.policy.json", json.dumps(POLICYLAYER))
    r = run_cli("diff", pl, ic, "--windows", "sliding")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: --windows sliding: Intercept counts in fixed calendar windows only")


def _search(old: str, new: str, **kw):
    from policyctl.diff.search import search

    a = policy_from_bytes(old.encode(), "old")
    b = policy_from_bytes(new.encode(), "new")
    return search(a.subject, b.subject, budget=120, seed=0, max_examples=150, **kw)


def test_search_finds_the_burst_a_looser_migrated_rate_limit_lets_through():
    result = _search(json.dumps(POLICYLAYER), INTERCEPT.replace('"2/minute"', '"3/minute"'))
    assert result.loosened and result.complete and result.unreached == ()
    ce = result.counterexamples[0]
    assert ce.effect == "loosened"
    assert [c.tool for c in ce.calls] == ["create_refund"] * 3
    assert [(o.decision, o.reason) for o in ce.old] == [("allow", "allowed")] * 2 + [("deny", "rate_limited")]
    assert [(o.decision, o.reason) for o in ce.new] == [("allow", "allowed")] * 3
    # the ready-to-run trace expects the new (Intercept) version's decisions
    assert [r["expect"] for r in ce.trace_records()] == ["allow"] * 3


def test_search_finds_nothing_between_equivalent_dialects_and_tells_intercept_versions_apart():
    same = _search(json.dumps(POLICYLAYER), INTERCEPT)
    assert not same.found and same.complete
    changed = _search(INTERCEPT, LOOSER)
    assert changed.loosened
    ce = changed.counterexamples[0]
    assert [(c.tool, o.rule, n.decision) for c, o, n in zip(ce.calls, ce.old, ce.new)][-1][2] == "allow"


def test_text_and_markdown_describe_intercept_rules():
    from policyctl.reporters.diff.text import describe

    rule = {"name": "refunds per minute", "rate_limit": "2/minute"}
    assert describe("rule-added", rule) == '"refunds per minute": rate_limit 2/minute'
    assert describe("rule-added", {"name": "payouts", "action": "deny", "on_deny": "Ask."}) == \
        '"payouts": deny (always) -> "Ask."'
    assert describe("limit-changed", "2/minute") == "2/minute"
    assert describe("tool-added", {"rules": [rule]}) == "rules x1"


TWO_CONDITIONS = """\
version: "1"
default: "deny"
tools:
  create_refund:
    rules:
      - name: "small refunds in euros"
        conditions:
          - path: "args.amount"
            op: "lte"
            value: 10000
          - path: "args.currency"
            op: "eq"
            value: "eur"
"""

SPLIT = """\
version: "1"
default: "deny"
tools:
  create_refund:
    rules:
      - name: "small refunds"
        conditions:
          - path: "args.amount"
            op: "lte"
            value: 10000
      - name: "in euros"
        conditions:
          - path: "args.currency"
            op: "eq"
            value: "eur"
"""


def test_splitting_an_evaluate_rule_changes_no_decision():
    got = changes(TWO_CONDITIONS, SPLIT)
    assert [(c["kind"], c["effect"]) for c in got] == [("rule-added", "neutral"), ("rule-renamed", "neutral"),
                                                        ("condition-removed", "neutral")]



@pytest.mark.parametrize("old_rate,new_rate", [("2/minute", "3/minute"), ("3/minute", "2/minute"),
                                               ("2/minute", "2/hour")])
def test_a_limit_change_labelled_loosened_is_one_the_search_can_show(old_rate, new_rate):
    """The structural label and the search agree on direction for a single rate-limit change whose
    bursts and sustained rate agree (when they disagree, SPEC's allowance per second of window
    labels it and the search shows both directions)."""
    from policyctl.diff.search import search

    old = INTERCEPT.replace('"2/minute"', f'"{old_rate}"')
    new = INTERCEPT.replace('"2/minute"', f'"{new_rate}"')
    (change,) = changes(old, new)
    a, b = policy_from_bytes(old.encode(), "old"), policy_from_bytes(new.encode(), "new")
    result = search(a.subject, b.subject, budget=120, seed=0, max_examples=400)
    found = {c.effect for c in result.counterexamples}
    if change["effect"] == "loosened":
        assert "loosened" in found
    if change["effect"] == "tightened":
        assert "tightened" in found and "loosened" not in found


@pytest.mark.parametrize("name", ["github", "payments", "shell"])
def test_a_sample_intercept_policy_has_no_changes_against_itself(name):
    text = (REPO / "samples" / "intercept" / f"{name}.policy.yaml").read_text(encoding="utf-8")
    assert changes(text, text) == []


def test_markdown_and_report_pages_take_intercept_diffs(tmp_path):
    old = write(tmp_path, "old.policy.yaml", INTERCEPT)
    new = write(tmp_path, "new.policy.yaml", LOOSER)
    trace = write(tmp_path, "t.jsonl", TRACE)
    page = tmp_path / "diff.html"
    r = run_cli("diff", old, new, "--trace", trace, "--format", "markdown", "--report", str(page))
    assert r.returncode == 1, r.stderr
    assert "| **loosened** | limit-changed | `/tools/create_refund/rules/1/rate_limit` | `2/minute` | `5/minute` |" \
        in r.stdout
    assert "| **loosened** | action-changed | `/tools/create_payout/rules/0` | `deny` | `evaluate` |" in r.stdout
    html = page.read_text(encoding="utf-8")
    assert "action-changed" in html and "refunds per minute" in html


def test_a_tool_error_keeps_intercepts_reservation_unless_rollback_on_any(tmp_path):
    """PolicyLayer releases a call's quota on every upstream failure, Intercept v1.1.0 on a
    JSON-RPC error only: a migration changes what follows a failed call."""
    pl = write(tmp_path, "pl.policy.json", json.dumps(POLICYLAYER))
    ic = write(tmp_path, "ic.policy.yaml", INTERCEPT)
    trace = write(tmp_path, "t.jsonl", "".join(json.dumps(x) + "\n" for x in [
        {"ts": "2026-12-03T09:00:00Z", "tool": "create_refund", "args": {"amount": 1}, "upstream": "tool_error",
         "upstream_error": True},
        {"ts": "2026-12-03T09:00:01Z", "tool": "create_refund", "args": {"amount": 1}},
        {"ts": "2026-12-03T09:00:02Z", "tool": "create_refund", "args": {"amount": 1}},
    ]))
    r = run_cli("diff", pl, ic, "--trace", trace, "--format", "json")
    assert r.returncode == 0, r.stderr  # allow -> deny only: nothing loosened
    data = json.loads(r.stdout)["behavior"]
    assert data["transitions"] == {"allow->deny": 1, "deny->allow": 0, "deny->deny": 0}
    assert data["examples"][0]["line"] == 3
    assert data["examples"][0]["new"] == {"decision": "deny", "reason": "rate_limited", "rule": "refunds per minute"}
    r = run_cli("diff", pl, ic, "--trace", trace, "--format", "json", "--rollback-on", "any")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["behavior"]["changed"] == 0
