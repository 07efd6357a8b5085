"""`diff --search`: planted differences are found and shrunk to minimal, ready-to-run traces."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from policyctl.diff.search import BASE_SECONDS, SearchSpace, search
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.simulate.run import simulate
from policyctl.traces.reader import read_trace


def lim(counter: str, window: str, mx: int) -> dict[str, Any]:
    return {"counter": counter, "window": window, "max": mx, "scope": "grant"}


def cond(path: str, op: str, value: Any) -> dict[str, Any]:
    return {"path": path, "op": op, "value": value}


BASE: dict[str, Any] = {
    "version": "1",
    "default": "deny",
    "hide": ["delete_customer"],
    "all_tools": {"limits": [lim("calls-per-minute", "minute", 60)]},
    "tools": {
        "list_charges": {},
        "delete_customer": {},
        "create_charge": {
            "require": [{"conditions": [cond("args.currency", "in", ["usd", "eur"])]}],
            "deny_if": [{"conditions": [cond("args.amount", "gt", 100)], "on_deny": "Too much."}],
        },
        "run_command": {"require": [{"conditions": [cond("args.command", "regex", "^(ls|pwd|git (status|diff))$")]}]},
        "send_email": {"limits": [lim("send_email_rate", "minute", 3)]},
    },
}


def variant(change: Callable[[dict], None]) -> Policy:
    data = copy.deepcopy(BASE)
    change(data)
    return Policy.from_data(data)


OLD = Policy.from_data(BASE)


def check_trace(ce: Any, tmp_path: Path) -> None:
    """The counterexample trace replays: every expectation holds on NEW, the difference fails on OLD."""
    path = tmp_path / "ce.jsonl"
    path.write_text(ce.to_jsonl(), encoding="utf-8")
    calls = list(read_trace(str(path)))
    assert len(calls) == len(ce.calls)
    for call, decision in simulate(NEW_OF[id(ce)], read_trace(str(path))):
        assert decision.matches(call.expect)
        assert call.expect_rule is None or call.expect_rule == decision.rule
    failures = [call.line for call, d in simulate(OLD, read_trace(str(path)))
                if not d.matches(call.expect) or (call.expect_rule is not None and call.expect_rule != d.rule)]
    assert failures, "the old version must fail the trace somewhere"


NEW_OF: dict[int, Policy] = {}


def find(new: Policy, effect: str = "loosened", **kw: Any):
    # A generous time budget and a fixed number of examples: the example count, not the clock,
    # bounds these searches, so they are deterministic even on a slow machine.
    result = search(OLD, new, budget=kw.pop("budget", 60.0), seed=kw.pop("seed", 0),
                    max_examples=kw.pop("max_examples", 300), **kw)
    by_effect = {c.effect: c for c in result.counterexamples}
    assert effect in by_effect, (result.examples, [c.effect for c in result.counterexamples])
    NEW_OF[id(by_effect[effect])] = new
    return result, by_effect[effect]


def test_raised_limit_needs_exactly_max_plus_one_calls_in_one_window(tmp_path: Path) -> None:
    new = variant(lambda d: d["tools"]["send_email"].update(limits=[lim("send_email_rate", "minute", 4)]))
    _, ce = find(new)
    assert len(ce.calls) == 4
    assert {c.tool for c in ce.calls} == {"send_email"}
    assert len({c.offset_ns // 60_000_000_000 for c in ce.calls}) == 1  # one minute window
    assert [o.decision for o in ce.old] == ["allow", "allow", "allow", "deny"]
    assert [o.decision for o in ce.new] == ["allow"] * 4
    assert ce.old[-1].rule == "/tools/send_email/limits/send_email_rate"
    check_trace(ce, tmp_path)


def test_raised_threshold_is_one_call_between_the_thresholds(tmp_path: Path) -> None:
    new = variant(lambda d: d["tools"]["create_charge"]["deny_if"][0]["conditions"][0].update(value=200))
    _, ce = find(new)
    assert len(ce.calls) == 1
    (call,) = ce.calls
    assert call.tool == "create_charge"
    assert 100 < call.args["amount"] <= 200
    assert call.args["currency"] in ("usd", "eur")
    assert (ce.old[0].reason, ce.new[0].decision) == ("deny_if", "allow")
    check_trace(ce, tmp_path)


def test_removed_deny_if_is_one_call_the_rule_denied(tmp_path: Path) -> None:
    new = variant(lambda d: d["tools"]["create_charge"].pop("deny_if"))
    _, ce = find(new)
    assert len(ce.calls) == 1
    assert ce.calls[0].args["amount"] > 100
    assert ce.old[0].rule == "/tools/create_charge/deny_if/args.amount-gt"
    check_trace(ce, tmp_path)


def test_dropped_hide_is_one_call_of_the_tool(tmp_path: Path) -> None:
    new = variant(lambda d: d.update(hide=[]))
    _, ce = find(new)
    assert [(c.tool, c.args) for c in ce.calls] == [("delete_customer", {})]
    assert (ce.old[0].reason, ce.new[0].reason) == ("hidden", "allowed")
    check_trace(ce, tmp_path)


def test_widened_regex_finds_a_matching_command(tmp_path: Path) -> None:
    new = variant(lambda d: d["tools"]["run_command"]["require"][0]["conditions"][0].update(
        value="^(ls|pwd|git (status|diff|push))$"))
    _, ce = find(new)
    assert [c.args for c in ce.calls] == [{"command": "git push"}]
    check_trace(ce, tmp_path)


def test_a_change_both_ways_reports_both(tmp_path: Path) -> None:
    new = variant(lambda d: d["tools"]["create_charge"]["require"][0]["conditions"][0].update(value=["usd", "gbp"]))
    result, loose = find(new)
    tight = {c.effect: c for c in result.counterexamples}["tightened"]
    assert loose.calls[0].args["currency"] == "gbp" and tight.calls[0].args["currency"] == "eur"
    assert len(loose.calls) == len(tight.calls) == 1


def test_raised_all_tools_limit_bursts_past_it() -> None:
    new = variant(lambda d: d["all_tools"].update(limits=[lim("calls-per-minute", "minute", 61)]))
    _, ce = find(new)
    assert len(ce.calls) == 61
    assert ce.new[-1].decision == "allow" and ce.old[-1].rule == "/all_tools/limits/calls-per-minute"


def test_reason_only_difference_is_neutral() -> None:
    # Unhiding a tool that default deny still blocks: deny either way, for another reason.
    new = variant(lambda d: (d.update(hide=[]), d["tools"].pop("delete_customer")))
    old = variant(lambda d: d["tools"].pop("delete_customer"))
    result = search(old, new, budget=60.0, seed=0, max_examples=300)
    assert [c.effect for c in result.counterexamples] == ["neutral"]
    ce = result.counterexamples[0]
    assert len(ce.calls) == 1 and (ce.old[0].reason, ce.new[0].reason) == ("hidden", "default_deny")
    assert not result.loosened


def test_identical_policies_have_no_counterexample() -> None:
    result = search(OLD, Policy.from_data(copy.deepcopy(BASE)), budget=60.0, seed=0, max_examples=150)
    assert result.counterexamples == ()
    assert result.examples == 3 * 150
    assert result.complete


def test_the_search_is_reproducible_for_a_seed() -> None:
    new = variant(lambda d: d["tools"]["create_charge"]["deny_if"][0]["conditions"][0].update(value=200))
    runs = [search(OLD, new, budget=60.0, seed=7, max_examples=200) for _ in range(2)]
    assert [[(c.effect, c.calls) for c in r.counterexamples] for r in runs][0] == \
        [[(c.effect, c.calls) for c in r.counterexamples] for r in runs][1]
    assert runs[0].examples == runs[1].examples


def test_a_tiny_budget_stops_cleanly() -> None:
    result = search(OLD, OLD, budget=0.01, seed=0)
    assert not result.complete
    assert result.counterexamples == ()


def test_snapshot_tools_and_schemas_join_the_search_space() -> None:
    class Tool:
        def __init__(self, name: str, schema: dict) -> None:
            self.name, self.input_schema = name, schema

    snap = [Tool("archive", {"type": "object", "properties": {"mode": {"enum": ["fast", "safe"]},
                                                             "count": {"type": "integer"}}})]
    space = SearchSpace.build(OLD, OLD, tools=snap)
    assert space.tools[0] == "archive" and space.tools[-1] == "policyctl-unlisted-tool"
    values = {s.segments: s.values for s in space.slots["archive"]}
    assert values[("mode",)][:2] == ["fast", "safe"] and 0 in values[("count",)]
    # Default flipped: the shrunk counterexample calls a real tool of the server, not a made-up one.
    opened = Policy.from_data({**BASE, "default": "allow"})
    result = search(OLD, opened, budget=60.0, seed=0, tools=snap, max_examples=200)
    assert result.counterexamples[0].calls[0].tool == "archive"


def test_trace_records_use_the_fixed_day_aligned_start() -> None:
    new = variant(lambda d: d.update(hide=[]))
    _, ce = find(new)
    rec = ce.trace_records()[0]
    assert rec == {"ts": "2026-01-01T00:00:00.000Z", "tool": "delete_customer", "args": {}, "id": "ce-1",
                   "expect": "allow"}
    assert BASE_SECONDS % 86400 == 0
    json.loads(ce.to_jsonl())


@pytest.mark.parametrize("windows", ["fixed", "sliding"])
def test_window_modes_both_search(windows: str) -> None:
    new = variant(lambda d: d["tools"]["send_email"].update(limits=[lim("send_email_rate", "minute", 4)]))
    _, ce = find(new, windows=windows)
    assert len(ce.calls) == 4


# W3: candidates were threshold ± 1 and ± 0.5, which all round to the threshold from 2**53 on, so a
# condition such as `lt 1e16` never held in a generated call and the search called itself complete.

def _require(*conds: dict[str, Any]) -> Policy:
    return Policy.from_data({"version": "1", "default": "deny", "tools": {"t": {"require": [{"conditions": list(conds)}]}}})


@pytest.mark.parametrize(("op", "threshold"), [("lt", 1e16), ("lte", -1e16), ("gt", 2.0**60), ("gte", 1e300),
                                               ("lt", -1.5e308), ("gt", 2**53 + 1)])
def test_huge_thresholds_get_candidates_on_both_sides(op: str, threshold: float) -> None:
    from policyctl.policy.operators import test as holds

    p = _require(cond("args.n", op, threshold))
    (slot,) = SearchSpace.build(p, p).slots["t"]
    verdicts = {holds(op, threshold, v) for v in slot.values}
    assert verdicts == {True, False}
    assert all(isinstance(v, (int, float)) and abs(v) < float("inf") for v in slot.values)


def test_a_loosening_behind_a_huge_threshold_is_found(tmp_path: Path) -> None:
    old = _require(cond("args.s", "regex", "^a+$"), cond("args.n", "lt", 1e16))
    new = _require(cond("args.s", "regex", "^a*$"), cond("args.n", "lt", 1e16))
    result = search(old, new, budget=60.0, seed=0, max_examples=200)
    assert result.unreached == ()
    ce = {c.effect: c for c in result.counterexamples}["loosened"]
    (call,) = ce.calls
    assert call.args["s"] == "" and call.args["n"] < 1e16
    assert (ce.old[0].reason, ce.new[0].decision) == ("require", "allow")


def test_a_rule_no_candidate_satisfies_makes_the_search_incomplete() -> None:
    # Python's re cannot read \p{Greek}, so strings come from plain text, and no 15 Greek letters
    # turn up; the search must say it could not reach the rule rather than call itself complete.
    p = _require(cond("args.s", "regex", "^\\p{Greek}{15}$"), cond("args.n", "lt", 5))
    result = search(p, p, budget=60.0, seed=0, max_examples=50)
    assert result.counterexamples == ()
    assert result.unreached == ("/tools/t/require/0/conditions/0",)
    assert not result.complete and not result.stopped_by_budget


def test_rules_that_never_hold_are_not_unreached() -> None:
    # A regex RE2 rejects never matches and `lt "5"` never holds: there is nothing to reach.
    p = _require(cond("args.s", "regex", "(unclosed"))
    q = _require(cond("args.n", "lt", "5"))
    for policy in (p, q):
        assert SearchSpace.build(policy, policy).unreached == ()
    both = Policy.from_data({"version": "1", "default": "deny", "tools": {"t": {"deny_if": [
        {"conditions": [cond("args.n", "gt", 10), cond("args.n", "lt", 5)]}]}}})
    assert SearchSpace.build(both, both).unreached == ("/tools/t/deny_if/0/conditions/0",)


def test_unreached_conditions_are_listed_in_document_order() -> None:
    """PolicyLayer's tools in the order the document lists them (zeta before alpha), old version first."""
    def version(bound: int) -> Policy:
        rule = {"deny_if": [{"conditions": [cond("args.x", "gt", bound), cond("args.x", "lt", 5)]}]}
        return Policy.from_data({"version": "1", "default": "deny", "tools": {"zeta": rule, "alpha": rule}})

    assert SearchSpace.build(version(10), version(11)).unreached == (
        "/tools/zeta/deny_if/0/conditions/0", "/tools/alpha/deny_if/0/conditions/0")
