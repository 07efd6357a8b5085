"""Operator truth tables (Intercept's semantics) and Go %v formatting, for the reference `test`,
the compiled closures and the expressions inlined into programs — all three must agree."""

from __future__ import annotations

import math
import time

import pytest

from policyctl.documents.gofmt import format_float, go_v
from policyctl.policy.operators import NOT_FOUND, compile_regex, compile_test, eq, inline_expr, resolve
from policyctl.policy.operators import test as reference_test


def _inline(op, expected):
    ns = {"NF": NOT_FOUND}
    n = [0]

    def bind(prefix, value):
        n[0] += 1
        ns[f"{prefix}{n[0]}"] = value
        return f"{prefix}{n[0]}"

    expr = inline_expr(op, expected, bind)
    exec(f"def f(v):\n    return bool({expr})\n", ns)
    return ns["f"]


def check(op, expected, actual, want):
    """All three implementations give ``want``."""
    assert reference_test(op, expected, actual) is want, ("reference", op, expected, actual)
    assert bool(compile_test(op, expected)(actual)) is want, ("compiled", op, expected, actual)
    assert _inline(op, expected)(actual) is want, ("inline", op, expected, actual)


# --- Go %v -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (5, "5"), (5.0, "5"), (-5, "-5"), (0, "0"), (-0.0, "-0"), (1.5, "1.5"), (0.1, "0.1"),
    (100000, "100000"), (123456, "123456"), (999999, "999999"), (1000000, "1e+06"), (1000000.0, "1e+06"),
    (1234567, "1.234567e+06"), (123456789, "1.23456789e+08"), (1e21, "1e+21"), (1e20, "1e+20"),
    (0.0001, "0.0001"), (0.00012345, "0.00012345"), (0.00001, "1e-05"), (1.5e-7, "1.5e-07"),
    (2**53, "9.007199254740992e+15"), (2**53 + 1, "9.007199254740992e+15"), (1e100, "1e+100"),
    (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (-1000000, "-1e+06"),
    (123456.7, "123456.7"), (999999.9, "999999.9"), (12345678901234567890, "1.2345678901234567e+19"),
])
def test_go_v_float(value, text):
    assert go_v(value) == text


@pytest.mark.parametrize("value, text", [
    (True, "true"), (False, "false"), (None, "<nil>"), ("x y", "x y"), ("", ""),
    ([], "[]"), (["a", 1, True, None], "[a 1 true <nil>]"), ({}, "map[]"),
    ({"b": 2, "a": [1e6]}, "map[a:[1e+06] b:2]"), ([{"k": "v"}], "[map[k:v]]"),
])
def test_go_v_other(value, text):
    assert go_v(value) == text


def test_format_float_specials():
    assert format_float(math.inf) == "+Inf" and format_float(-math.inf) == "-Inf" and format_float(math.nan) == "NaN"


# --- eq / neq ----------------------------------------------------------------------------------

@pytest.mark.parametrize("expected, actual, want", [
    (5, 5, True), (5, 5.0, True), (5.0, 5, True), (5, 6, False), (5, "5", True), ("5", 5, True),
    ("5.0", 5, False), (True, "true", True), ("true", True, True), (True, True, True), (True, False, False),
    (True, 1, False), (1, True, False), (0, False, False), (1000000, "1e+06", True), (1000000, "1000000", False),
    ("1e+06", 1000000, True), ("1e+06", 1e6, True), (None, None, True), (None, "<nil>", True),
    ("<nil>", None, True), ("abc", "abc", True), ("abc", "ABC", False), (["a", "b"], "[a b]", True),
    (["a", "b"], ["a", "b"], True), ({"k": 1}, {"k": 1.0}, True), ({"k": 1}, "map[k:1]", True),
    (2**53, 2**53 + 1, True),  # doubles: both round to 9007199254740992
    (0.1, 0.1, True), (0, -0.0, True), ("", "", True), ("x", NOT_FOUND, False),
])
def test_eq(expected, actual, want):
    check("eq", expected, actual, want)


@pytest.mark.parametrize("expected, actual, want", [
    (5, 6, True), (5, "5", False), ("true", True, False), ("x", "y", True), ("x", NOT_FOUND, False),
    (None, None, False), (1000000, "1e+06", False), (True, 1, True),
])
def test_neq(expected, actual, want):
    check("neq", expected, actual, want)


# --- in / not_in -------------------------------------------------------------------------------

@pytest.mark.parametrize("expected, actual, want", [
    (["usd", "eur"], "usd", True), (["usd", "eur"], "jpy", False), ([1, 2], 2, True), ([1, 2], 2.0, True),
    ([1, 2], "2", True), (["2"], 2, True), ([True], "true", True), (["true"], True, True), ([1], True, False),
    ([None], None, True), ([1000000], "1e+06", True), ([], "x", False), (["a"], NOT_FOUND, False),
    ([["a"]], ["a"], True), (["x"], ["x"], False),
])
def test_in(expected, actual, want):
    check("in", expected, actual, want)
    if actual is not NOT_FOUND:
        check("not_in", expected, actual, not want)


def test_not_in_is_false_when_missing():
    check("not_in", ["a"], NOT_FOUND, False)


def test_in_with_non_list_value_never_matches():
    check("in", "abc", "a", False)
    check("not_in", "abc", "z", False)


# --- numeric comparisons -----------------------------------------------------------------------

