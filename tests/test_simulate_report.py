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
        for boundary, (_sliding, _at) in want["bursts"].items():
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
    (``POLICYCTL_UPDATE_GOLDEN=1`` rewrites them; the version in the footer is a placeholder)."""
    from policyctl import __version__
    from tests.conftest import assert_golden, run_cli

    page = tmp_path / "r.html"
    r = run_cli("simulate", *GOLDEN_PAGES[name], "--report", str(page))
    assert r.returncode in (0, 1), r.stderr
    got = page.read_text(encoding="utf-8").replace(f"policyctl {__version__}", "policyctl VERSION")
    assert_golden(Path("report") / f"{name}.html", got)


# -- Intercept policies: buckets from the program's reservations --------------------------------------------

INTERCEPT_POLICY = """\
version: "1"
tools:
  a:
    rules:
      - name: "three a"
        rate_limit: "3/minute"
  b:
    rules:
      - name: "small b"
        conditions:
          - path: "args.x"
            op: "lt"
            value: 8
  c:
    rules:
      - name: "c budget"
        conditions:
          - path: "state.c.spent"
            op: "lt"
            value: 13
        state:
          counter: "spent"
          window: "hour"
          increment_from: "args.x"
  "*":
    rules:
      - name: "all six"
        rate_limit: "6/minute"
"""


def intercept_reference(loaded, path: str) -> dict:
    """Per bucket ``(grant, scope, counter, window)``: what each window counted (in the counter's
    units, what a JSON-RPC error gave back left out), the denials, and the bursts, by brute force."""
    from policyctl.engine.interpret import make_evaluator
    from policyctl.traces.reader import iter_records

    ev = make_evaluator(loaded)
    spec = {"a": [("a", "_rate_minute", "minute", 3, None)], "c": [("c", "spent", "hour", 12, "x")]}
    glob = ("_global", "_rate_minute", "minute", 6, None)
    res: dict[tuple, list[tuple[int, int]]] = {}
    den: dict[tuple, int] = {}
    for _line, ts, grant, tool, args, upstream, _rec, _msg in iter_records(path):
        d = ev.evaluate_ns(ts, grant, tool, args, upstream_error=upstream)
        buckets = spec.get(tool, []) + [glob]
        if d.allowed and upstream != "jsonrpc_error" and upstream is not True:
            for scope, counter, window, _mx, amount in buckets:
                n = 1 if amount is None else int(args[amount])
                res.setdefault((grant, scope, counter, window), []).append((ts, n))
        elif d.reason == "rate_limited":
            (hit,) = [b for b in buckets if (b[0] == "_global") == (d.rule == "all six")]
            den[(grant, *hit[:3])] = den.get((grant, *hit[:3]), 0) + 1
    out = {}
    for key in set(res) | set(den):
        length = WINDOW_SECONDS[key[3]] * NS
        mx = {"a": 3, "c": 12, "_global": 6}[key[1]]
        per: dict[int, int] = {}
        for ts, n in res.get(key, []):
            per[ts // length] = per.get(ts // length, 0) + n
        bursts = 0
        times = res.get(key, [])
        boundaries = set()
        for i, (ts, _n) in enumerate(times):
            if sum(n for t, n in times[:i + 1] if t > ts - length) > mx:
                boundaries.add(ts // length)
        bursts = len(boundaries)
        out[key] = {"reserved": sum(per.values()), "denied": den.get(key, 0), "peak": max(per.values(), default=0),
                    "full": sum(1 for v in per.values() if v >= mx), "bursts": bursts, "max": mx}
    return out


def test_intercept_buckets_match_a_brute_force_replay(tmp_path: Path) -> None:
    ppath = tmp_path / "p.policy.yaml"
    ppath.write_text(INTERCEPT_POLICY)
    rnd = random.Random(5)
    t = float(START)
    lines = []
    for _ in range(1500):
        t += rnd.expovariate(1 / 4.0)
        rec: dict = {"ts": round(t, 3), "grant": rnd.choice(["g1", "g2"]), "tool": rnd.choice("abcd"),
                     "args": {"x": rnd.randrange(5)}}
        if rnd.random() < 0.08:
            rec["upstream"] = rnd.choice(["jsonrpc_error", "tool_error"])
            rec["upstream_error"] = True
        lines.append(json.dumps(rec))
    tpath = tmp_path / "t.jsonl"
    tpath.write_text("\n".join(lines) + "\n")
    loaded = load_policy(str(ppath))
    rep = run(loaded.subject, str(tpath), report=True, parallel=False).report
    want = intercept_reference(loaded, str(tpath))
    assert len(rep.buckets) == report_mod.SHOW_BUCKETS or not rep.other_buckets["buckets"]
    got = {(b.grant, b.location, b.counter, b.window): b for b in rep.buckets}
    assert rep.other_buckets["buckets"] == 0 and set(got) == set(want)
    for key, w in want.items():
        b = got[key]
        assert (b.reserved, b.denied, b.peak, b.windows_full, b.bursts, b.max) == \
            (w["reserved"], w["denied"], w["peak"], w["full"], w["bursts"], w["max"]), key
    assert got[("g1", "c", "spent", "hour")].pointer == "c budget"
    assert any(b.denied for b in rep.buckets) and rep.burst_count > 0


def test_the_intercept_sample_report(tmp_path: Path) -> None:
    """samples/traces/intercept-payments.jsonl: the daily charge budget counts amounts (the charge a
    JSON-RPC error failed is given back), its rules are found at their line and column."""
    from tests.conftest import run_cli

    page = tmp_path / "r.html"
    r = run_cli("simulate", "samples/traces/intercept-payments.jsonl", "--policy",
                "samples/intercept/payments.policy.yaml", "--report", str(page))
    assert r.returncode == 0, r.stderr
    loaded = load_policy("samples/intercept/payments.policy.yaml")
    rep = run(loaded.subject, "samples/traces/intercept-payments.jsonl", report=True).report
    charge = next(b for b in rep.buckets if b.counter == "daily_amount")
    assert (charge.location, charge.window, charge.max, charge.grant) == ("create_charge", "day", 500000, "default")
    assert (charge.reserved, charge.denied, charge.peak, charge.windows_active, charge.windows_full) == \
        (900000, 1, 500000, 2, 1)
    assert charge.worst is not None and (charge.worst.sliding, charge.worst.before, charge.worst.after) == \
        (900000, 500000, 400000)
    assert {(b.location, b.counter) for b in rep.buckets} == {
        ("create_charge", "daily_amount"), ("create_refund", "_rate_hour"), ("_global", "_rate_minute")}
    reasons = {r.reason for r in rep.rules}
    assert {"policy_error", "rate_limited", "hidden", "default_deny", "require", "deny_if"} <= reasons
    html = page.read_text(encoding="utf-8")
    assert 'data-k="by_reason.require_approval">0<' in html and 'data-k="by_reason.policy_error">1<' in html
    assert 'id="p-require-approval"' in html and 'id="p-policy-error"' in html  # their fill patterns
    assert "samples/intercept/payments.policy.yaml:39:35" in html  # the increment_from of the budget
    assert "limit 500000 per day" in html and "_global" in html
    assert "<script" not in html and "Traceback" not in r.stderr
