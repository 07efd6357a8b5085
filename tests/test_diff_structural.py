"""Structural diff: golden cases for every change kind and effect (tests/golden/diff/changes.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from policyctl.diff.differ import CHANGE_KINDS, EFFECTS, Change, limit_effect, relation, summarize
from policyctl.policy.dialects.policylayer.model import Condition, Limit, Policy
from tests.test_diff_strategies import structural_diff

CASES = yaml.safe_load((Path(__file__).parent / "golden" / "diff" / "changes.yaml").read_text("utf-8"))


def policy(part: dict) -> Policy:
    return Policy.from_data({"version": "1", "default": "deny", **part})


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_case(case: dict) -> None:
    got = [c.to_dict() for c in structural_diff(policy(case["old"]), policy(case["new"]))]
    assert got == case["changes"]


def test_golden_cases_cover_every_kind_and_effect() -> None:
    kinds = {ch["kind"] for case in CASES for ch in case["changes"]}
    effects = {(ch["kind"], ch["effect"]) for case in CASES for ch in case["changes"]}
    assert kinds == set(CHANGE_KINDS)
    assert {e for _, e in effects} == set(EFFECTS)


def test_every_change_is_inverted_by_swapping_versions() -> None:
    # Swapping old and new flips loosened and tightened for the kinds whose effect is intrinsic.
    flip = {"loosened": "tightened", "tightened": "loosened", "neutral": "neutral", "unknown": "unknown"}
    for case in CASES:
        fwd = structural_diff(policy(case["old"]), policy(case["new"]))
        back = structural_diff(policy(case["new"]), policy(case["old"]))
        assert len(fwd) == len(back), case["name"]
        if case["name"].startswith(("changes inside a tool hidden", "an unconditional deny_if added",
                                    "a duplicate deny_if", "a deny_if subsumed")):
            continue  # context rules are deliberately asymmetric (judged in the new version)
        assert sorted(flip[c.effect] for c in fwd) == sorted(c.effect for c in back), case["name"]


def test_identical_policies_have_no_changes() -> None:
    for case in CASES:
        p = policy(case["new"])
        assert structural_diff(p, p) == ()


def test_summary_counts_every_effect() -> None:
    changes = [Change("rule-added", "/x", None, {}, "tightened"), Change("rule-added", "/y", None, {}, "tightened"),
               Change("hide-removed", "/hide/0", "a", None, "loosened")]
    assert summarize(changes) == {"loosened": 1, "tightened": 2, "neutral": 0, "unknown": 0}


@pytest.mark.parametrize(("old", "new", "effect"), [
    ((3, "minute"), (4, "minute"), "loosened"),
    ((4, "minute"), (3, "minute"), "tightened"),
    ((30, "hour"), (30, "minute"), "loosened"),
    ((30, "minute"), (30, "hour"), "tightened"),
    ((1, "minute"), (60, "hour"), "loosened"),     # same rate, bigger bursts
    ((60, "hour"), (1, "minute"), "tightened"),
    ((60, "hour"), (2, "minute"), "loosened"),     # smaller bursts, higher rate: the rate decides
    ((2, "minute"), (60, "hour"), "tightened"),
    ((1440, "day"), (1, "minute"), "tightened"),
    ((10, "minute"), (10, "minute"), "neutral"),
])
def test_limit_effect(old: tuple[int, str], new: tuple[int, str], effect: str) -> None:
    a = Limit(counter="c", window=old[1], max=old[0], scope="grant")
    b = Limit(counter="c", window=new[1], max=new[0], scope="grant")
    assert limit_effect(a, b) == effect


@pytest.mark.parametrize(("old", "new", "rel"), [
    (("gt", 100), ("gt", 200), "narrower"),
    (("gt", 100), ("gte", 100), "broader"),
    (("gte", 100), ("gt", 100), "narrower"),
    (("lt", 5), ("lte", 5), "broader"),
    (("gt", 1), ("lt", 1), "unknown"),
    (("in", ["a", "b"]), ("in", ["a"]), "narrower"),
    (("in", ["a"]), ("not_in", ["b"]), "broader"),
    (("in", [0]), ("not_in", ["0"]), "unknown"),   # the number 0 eq the string "0"
    (("not_in", ["a"]), ("not_in", ["a", "b"]), "narrower"),
    (("eq", 5), ("in", ["5", "6"]), "broader"),
    (("eq", True), ("eq", "true"), "same"),
    (("neq", "a"), ("not_in", ["a"]), "same"),
    (("regex", "^a"), ("regex", "^ab"), "unknown"),
    (("regex", "^a"), ("regex", "^a"), "same"),
    (("contains", "ab"), ("contains", "a"), "unknown"),
    (("exists", True), ("exists", False), "unknown"),
])
def test_condition_relation(old: tuple, new: tuple, rel: str) -> None:
    a = Condition(path="args.v", op=old[0], value=old[1])
    b = Condition(path="args.v", op=new[0], value=new[1])
    assert relation(a, b) == rel


# S1: Python says True == 1 and False == 0; the evaluator does not (eq true matches true and "true",
# eq 1 matches 1 and "1"). A change between them is a change, in every operator and rule kind.
BOOL_NUMBER_SWAPS = [
    ("eq", True, 1), ("eq", 1, True), ("eq", False, 0), ("eq", 0, False), ("neq", True, 1), ("neq", False, 0),
    ("in", [True], [1]), ("in", [1], [True]), ("not_in", [False], [0]), ("not_in", [True, "x"], [1, "x"]),
    ("contains", True, 1), ("contains", 0, False),
]


def _one_condition(kind: str, op: str, value: Any) -> Policy:
    return policy({"tools": {"delete_repo": {kind: [{"conditions": [{"path": "args.force", "op": op, "value": value}],
                                                     "on_deny": "force-delete needs approval"}]}}})


@pytest.mark.parametrize("kind", ["require", "deny_if"])
@pytest.mark.parametrize(("op", "old", "new"), BOOL_NUMBER_SWAPS)
def test_a_bool_number_swap_is_a_change(kind: str, op: str, old: Any, new: Any) -> None:
    changes = structural_diff(_one_condition(kind, op, old), _one_condition(kind, op, new))
    assert [c.to_dict() for c in changes] == [{
        "kind": "condition-changed", "pointer": f"/tools/delete_repo/{kind}/0/conditions/0",
        "old": {"path": "args.force", "op": op, "value": old}, "new": {"path": "args.force", "op": op, "value": new},
        "effect": "unknown"}]  # each version matches calls the other does not
    # the JSON values keep their types (true stays true, 1 stays 1)
    assert type(changes[0].old["value"]) is type(old) and type(changes[0].new["value"]) is type(new)


@pytest.mark.parametrize("kind", ["require", "deny_if"])
@pytest.mark.parametrize(("op", "old", "new"), BOOL_NUMBER_SWAPS)
def test_each_side_of_a_bool_number_swap_has_no_changes_against_itself(kind: str, op: str, old: Any,
                                                                       new: Any) -> None:
    for value in (old, new):
        assert structural_diff(_one_condition(kind, op, value), _one_condition(kind, op, value)) == ()


@pytest.mark.parametrize(("kind", "effect"), [("deny_if", "loosened"), ("require", "tightened")])
def test_dropping_true_from_an_in_list_that_python_calls_equal(kind: str, effect: str) -> None:
    # (True, 1) == (1, 1) in Python; for the gateway the new list no longer matches true or "true".
    changes = structural_diff(_one_condition(kind, "in", [True, 1]), _one_condition(kind, "in", [1, 1]))
    assert [(c.kind, c.effect) for c in changes] == [("condition-changed", effect)]


def test_a_bool_number_swap_in_a_limit_free_tool_is_seen_by_the_whole_diff() -> None:
    # the early exits compared tool entries and rule lists with Python ==
    old = policy({"tools": {"t": {"deny_if": [{"conditions": [{"path": "args.a", "op": "eq", "value": False}]}],
                                  "require": [{"conditions": [{"path": "args.b", "op": "in", "value": [True, "x"]}]}]}}})
    new = policy({"tools": {"t": {"deny_if": [{"conditions": [{"path": "args.a", "op": "eq", "value": 0}]}],
                                  "require": [{"conditions": [{"path": "args.b", "op": "in", "value": [1, "x"]}]}]}}})
    assert [(c.pointer, c.effect) for c in structural_diff(old, new)] == [
        ("/tools/t/require/0/conditions/0", "unknown"), ("/tools/t/deny_if/0/conditions/0", "unknown")]


def test_values_the_gateway_cannot_tell_apart_are_not_changes() -> None:
    # eq true and eq "true" match the same calls, as do 5 and 5.0, and lt 1 and lt 1.0
    pairs = [("eq", True, "true"), ("eq", 5, 5.0), ("in", [1000000], ["1e+06"]), ("lt", 1, 1.0)]
    for op, a, b in pairs:
        assert structural_diff(_one_condition("deny_if", op, a), _one_condition("deny_if", op, b)) == ()
