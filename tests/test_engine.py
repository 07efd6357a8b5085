"""The evaluator's semantics (SPEC §2) as a case table: steps, rule ids, messages, limits, windows."""

from __future__ import annotations

import pytest

from policyctl.engine.evaluator import ALLOWED, Decision, Evaluator, seconds_to_ns
from policyctl.policy.dialects.policylayer.model import Policy
from policyctl.traces.reader import parse_ts


def T(text: str) -> int:
    return parse_ts(text)


def lim(counter: str, window: str = "minute", mx: int = 2) -> dict:
    return {"counter": counter, "window": window, "max": mx, "scope": "grant"}


def cond(path: str, op: str, value: object) -> dict:
    return {"path": path, "op": op, "value": value}


def make(tools: dict | None = None, *, default: str = "deny", hide: list | None = None,
         all_limits: list | None = None, windows: str = "fixed") -> Evaluator:
    data: dict = {"version": "1", "default": default, "tools": tools or {}}
    if hide is not None:
        data["hide"] = hide
    if all_limits is not None:
        data["all_tools"] = {"limits": all_limits}
    return Evaluator(Policy.from_data(data), windows=windows)


def run(ev: Evaluator, calls: list[tuple]) -> list[Decision]:
    """calls: (ts text, grant, tool, args[, upstream_error])."""
    out = []
    for c in calls:
        ts, grant, tool, args = c[:4]
        out.append(ev.evaluate_ns(T(ts), grant, tool, args, upstream_error=c[4] if len(c) > 4 else False))
    return out


def reasons(ds: list[Decision]) -> list[str]:
    return [d.reason for d in ds]


TS = "2026-11-24T10:00:00Z"


# --- hide and default --------------------------------------------------------------------------

def test_hidden_tool_is_denied_with_exact_rule_and_message():
    ev = make({"x": {}}, hide=["x"])
    assert ev.evaluate_ns(T(TS), "g", "x", {}) == Decision(False, "hidden", "(hidden)", 'Tool "x" is hidden by policy')


def test_hide_star_hides_everything_even_listed_and_under_default_allow():
    ev = make({"a": {}}, default="allow", hide=["*"])
    assert {ev.evaluate_ns(T(TS), "g", t, {}).reason for t in ("a", "b", "*")} == {"hidden"}


def test_hide_other_tools_unaffected():
    ev = make({"a": {}, "b": {}}, hide=["a"])
    assert ev.evaluate_ns(T(TS), "g", "b", {}) == ALLOWED


def test_default_deny_unlisted_and_listed_empty_entry_allowed():
    ev = make({"listed": {}})
    assert ev.evaluate_ns(T(TS), "g", "other", {}) == Decision(
        False, "default_deny", "(default deny)", 'Tool "other" is not permitted by policy')
    assert ev.evaluate_ns(T(TS), "g", "listed", {}) == ALLOWED


def test_default_allow_unlisted_tool_allowed_but_passes_all_tools_limits():
    ev = make({}, default="allow", all_limits=[lim("calls", mx=1)])
    ds = run(ev, [(TS, "g", "anything", {}), ("2026-11-24T10:00:01Z", "g", "else", {})])
    assert ds[0] == ALLOWED
    assert ds[1] == Decision(False, "rate_limited", "/all_tools/limits/calls",
                             'Rate limit of 1 per minute reached (counter "calls")')


def test_hidden_beats_default_deny_and_rules():
    ev = make({"x": {"deny_if": [{"conditions": []}]}}, hide=["x"])
    assert ev.evaluate_ns(T(TS), "g", "x", {}).reason == "hidden"


# --- require -----------------------------------------------------------------------------------

def test_require_id_names_first_failing_condition_and_uses_on_deny():
    ev = make({"t": {"require": [{"conditions": [cond("args.a", "exists", True), cond("args.b", "eq", "x")],
                                  "on_deny": "need a and b=x"}]}})
    assert ev.evaluate_ns(T(TS), "g", "t", {"a": 1, "b": "y"}) == Decision(
        False, "require", "/tools/t/require/args.b-eq", "need a and b=x")
    assert ev.evaluate_ns(T(TS), "g", "t", {"b": "x"}).rule == "/tools/t/require/args.a-exists"
    assert ev.evaluate_ns(T(TS), "g", "t", {"a": 1, "b": "x"}) == ALLOWED


