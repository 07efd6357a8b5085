"""The aggregation behind ``simulate --report``: exact against a brute-force replay, the same on every path."""

from __future__ import annotations

import json
import random
from bisect import bisect_right
from pathlib import Path

import pytest

from policyctl.engine.counters import NS
from policyctl.engine.evaluator import REASONS, Evaluator
from policyctl.policy.dialects.policylayer.model import WINDOW_SECONDS
from policyctl.policy.load import load_policy
from policyctl.simulate import report as report_mod
from policyctl.simulate.run import run
from policyctl.traces.reader import read_trace

START = 1795478400  # 2026-11-24T00:00:00Z


def lim(counter: str, window: str, mx: int) -> dict:
    return {"counter": counter, "window": window, "max": mx, "scope": "grant"}


POLICY = {
    "version": "1",
    "default": "allow",
    "hide": ["h"],
    "all_tools": {"limits": [lim("all", "minute", 6)]},
    "tools": {
        "a": {"limits": [lim("a_rate", "minute", 3)]},
        "b": {"deny_if": [{"conditions": [{"path": "args.x", "op": "gt", "value": 5}], "on_deny": "too big"}]},
        "c": {"limits": [lim("c_h", "hour", 4)]},
    },
}


def write_trace(path: Path, n: int, seed: int, mean_gap: float = 3.0) -> None:
    rnd = random.Random(seed)
    t = float(START)
    lines = []
    for _ in range(n):
        t += rnd.expovariate(1 / mean_gap)
        rec = {"ts": round(t, 3), "grant": rnd.choice(["g1", "g2", "g3"]), "tool": rnd.choice("abcdh"),
               "args": {"x": rnd.randrange(10)}}
        if rnd.random() < 0.05:
            rec["upstream_error"] = True
        lines.append(json.dumps(rec))
    path.write_text("\n".join(lines) + "\n")