@pytest.mark.parametrize("op, expected, actual, want", [
    ("lt", 10, 9, True), ("lt", 10, 10, False), ("lt", 10, 11, False), ("lt", 10, 9.999, True),
    ("lte", 10, 10, True), ("lte", 10, 10.0, True), ("lte", 10, 10.0001, False),
    ("gt", 100, 101, True), ("gt", 100, 100, False), ("gt", 100, 100.5, True), ("gt", 100.5, 100, False),
    ("gte", 100, 100, True), ("gte", 100, 99, False), ("gte", -1, -1.0, True),
    ("gt", 100, "101", False), ("lt", 100, "1", False), ("gt", 0, True, False), ("lt", 5, False, False),
    ("gt", 1, None, False), ("gt", 1, [2], False), ("gt", 1, {"a": 2}, False), ("gt", 1, NOT_FOUND, False),
    ("gt", 9007199254740992, 2**53 + 1, False),  # 2**53 + 1 is 2**53 as a double
    ("gte", 9007199254740992, 2**53 + 1, True), ("lt", 1e300, 10**400, False), ("gt", 1e300, 10**400, True),
    ("gt", 1e308, 2**1100, True), ("lt", 0, -(2**70), True),
])
def test_numeric(op, expected, actual, want):
    check(op, expected, actual, want)


def test_numeric_with_non_numeric_value_never_matches():
    for op in ("lt", "lte", "gt", "gte"):
        check(op, "5", 4, False)
        check(op, True, 1, False)


# --- exists ------------------------------------------------------------------------------------

@pytest.mark.parametrize("expected, actual, want", [
    (True, "x", True), (True, "", True), (True, 0, True), (True, False, True), (True, [], True),
    (True, None, False), (True, NOT_FOUND, False), (False, NOT_FOUND, True), (False, None, True),
    (False, "x", False), ("yes", "x", False), (1, "x", False),
])
def test_exists(expected, actual, want):
    check("exists", expected, actual, want)


# --- regex -------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, actual, want", [
    ("^npm test$", "npm test", True), ("^npm test$", "npm test; rm -rf /", False),
    ("rm", "npm test; rm -rf /", True),  # unanchored search
    (r"[;&|`]|\$\(", "echo $(id)", True), (r"\brm\b", "rmdir x", False), ("(?i)TOKEN", "my_token", True),
    ("^.*$", "", True), ("é", "café", True), (r"^\d+$", 123, False), ("true", True, False),
    ("a", ["a"], False), ("x", None, False), ("x", NOT_FOUND, False),
    ("(?<=a)b", "ab", False),  # RE2 has no lookbehind: the pattern does not compile, never matches
    (r"(a)\1", "aa", False),  # no backreferences either
    ("[", "[", False),
    # C++ RE2 compiles these, Go's regexp (the gateway) does not: they never match (SPEC §3)
    ("(?i)drop\\C*table", "DROP  TABLE users", False), ("a\\Cb", "axb", False), ("\\C", "x", False),
    ("(?P<名>x)", "x", False), ("(?<é>x)", "x", False),
    # ...while the same characters where they are literal, or an ASCII name, are fine
    ("\\Q\\C\\E", "a\\Cb", True), ("\\\\C", "\\C", True), ("(?P<n_1>x)", "x", True),
])
def test_regex(pattern, actual, want):
    check("regex", pattern, actual, want)


def test_memo_keeps_only_short_texts():
    # C7: the memo must not keep long argument strings alive (memory would grow with the trace)
    search = compile_regex("^[a-z0-9]+$")
    search.memo.clear()
    long_texts = [f"{i:08d}" + "a" * 100_000 for i in range(50)]
    assert all(search(t) for t in long_texts)
    assert search("short") is True and search("not ok") is False
    assert sorted(search.memo) == ["not ok", "short"]
    assert all(len(t) <= 256 for t in search.memo)


def test_regex_is_linear_time_on_hostile_input():
    start = time.perf_counter()
    check("regex", "(a+)+$", "a" * 50_000 + "!", False)
    check("regex", "(x+x+)+y", "x" * 50_000, False)
    assert time.perf_counter() - start < 2.0


def test_regex_memo_gives_the_same_answers_after_many_distinct_texts():
    f = compile_test("regex", "^k[0-9]+$")
    for i in range(10_000):  # more than the memo holds: it starts over and stays correct
        assert f(f"k{i}") is True
        assert f(f"x{i}") is False


# --- contains ----------------------------------------------------------------------------------

@pytest.mark.parametrize("expected, actual, want", [
    ("rm", "npm test; rm", True), ("rm", "npm", False), ("", "anything", True),
    ("security", ["bug", "security"], True), ("security", ["bug"], False), (1, [1, 2], True),
    (1, ["1"], True), ("1", [1], True), (True, ["true"], True), (5, "12345", False),  # value not a string
    ("a", {"a": 1}, False), ("a", 5, False), ("a", None, False), ("a", NOT_FOUND, False),
    ([1], [[1]], True), (None, [None], True),
])
def test_contains(expected, actual, want):
    check("contains", expected, actual, want)


# --- paths -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, segments, want", [
    ({"a": 1}, ("a",), 1), ({"a": {"b": {"c": "x"}}}, ("a", "b", "c"), "x"), ({}, ("a",), NOT_FOUND),
    ({"a": None}, ("a",), None), ({"a": None}, ("a", "b"), NOT_FOUND), ({"a": "str"}, ("a", "b"), NOT_FOUND),
    ({"a": [{"b": 1}]}, ("a", "b"), NOT_FOUND), ({"a": [1]}, ("a", "0"), NOT_FOUND),
    ({"a": {"b": 1}}, ("a", "c"), NOT_FOUND), ({"a.b": 1}, ("a", "b"), NOT_FOUND),
])
def test_resolve(args, segments, want):
    assert resolve(args, segments) is want or resolve(args, segments) == want


def test_eq_helper_matches_intercept_examples():
    assert eq("5", 5) and eq("true", True) and eq(1000000, "1e+06") and not eq(1, True)