def test_require_default_message_quotes_full_rule_id_and_empty_on_deny_counts_as_absent():
    ev = make({"t": {"require": [{"conditions": [cond("args.a", "exists", True)], "on_deny": ""}]}})
    d = ev.evaluate_ns(T(TS), "g", "t", {})
    assert d.message == 'Denied by rule "/tools/t/require/args.a-exists"'


def test_require_rules_all_must_hold_in_order():
    ev = make({"t": {"require": [{"conditions": [cond("args.a", "eq", 1)]},
                                 {"conditions": [cond("args.b", "eq", 2)]}]}})
    assert ev.evaluate_ns(T(TS), "g", "t", {"a": 1, "b": 3}).rule == "/tools/t/require/args.b-eq"
    assert ev.evaluate_ns(T(TS), "g", "t", {"a": 0, "b": 3}).rule == "/tools/t/require/args.a-eq"


def test_require_with_no_conditions_always_holds():
    ev = make({"t": {"require": [{"conditions": [], "on_deny": "never"}]}})
    assert ev.evaluate_ns(T(TS), "g", "t", {}) == ALLOWED


def test_require_missing_path_fails_except_exists_false():
    ev = make({"t": {"require": [{"conditions": [cond("args.secret", "exists", False)]}]}})
    assert ev.evaluate_ns(T(TS), "g", "t", {}) == ALLOWED
    assert ev.evaluate_ns(T(TS), "g", "t", {"secret": "s"}).reason == "require"
    ev = make({"t": {"require": [{"conditions": [cond("args.n", "neq", 5)]}]}})
    assert ev.evaluate_ns(T(TS), "g", "t", {}).reason == "require"  # neq on a missing path is false


# --- deny_if -----------------------------------------------------------------------------------

def test_deny_if_id_is_first_condition_even_when_later_ones_decide():
    ev = make({"t": {"deny_if": [{"conditions": [cond("args.base", "eq", "main"), cond("args.n", "lt", 1)],
                                  "on_deny": "needs approval"}]}})
    assert ev.evaluate_ns(T(TS), "g", "t", {"base": "main", "n": 0}) == Decision(
        False, "deny_if", "/tools/t/deny_if/args.base-eq", "needs approval")
    assert ev.evaluate_ns(T(TS), "g", "t", {"base": "main", "n": 1}) == ALLOWED
    assert ev.evaluate_ns(T(TS), "g", "t", {"base": "dev", "n": 0}) == ALLOWED


def test_deny_if_empty_conditions_always_denies_with_index_id():
    ev = make({"create_refund": {"deny_if": [{"conditions": [cond("args.x", "eq", 1)]},
                                             {"conditions": [], "on_deny": "Requires human approval."}]}})
    assert ev.evaluate_ns(T(TS), "g", "create_refund", {}) == Decision(
        False, "deny_if", "/tools/create_refund/deny_if/1", "Requires human approval.")
    ev = make({"t": {"deny_if": [{"conditions": []}]}})
    assert ev.evaluate_ns(T(TS), "g", "t", {}).message == 'Denied by rule "/tools/t/deny_if/0"'


def test_first_matching_deny_if_wins():
    ev = make({"t": {"deny_if": [{"conditions": [cond("args.a", "gt", 10)], "on_deny": "first"},
                                 {"conditions": [cond("args.a", "gt", 5)], "on_deny": "second"}]}})
    assert ev.evaluate_ns(T(TS), "g", "t", {"a": 20}).message == "first"
    assert ev.evaluate_ns(T(TS), "g", "t", {"a": 7}).message == "second"


def test_require_is_checked_before_deny_if():
    ev = make({"t": {"require": [{"conditions": [cond("args.a", "exists", True)]}],
                     "deny_if": [{"conditions": []}]}})
    assert ev.evaluate_ns(T(TS), "g", "t", {}).reason == "require"
    assert ev.evaluate_ns(T(TS), "g", "t", {"a": 1}).reason == "deny_if"


