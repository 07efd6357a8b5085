"""Counter families: fixed calendar windows with Intercept's reset rule, the exact sliding log, and
flat memory however long the trace runs."""

from __future__ import annotations

import pytest

from policyctl.engine.counters import NS, CounterStore, FixedStore, SlidingCounter
from policyctl.engine.evaluator import Evaluator
from policyctl.policy.dialects.policylayer.model import Policy

MIN = 60 * NS
T0 = 1795478400 * NS  # 2026-11-24T00:00:00Z


def fixed_family(length: int = MIN):
    store = CounterStore("fixed")
    return store, store.get(("tool", "t", "c", "minute"), length)


def test_fixed_reserve_count_release():
    _, fam = fixed_family()
    assert fam.count("g", T0) == 0
    fam.reserve("g", T0)
    fam.reserve("g", T0 + 59 * NS)
    assert fam.count("g", T0 + 30 * NS) == 2
    assert fam.count("g", T0 + MIN) == 0  # next window
    assert fam.count("other", T0) == 0
    fam.release("g", T0)
    assert fam.count("g", T0) == 1


def test_fixed_release_never_goes_below_zero():
    _, fam = fixed_family()
    fam.reserve("g", T0)
    fam.release("g", T0)
    fam.release("g", T0)
    assert fam.count("g", T0) == 0


def test_fixed_counts_of_one_length_restart_together_when_the_grants_window_turns():
    store = CounterStore("fixed")
    a = store.get(("tool", "a", "c", "minute"), MIN)
    b = store.get(("all_tools", "", "c", "minute"), MIN)
    h = store.get(("tool", "a", "h", "hour"), 3600 * NS)
    for fam in (a, b, h):
        fam.reserve("g", T0)
    a.reserve("g", T0 + MIN)  # next minute: both minute counts restart, the hour count does not
    assert (a.count("g", T0 + MIN), b.count("g", T0 + MIN), h.count("g", T0 + MIN)) == (1, 0, 1)
    assert store.fixed.grants["g"][0] == (T0 + MIN) // MIN  # the minute marker


def test_fixed_window_and_reset_time():
    _, fam = fixed_family(3600 * NS)
    ts = T0 + 3600 * NS + 1234 * NS
    assert fam.window(ts) == (T0 + 3600 * NS, T0 + 7200 * NS)
    assert fam.resets_at("g", ts) == T0 + 7200 * NS


def test_fixed_families_must_be_registered_before_calls():
    store = FixedStore()
    store.add_family(MIN)
    store.state("g", T0)
    with pytest.raises(RuntimeError):
        store.add_family(MIN)


def test_fixed_idle_grants_are_swept_so_memory_stays_flat():
    ev = Evaluator(Policy.from_data({"version": "1", "default": "allow", "all_tools": {
        "limits": [{"counter": "c", "window": "minute", "max": 5, "scope": "grant"}]}}))
    peak = 0
    for i in range(20_000):  # 20,000 distinct grants, one call each, one every second
        ev.evaluate_ns(T0 + i * NS, f"grant-{i}", "t", {})
        peak = max(peak, ev.store.grants_held())
    assert peak <= 200  # about two minutes' worth of grants, not 20,000


def test_sliding_interval_is_half_open():
    c = SlidingCounter(MIN)
    c.reserve("g", T0)
    assert c.count("g", T0) == 1
    assert c.count("g", T0 + MIN - 1) == 1
    assert c.count("g", T0 + MIN) == 0  # exactly one length old: out
    assert c.count("g", T0 - 1) == 0  # a later reservation does not count for an earlier time


def test_sliding_release_removes_one_reservation():
    c = SlidingCounter(MIN)
    c.reserve("g", T0)
    c.reserve("g", T0)
    c.release("g", T0)
    assert c.count("g", T0) == 1
    c.release("g", T0 + 5)  # nothing logged at that time: no change
    assert c.count("g", T0) == 1


def test_sliding_out_of_order_reservations_are_counted_exactly():
    c = SlidingCounter(MIN)
    for t in (T0 + 50 * NS, T0 + 10 * NS, T0 + 30 * NS):
        c.reserve("g", t)
    assert c.count("g", T0 + 55 * NS) == 3
    assert c.count("g", T0 + 20 * NS) == 1
    assert c.count("g", T0 + 80 * NS) == 2
    assert c.resets_at("g", T0 + 55 * NS) == T0 + 70 * NS


def test_sliding_logs_stay_short_and_idle_grants_are_forgotten():
    c = SlidingCounter(MIN)
    for i in range(10_000):
        t = T0 + i * NS
        if c.count("hot", t) < 60:
            c.reserve("hot", t)
        c.reserve(f"cold-{i}", t)
    assert len(c.logs["hot"]) <= 200  # at most two lengths of reservations are kept
    assert len(c.logs) <= 400  # cold grants older than two lengths are swept