def reference(policy, path: str, windows: str) -> dict:
    """Per call, with the reference evaluator: reservations and denials per bucket, then windows."""
    ev = Evaluator(policy, windows=windows)
    reservations: dict[tuple, list[int]] = {}
    denials: dict[tuple, list[int]] = {}
    maxes: dict[tuple, int] = {}
    for call in read_trace(path):
        ts = ev.tick(call.ts_ns)
        d = ev.evaluate_ns(ts, call.grant, call.tool, call.args, upstream_error=bool(call.upstream_error))
        limits = ev.limits(call.tool)
        for loc, limit, _ in limits:
            maxes[("all_tools" if loc is None else loc, limit.counter, limit.window)] = limit.max
        if d.allowed and not call.upstream_error:
            for loc, limit, _ in limits:
                key = (call.grant, "all_tools" if loc is None else loc, limit.counter, limit.window)
                reservations.setdefault(key, []).append(ts)
        elif d.reason == "rate_limited":
            where, _, counter = d.rule.rpartition("/limits/")
            location = "all_tools" if where == "/all_tools" else where.split("/")[2]
            (window,) = {lm.window for loc, lm, _ in limits
                         if lm.counter == counter and ("all_tools" if loc is None else loc) == location}
            denials.setdefault((call.grant, location, counter, window), []).append(ts)
    out = {}
    for key in set(reservations) | set(denials):
        grant, location, counter, window = key
        length = WINDOW_SECONDS[window] * NS
        mx = maxes[(location, counter, window)]
        times = reservations.get(key, [])
        per_window: dict[int, int] = {}
        for ts in times:
            per_window[ts // length] = per_window.get(ts // length, 0) + 1
        bursts = {}
        for i, ts in enumerate(times):  # sliding count at each reservation: (ts - length, ts]
            count = i + 1 - bisect_right(times, ts - length, 0, i + 1)
            if count > mx:
                boundary = ts // length * length
                if count > bursts.get(boundary, (0,))[0]:
                    bursts[boundary] = (count, ts)
        out[key] = {"reserved": len(times), "denied": len(denials.get(key, [])),
                    "peak": max(per_window.values(), default=0),
                    "full": sum(1 for v in per_window.values() if v >= mx),
                    "windows": per_window, "bursts": bursts}
    return out


@pytest.fixture()
def traced(tmp_path: Path):
    ppath = tmp_path / "p.json"
    ppath.write_text(json.dumps(POLICY))
    tpath = tmp_path / "t.jsonl"
    write_trace(tpath, 2500, seed=3)
    return load_policy(str(ppath)).policy, str(tpath)


@pytest.mark.parametrize("windows", ["fixed", "sliding"])
def test_buckets_match_a_brute_force_replay(traced, windows: str, monkeypatch) -> None:
    """Exact counting (always under sliding windows; EXACT under fixed ones): every bucket, every window."""
    monkeypatch.setattr(report_mod, "SHOW_BUCKETS", 1000)
    monkeypatch.setattr(report_mod, "EXACT", True)
    policy, path = traced
    rep = run(policy, path, windows=windows, report=True, parallel=False).report
    ref = reference(policy, path, windows)
    assert rep.other_buckets["buckets"] == 0
    got = {(b.grant, b.location, b.counter, b.window): b for b in rep.buckets}
    assert set(got) == set(ref)
    assert len(got) == 9  # three grants × (all, a_rate, c_h)
    for key, want in ref.items():
        b = got[key]
        assert (b.reserved, b.denied, b.peak, b.windows_full) == (want["reserved"], want["denied"], want["peak"],
                                                                  want["full"]), key
        length = b.length_ns
        for start, count, _denied, _sliding in b.series:
            assert count == want["windows"].get(start // length, 0), (key, start)
        if windows == "fixed":
            assert b.bursts == len(want["bursts"])
            if want["bursts"]:
                worst = max(want["bursts"].items(), key=lambda kv: (kv[1][0], -kv[0]))
                assert b.worst is not None and b.worst.sliding == worst[1][0]
        else:
            assert b.bursts == 0 and b.worst is None
    if windows == "fixed":
        total = sum(len(w["bursts"]) for w in ref.values())
        assert total > 0 and rep.burst_count == total
        for burst in rep.bursts:
            want = ref[(burst.grant, burst.location, burst.counter, burst.window)]["bursts"][burst.boundary_ns]
            assert (burst.sliding, burst.at_ns) == want
            assert burst.sliding > burst.max and burst.before + burst.after >= burst.sliding
    else:
        assert rep.burst_count == 0


def test_fixed_windows_track_buckets_from_half_their_max(traced, monkeypatch) -> None:
    """The default under fixed windows: buckets are tracked from the first window at half of max, with
    the engine's counts; everything from there on equals the brute-force replay, and a burst is missed
    or under-counted only at the two boundaries around the window where tracking began, and only for
    windows longer than the policy's shortest (that window's earlier reservations are counted but not
    timed)."""
    monkeypatch.setattr(report_mod, "SHOW_BUCKETS", 1000)
    monkeypatch.setattr(report_mod, "KEEP_BURSTS", 10 ** 6)
    policy, path = traced
    rep = run(policy, path, report=True, parallel=False).report
    ref = reference(policy, path, "fixed")
    got = {(b.grant, b.location, b.counter, b.window): b for b in rep.buckets}
    maxes = {(b.location, b.counter, b.window): b.max for b in rep.buckets}
    busy = {k for k, v in ref.items() if 2 * v["peak"] >= maxes.get(k[1:], 10 ** 9)}
    assert set(got) == busy and len(busy) >= 6
    found = 0
    for key, b in got.items():
        want = ref[key]
        length = b.length_ns
        assert b.series_from_ns is not None
        assert (b.peak, b.windows_full, b.denied) == (want["peak"], want["full"], want["denied"]), key
        assert b.reserved == sum(n for w, n in want["windows"].items() if w * length >= b.series_from_ns)
        for start, count, _d, _s in b.series:
            assert count == want["windows"].get(start // length, 0)
        for boundary, (sliding, at) in want["bursts"].items():
            # minute buckets are timed from their window's start (the grant's last minute of
            # reservations is kept): every burst is found; longer windows may miss the first two
            if b.window == "minute" or boundary > b.series_from_ns + length:
                assert b.bursts and boundary in {u.boundary_ns for u in rep.bursts if u.grant == key[0]
                                                 and (u.location, u.counter) == key[1:3]}
                found += 1
    for u in rep.bursts:
        sliding, at = ref[(u.grant, u.location, u.counter, u.window)]["bursts"][u.boundary_ns]
        assert u.sliding <= sliding and (not u.exact or (u.sliding, u.at_ns) == (sliding, at))
        assert u.exact or u.window != "minute"
    minute = [u for u in rep.bursts if u.window == "minute"]
    assert minute and sum(1 for k, v in ref.items() if k[3] == "minute" for _ in v["bursts"]) == len(minute)
    assert found > 0 and rep.burst_count <= sum(len(v["bursts"]) for v in ref.values())


def test_every_path_gives_the_same_report(traced) -> None:
    policy, path = traced
    fast = run(policy, path, report=True, parallel=False)
    parallel = run(policy, path, report=True, parallel=True)
    general = run(policy, path, report=True, coverage=True)
    assert fast.report == parallel.report == general.report
    assert fast.by_tool() == parallel.by_tool() == general.by_tool()
    assert fast.report.burst_count > 0


def test_timeline_adds_up_to_the_summary(traced) -> None:
    policy, path = traced
    result = run(policy, path, report=True, parallel=False)
    tl = result.report.timeline
    assert tl.width_s in report_mod.LADDER
    by_tool = result.by_tool()
    assert set(tl.rows) == set(by_tool)
    for tool, cells in tl.rows.items():
        for reason in REASONS:
            assert sum(c[reason] for _, c in cells) == by_tool[tool][reason]
        starts = [s for s, _ in cells]
        assert starts == sorted(starts) and all(s % (tl.width_s * NS) == 0 for s in starts)
    span = (tl.end_ns - tl.start_ns) / NS
    assert span / tl.width_s <= report_mod.MAX_BINS + 1


def test_timeline_bins_stay_bounded_on_a_long_trace(tmp_path: Path) -> None:
    ppath = tmp_path / "p.json"
    ppath.write_text(json.dumps(POLICY))
    tpath = tmp_path / "t.jsonl"
    write_trace(tpath, 3000, seed=5, mean_gap=600.0)  # about three weeks
    result = run(load_policy(str(ppath)).policy, str(tpath), report=True, parallel=False)
    tl = result.report.timeline
    assert tl.width_s == 604800 or (tl.end_ns - tl.start_ns) / NS / tl.width_s <= report_mod.MAX_BINS + 1
    assert max(len(cells) for cells in tl.rows.values()) <= report_mod.MAX_BINS + 1
    assert sum(c["allowed"] for cells in tl.rows.values() for _, c in cells) == result.allowed


def test_denying_rules_sum_to_the_denials(traced) -> None:
    policy, path = traced
    result = run(policy, path, report=True, parallel=False)
    rules = result.report.rules
    assert sum(r.denied for r in rules) == result.denied
    assert [r.denied for r in rules] == sorted((r.denied for r in rules), reverse=True)
    by_rule = {r.rule: r for r in rules}
    assert by_rule["/tools/b/deny_if/args.x-gt"].message == "too big"
    assert by_rule["/tools/b/deny_if/args.x-gt"].pointer == "/tools/b/deny_if/0"
    assert by_rule["/all_tools/limits/all"].pointer == "/all_tools/limits/0"
    assert by_rule["(hidden)"].tools == ("h",) and by_rule["(hidden)"].pointer == "/hide/0"


def test_quiet_buckets_keep_no_series(tmp_path: Path, monkeypatch) -> None:
    """A bucket never at half its max and never denying keeps totals only (bounded memory)."""
    ppath = tmp_path / "p.json"
    ppath.write_text(json.dumps({"version": "1", "default": "allow",
                                 "all_tools": {"limits": [lim("all", "minute", 100)]}}))
    tpath = tmp_path / "t.jsonl"
    tpath.write_text("".join(json.dumps({"ts": START + 10 * i, "tool": "t", "grant": "g"}) + "\n" for i in range(50)))
    policy = load_policy(str(ppath)).policy
    assert run(policy, str(tpath), report=True, parallel=False).report.buckets == ()  # never tracked
    monkeypatch.setattr(report_mod, "EXACT", True)
    (b,) = run(policy, str(tpath), report=True, parallel=False).report.buckets
    assert (b.reserved, b.peak, b.windows_active, b.series, b.series_from_ns) == (50, 6, 9, (), None)


def test_the_sample_loop_shows_its_window_edge_burst() -> None:
    """samples/traces/end-session-loop.jsonl: ten calls in one minute, one more at the next minute's
    first instant — eleven within sixty seconds, the burst a sliding window refuses."""
    from policyctl.traces.reader import parse_ts

    policy = load_policy("samples/sncro.policy.json").policy
    rep = run(policy, "samples/traces/end-session-loop.jsonl", report=True, parallel=False).report
    (burst,) = rep.bursts
    assert (burst.grant, burst.location, burst.counter, burst.max) == ("g-ci-bot", "end_session", "end_session_rate", 10)
    assert (burst.sliding, burst.before, burst.after, burst.exact) == (11, 10, 1, True)
    assert burst.at_ns == burst.boundary_ns == parse_ts("2026-11-24T10:17:00Z")


# -- the PolicyLayer page, byte for byte ------------------------------------------------------------------

GOLDEN_PAGES = {
    "end-session-loop-fixed": ["samples/traces/end-session-loop.jsonl", "--policy", "samples/sncro.policy.json"],
    "end-session-loop-sliding": ["samples/traces/end-session-loop.jsonl", "--policy", "samples/sncro.policy.json",
                                 "--windows", "sliding"],
    "sncro-session-fixed": ["samples/traces/sncro-session.jsonl", "--policy", "samples/sncro.policy.json"],
    "refund-above-threshold-coverage": ["samples/traces/refund-above-threshold.jsonl", "--policy",
                                        "samples/payments.policy.yaml", "--coverage"],
}


@pytest.mark.parametrize("name", sorted(GOLDEN_PAGES))
def test_policylayer_pages_stay_byte_identical(name: str, tmp_path: Path) -> None:
    """The page of a PolicyLayer run, compared with the one written before Intercept reports existed
    (``UPDATE_GOLDEN=1`` rewrites them; the version in the footer is a placeholder)."""
    import os

    from policyctl import __version__
    from tests.conftest import run_cli

    page = tmp_path / "r.html"
    r = run_cli("simulate", *GOLDEN_PAGES[name], "--report", str(page))
    assert r.returncode in (0, 1), r.stderr
    got = page.read_text(encoding="utf-8").replace(f"policyctl {__version__}", "policyctl VERSION")
    path = Path(__file__).parent / "golden" / "report" / f"{name}.html"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")