def test_nested_paths_and_non_object_intermediates():
    ev = make({"t": {"deny_if": [{"conditions": [cond("args.repo.visibility.level", "eq", "private")]}]}})
    assert ev.evaluate_ns(T(TS), "g", "t", {"repo": {"visibility": {"level": "private"}}}).reason == "deny_if"
    for args in ({}, {"repo": "private"}, {"repo": {"visibility": ["level"]}}, {"repo": None},
                 {"repo": {"visibility": {"level": None}}}):
        assert ev.evaluate_ns(T(TS), "g", "t", args) == ALLOWED, args


def test_tool_names_are_escaped_as_json_pointer_tokens_in_rule_ids():
    ev = make({"a/b~c": {"deny_if": [{"conditions": []}], "limits": [lim("c")]}})
    assert ev.evaluate_ns(T(TS), "g", "a/b~c", {}).rule == "/tools/a~1b~0c/deny_if/0"
    ev = make({"a/b": {"limits": [lim("c", mx=1)]}})
    run(ev, [(TS, "g", "a/b", {})])
    d = ev.evaluate_ns(T(TS), "g", "a/b", {})
    assert d.rule == "/tools/a~1b/limits/c" and d.message == 'Rate limit of 1 per minute reached (counter "c")'
    assert ev.evaluate_ns(T(TS), "g", "x/y", {}).message == 'Tool "x/y" is not permitted by policy'


def test_decision_property():
    assert ALLOWED.decision == "allow"
    assert Decision(False, "hidden", "(hidden)", "m").decision == "deny"


# --- limits ------------------------------------------------------------------------------------

def test_max_boundary_allows_exactly_max_then_refuses():
    ev = make({"end_session": {"limits": [lim("end_session_rate", mx=3)]}})
    ds = run(ev, [(f"2026-11-24T10:00:0{i}Z", "g", "end_session", {}) for i in range(5)])
    assert reasons(ds) == ["allowed"] * 3 + ["rate_limited"] * 2
    assert ds[3].rule == "/tools/end_session/limits/end_session_rate"
    assert ds[3].message == 'Rate limit of 3 per minute reached (counter "end_session_rate")'


def test_denied_calls_do_not_consume_quota():
    ev = make({"t": {"deny_if": [{"conditions": [cond("args.bad", "eq", True)]}], "limits": [lim("c", mx=2)]}},
              all_limits=[lim("all", mx=2)])
    ds = run(ev, [(TS, "g", "t", {"bad": True})] * 5 + [(TS, "g", "nope", {})] * 3 + [(TS, "g", "t", {})] * 3)
    assert reasons(ds) == ["deny_if"] * 5 + ["default_deny"] * 3 + ["allowed", "allowed", "rate_limited"]


def test_rate_limited_call_rolls_back_earlier_reservations():
    # the tool's own limit has room, the all_tools one is full: the tool bucket must not keep the unit
    ev = make({"a": {"limits": [lim("own", mx=5)]}, "b": {}}, all_limits=[lim("global", mx=2)])
    ds = run(ev, [(TS, "g", "b", {}), (TS, "g", "b", {})] + [(TS, "g", "a", {})] * 3)
    assert reasons(ds) == ["allowed", "allowed", "rate_limited", "rate_limited", "rate_limited"]
    assert ds[2].rule == "/all_tools/limits/global"
    fam = ev.limits("a")[0][2]
    assert fam.count("g", T(TS)) == 0  # nothing left behind by the three refused calls
    ds = run(ev, [("2026-11-24T10:01:00Z", "g", "a", {})] * 6)
    assert reasons(ds) == ["allowed", "allowed"] + ["rate_limited"] * 4  # global refuses again
    assert fam.count("g", T("2026-11-24T10:01:00Z")) == 2


def test_rollback_in_a_chain_of_three_limits():
    ev = make({"t": {"limits": [lim("one", mx=10), lim("two", mx=10)]}}, all_limits=[lim("three", mx=1)])
    run(ev, [(TS, "g", "t", {})])
    d = run(ev, [(TS, "g", "t", {})])[0]
    assert d.rule == "/all_tools/limits/three"
    one, two, three = (f for _, _, f in ev.limits("t"))
    assert (one.count("g", T(TS)), two.count("g", T(TS)), three.count("g", T(TS))) == (1, 1, 1)


