"""policyctl.policy.values: the one comparison of policy values, checked against the evaluator.

Two values with the same key must make every operator decide every argument the same way, and
values the evaluator tells apart (``true`` and ``1``, ``false`` and ``0``) must get different keys.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyctl.policy.operators import NOT_FOUND
from policyctl.policy.operators import test as holds
from policyctl.policy.values import NEVER, eq_key, may_both_eq, never_holds, same_value, value_key
from tests.conftest import examples

#: arguments that tell values apart: the troublesome scalars and their spellings
PROBES: list[Any] = [NOT_FOUND, None, True, False, 0, 1, -0.0, 0.0, 1.0, 5, 1000000, 2.5, "0", "-0", "1",
                     "true", "false", "1e+06", "5", "<nil>", "", "a", [], [1], [True], ["a"], {"k": 1}]
SCALARS = st.sampled_from([True, False, 0, 1, -0.0, 1.0, 5, 1e6, 2**53 + 1, "0", "-0", "1", "true",
                           "false", "1e+06", "5", "<nil>", None, "a", [1], [True], {"k": 1}])


@pytest.mark.parametrize(("a", "b"), [(True, 1), (False, 0), (1, True), (0, False), ([True], [1]),
                                      (0, -0.0), ("0", 0), ("-0", -0.0), (1, "1.0")])
def test_values_the_engine_tells_apart_get_different_keys(a: Any, b: Any) -> None:
    assert eq_key(a) != eq_key(b)
    for op in ("eq", "neq", "contains"):
        assert not same_value(op, a, b)
    assert not same_value("in", [a], [b])


@pytest.mark.parametrize(("a", "b"), [(5, "5"), (5, 5.0), (1000000, "1e+06"), (True, "true"), (None, "<nil>"),
                                      ([1, True], "[1 true]"), (2**53, 2**53 + 1)])
def test_values_the_engine_cannot_tell_apart_share_a_key(a: Any, b: Any) -> None:
    assert eq_key(a) == eq_key(b)
    assert same_value("eq", a, b) and same_value("in", [a, b], [b])


def test_operator_specific_keys() -> None:
    assert same_value("lt", 1, 1.0) and same_value("gte", 0, -0.0)
    assert not same_value("contains", "true", True)  # a string is also a substring test
    assert same_value("in", ["a", "b", "a"], ["b", "a"])
    assert value_key("in", []) == NEVER and value_key("not_in", []) != NEVER
    assert never_holds("lt", "5") and never_holds("exists", 1) and never_holds("regex", 5)
    assert never_holds("lt", float("-inf")) and not never_holds("lte", float("-inf"))
    assert not never_holds("eq", None) and not never_holds("contains", 1)


def test_zero_classes_overlap_as_the_engine_says() -> None:
    # the number 0 equals both 0 and -0.0 (numerically), and the string "0" (%v); -0.0 prints "-0"
    assert may_both_eq(0, -0.0) and may_both_eq(0, "0") and may_both_eq(-0.0, "-0") and may_both_eq(0, "-0")
    assert not may_both_eq("0", "-0") and not may_both_eq(True, 1) and not may_both_eq(False, 0)


@settings(max_examples=examples(300))
@given(SCALARS, SCALARS, st.sampled_from(["eq", "neq", "contains", "lt", "gte", "in", "not_in"]))
def test_same_key_means_same_decisions(a: Any, b: Any, op: str) -> None:
    va, vb = ([a], [b]) if op in ("in", "not_in") else (a, b)
    decide_a = [holds(op, va, p) for p in PROBES]
    decide_b = [holds(op, vb, p) for p in PROBES]
    if same_value(op, va, vb):
        assert decide_a == decide_b
    if op in ("eq", "neq", "in", "not_in") and decide_a != decide_b:
        assert not same_value(op, va, vb)


@settings(max_examples=examples(300))
@given(SCALARS, SCALARS)
def test_may_both_eq_is_exact_on_the_probes(a: Any, b: Any) -> None:
    both = any(holds("eq", a, p) and holds("eq", b, p) for p in PROBES if p is not NOT_FOUND)
    if both:
        assert may_both_eq(a, b)