def test_tool_limits_are_checked_before_all_tools_limits():
    ev = make({"t": {"limits": [lim("own", mx=1)]}}, all_limits=[lim("global", mx=1)])
    run(ev, [(TS, "g", "t", {})])
    assert ev.evaluate_ns(T(TS), "g", "t", {}).rule == "/tools/t/limits/own"


def test_separate_buckets_per_grant():
    ev = make({"t": {"limits": [lim("c", mx=1)]}})
    assert reasons(run(ev, [(TS, "g1", "t", {}), (TS, "g2", "t", {}), (TS, "g1", "t", {}), (TS, "g2", "t", {})])) == \
        ["allowed", "allowed", "rate_limited", "rate_limited"]


def test_same_counter_name_on_two_tools_has_separate_buckets():
    ev = make({"a": {"limits": [lim("shared", mx=1)]}, "b": {"limits": [lim("shared", mx=1)]}})
    assert reasons(run(ev, [(TS, "g", "a", {}), (TS, "g", "b", {}), (TS, "g", "a", {})])) == \
        ["allowed", "allowed", "rate_limited"]


def test_all_tools_location_never_merges_with_a_tool_named_all_tools():
    ev = make({"all_tools": {"limits": [lim("calls", mx=1)]}, "x": {}}, all_limits=[lim("calls", mx=2)])
    ds = run(ev, [(TS, "g", "all_tools", {}), (TS, "g", "x", {}), (TS, "g", "all_tools", {})])
    assert reasons(ds) == ["allowed", "allowed", "rate_limited"]
    assert ds[2].rule == "/tools/all_tools/limits/calls"  # its own bucket (1 call), not the global one
    d = ev.evaluate_ns(T(TS), "g", "x", {})
    assert d.rule == "/all_tools/limits/calls"  # the global bucket holds 2


def test_all_tools_limits_are_shared_by_every_tool():
    ev = make({"a": {}, "b": {}}, all_limits=[lim("global", mx=2)])
    assert reasons(run(ev, [(TS, "g", "a", {}), (TS, "g", "b", {}), (TS, "g", "a", {})])) == \
        ["allowed", "allowed", "rate_limited"]


def test_same_counter_twice_on_one_tool_shares_one_bucket_and_each_reserves():
    ev = make({"t": {"limits": [lim("c", mx=4), lim("c", mx=4)]}})
    ds = run(ev, [(TS, "g", "t", {})] * 3)
    assert reasons(ds) == ["allowed", "allowed", "rate_limited"]  # 2 units per call; third sees 4
    fam = ev.limits("t")[0][2]
    assert ev.limits("t")[1][2] is fam and fam.count("g", T(TS)) == 4


def test_same_counter_different_windows_are_different_buckets():
    ev = make({"t": {"limits": [lim("c", "minute", 2), lim("c", "hour", 3)]}})
    ds = run(ev, [("2026-11-24T10:00:00Z", "g", "t", {}), ("2026-11-24T10:00:01Z", "g", "t", {}),
                  ("2026-11-24T10:01:00Z", "g", "t", {}), ("2026-11-24T10:02:00Z", "g", "t", {})])
    assert reasons(ds) == ["allowed", "allowed", "allowed", "rate_limited"]
    assert ds[3].message == 'Rate limit of 3 per hour reached (counter "c")'


def test_upstream_error_releases_the_calls_reservations():
    ev = make({"t": {"limits": [lim("c", mx=2)]}}, all_limits=[lim("g", mx=2)])
    ds = run(ev, [(TS, "g", "t", {}, True), (TS, "g", "t", {}, True), (TS, "g", "t", {}), (TS, "g", "t", {}),
                  (TS, "g", "t", {})])
    assert reasons(ds) == ["allowed"] * 4 + ["rate_limited"]
    assert ds[0] == ALLOWED  # the failed call itself was allowed


def test_upstream_error_on_a_denied_call_changes_nothing():
    ev = make({"t": {"limits": [lim("c", mx=1)]}})
    ds = run(ev, [(TS, "g", "t", {}), (TS, "g", "t", {}, True), (TS, "g", "t", {})])
    assert reasons(ds) == ["allowed", "rate_limited", "rate_limited"]


# --- fixed windows: calendar edges ---------------------------------------------------------------

@pytest.mark.parametrize("window, last, first_of_next", [
    ("minute", "2026-11-24T10:00:59.999Z", "2026-11-24T10:01:00.000Z"),
    ("hour", "2026-11-24T10:59:59.999Z", "2026-11-24T11:00:00.000Z"),
    ("day", "2026-11-24T23:59:59.999Z", "2026-11-25T00:00:00.000Z"),
])
def test_fixed_window_edges(window, last, first_of_next):
    start = {"minute": "2026-11-24T10:00:00.000Z", "hour": "2026-11-24T10:00:00.000Z",
             "day": "2026-11-24T00:00:00.000Z"}[window]
    ev = make({"t": {"limits": [lim("c", window, 2)]}})
    ds = run(ev, [(start, "g", "t", {}), (last, "g", "t", {}), (last, "g", "t", {}), (first_of_next, "g", "t", {}),
                  (first_of_next, "g", "t", {}), (first_of_next, "g", "t", {})])
    assert reasons(ds) == ["allowed", "allowed", "rate_limited", "allowed", "allowed", "rate_limited"]


def test_fixed_windows_are_utc_calendar_aligned_whatever_the_offset():
    ev = make({"t": {"limits": [lim("c", "hour", 1)]}})
    # 10:59:59+02:00 is 08:59:59Z; 11:00:00+02:00 is 09:00:00Z: a new UTC hour
    ds = run(ev, [("2026-11-24T10:59:59+02:00", "g", "t", {}), ("2026-11-24T11:00:00+02:00", "g", "t", {})])
    assert reasons(ds) == ["allowed", "allowed"]
    # +05:30: 10:30 local is 05:00Z, 10:59 local is 05:29Z: same UTC hour
    ev = make({"t": {"limits": [lim("c", "hour", 1)]}})
    ds = run(ev, [("2026-11-24T10:30:00+05:30", "g", "t", {}), ("2026-11-24T10:59:00+05:30", "g", "t", {})])
    assert reasons(ds) == ["allowed", "rate_limited"]


def test_fixed_edge_burst_admits_twice_max_within_one_length():
    ev = make({"t": {"limits": [lim("c", "minute", 5)]}})
    ds = run(ev, [("2026-11-24T10:00:59.900Z", "g", "t", {})] * 5 + [("2026-11-24T10:01:00.000Z", "g", "t", {})] * 5)
    assert reasons(ds) == ["allowed"] * 10  # 10 calls in 100 ms


def test_window_reset_after_a_multi_window_gap():
    ev = make({"t": {"limits": [lim("c", "minute", 1)]}})
    ds = run(ev, [(TS, "g", "t", {}), ("2026-11-24T13:37:00Z", "g", "t", {}), ("2026-11-24T13:37:30Z", "g", "t", {})])
    assert reasons(ds) == ["allowed", "allowed", "rate_limited"]


# --- sliding windows -----------------------------------------------------------------------------

def test_sliding_exact_length_boundary_is_out():
    ev = make({"t": {"limits": [lim("c", "minute", 2)]}}, windows="sliding")
    ds = run(ev, [("2026-11-24T10:00:00.500Z", "g", "t", {}), ("2026-11-24T10:00:30.000Z", "g", "t", {}),
                  ("2026-11-24T10:01:00.499Z", "g", "t", {}),  # 10:00:00.500 still counts (59.999 s old)
                  ("2026-11-24T10:01:00.500Z", "g", "t", {}),  # exactly 60 s old: out, room for one
                  ("2026-11-24T10:01:00.500Z", "g", "t", {})])
    assert reasons(ds) == ["allowed", "allowed", "rate_limited", "allowed", "rate_limited"]


def test_sliding_has_no_edge_burst():
    ev = make({"t": {"limits": [lim("c", "minute", 5)]}}, windows="sliding")
    ds = run(ev, [("2026-11-24T10:00:59.900Z", "g", "t", {})] * 5 + [("2026-11-24T10:01:00.000Z", "g", "t", {})] * 5)
    assert reasons(ds) == ["allowed"] * 5 + ["rate_limited"] * 5


def test_sliding_upstream_error_release_is_not_counted():
    ev = make({"t": {"limits": [lim("c", "minute", 1)]}}, windows="sliding")
    ds = run(ev, [(TS, "g", "t", {}, True), ("2026-11-24T10:00:10Z", "g", "t", {}), ("2026-11-24T10:00:20Z", "g", "t", {})])
    assert reasons(ds) == ["allowed", "allowed", "rate_limited"]


def test_sliding_rollback_and_shared_counters():
    ev = make({"t": {"limits": [lim("own", "hour", 10)]}}, all_limits=[lim("g", "minute", 1)], windows="sliding")
    ds = run(ev, [(TS, "g", "t", {}), (TS, "g", "t", {}), ("2026-11-24T10:01:00Z", "g", "t", {})])
    assert reasons(ds) == ["allowed", "rate_limited", "allowed"]
    assert ev.limits("t")[0][2].count("g", T("2026-11-24T10:01:00Z")) == 2


# --- time conversion -----------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, ns", [
    (0, 0), (1795514400, 1795514400 * 10**9), (1795514400.25, 1795514400250000000),
    (1795514400.1, 1795514400100000000), (1795514400.123456, 1795514400123456000), (-1.5, -1500000000),
    (1e-7, 100), (2.5e9, 2500000000 * 10**9),
])
def test_seconds_to_ns_reads_the_shortest_decimal(seconds, ns):
    assert seconds_to_ns(seconds) == ns


def test_evaluate_float_seconds_agrees_with_ns():
    a = make({"t": {"limits": [lim("c", "minute", 1)]}}, windows="sliding")
    b = make({"t": {"limits": [lim("c", "minute", 1)]}}, windows="sliding")
    for s in (1795514400.1, 1795514460.1, 1795514460.2):
        assert a.evaluate(s, "g", "t", {}) == b.evaluate_ns(seconds_to_ns(s), "g", "t", {})


def test_programs_are_compiled_once_and_share_codes():
    ev = make({"t": {}})
    assert ev.program("t") is ev.program("t")
    code = ev.program("t")(T(TS), "g", {}, False)
    assert ev.decisions[code] == ALLOWED and ev.tools[code] == "t" and ev.origins[code] is None
    assert ev.origins[ev.program("zz")(T(TS), "g", {}, False)] == "/default"


def test_hostile_names_and_values_cannot_change_the_program():
    evil = "x'); __import__('os')('_exit')(9) #\\n"
    ev = make({evil: {"require": [{"conditions": [cond("args." + evil, "eq", evil)]}],
                      "limits": [lim(evil, mx=1)]}})
    assert ev.evaluate_ns(T(TS), evil, evil, {evil: evil}) == ALLOWED
    assert ev.evaluate_ns(T(TS), evil, evil, {evil: evil}).reason == "rate_limited"
    assert ev.evaluate_ns(T(TS), "g", evil, {}).rule == f"/tools/{evil}/require/args.{evil}-eq"


@pytest.mark.parametrize("n", [2, 99, 100, 1000])
def test_a_deny_if_rule_with_many_conditions_compiles_and_decides(n):
    # C3: one nested `if` per condition hit Python's 100 indentation levels at 99 conditions
    conds = [cond(f"args.k{i}", "exists", True) for i in range(n)]
    ev = make({"t": {"deny_if": [{"conditions": conds, "on_deny": "all present"},
                                 {"conditions": [cond("args.k0", "eq", 1)], "on_deny": "k0 is 1"}],
                     "limits": [lim("t", mx=1)]}}, default="allow")
    every = {f"k{i}": 1 for i in range(n)}
    assert ev.evaluate_ns(T(TS), "g", "t", every) == Decision(False, "deny_if", "/tools/t/deny_if/args.k0-exists",
                                                              "all present")
    for missing in (0, n // 2, n - 1):  # any one condition failing lets the next rule decide
        args = {k: v for k, v in every.items() if k != f"k{missing}"}
        assert ev.evaluate_ns(T(TS), "g", "t", args).message == ("k0 is 1" if missing else None)
    # the rules stage of the split program (the parallel path) agrees, and the limit still counts
    rules, limits = ev.stages("t")
    assert ev.decisions[rules(every)].message == "all present" and rules({"k1": 1}) == -1
    assert limits is not None and ev.evaluate_ns(T(TS), "g", "t", {}).reason == "rate_limited"
    depth = max(len(line) - len(line.lstrip(" ")) for line in ev.program("t").__doc__.splitlines()) // 4
    assert depth <= 3
