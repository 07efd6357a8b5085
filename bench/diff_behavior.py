"""Benchmark: the behavioural diff (``diff --trace``) against two simulations of the same trace.

Generates (deterministically, with bench/simulate_gen.py) the 20-tool benchmark policy, a second
version of it with five planted changes, and a JSONL trace; then times, best of ``--repeat`` runs:

* ``behavior_diff_trace`` over one read of the trace (what ``policyctl diff --trace`` does), and
  ``behavior_diff`` over ``read_trace`` (the TraceCall API the property tests use);
* ``simulator.run`` on each version (what ``policyctl simulate`` does, its fast path), summed;
* the same two through the CLI, wall clock, with JSON output.

Usage::

    python bench/diff_behavior.py [--calls 1000000] [--repeat 3] [--out bench/out]
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import simulate_gen  # noqa: E402  (the simulate benchmark's generator, reused)


def second_version(policy: dict) -> dict:
    """Five planted changes: a raised limit, a raised threshold, a dropped hide, a lowered limit,
    a new tool."""
    p = copy.deepcopy(policy)
    p["tools"]["create_charge"]["limits"][0]["max"] = 80
    p["tools"]["create_refund"]["deny_if"][0]["conditions"][0]["value"] = 250
    p["hide"] = []
    p["tools"]["execute_command"]["limits"][0]["max"] = 5
    p["tools"]["drop_database"] = {"deny_if": [{"conditions": [], "on_deny": "Requires human approval."}]}
    return p


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "out"))
    ns = ap.parse_args()
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    v1 = simulate_gen.policy()
    (out / "diff-v1.policy.json").write_text(json.dumps(v1, indent=2) + "\n", encoding="utf-8")
    (out / "diff-v2.policy.json").write_text(json.dumps(second_version(v1), indent=2) + "\n", encoding="utf-8")
    trace = out / f"trace-{ns.calls}.jsonl"
    if not trace.exists():
        simulate_gen.write_trace(trace, ns.calls)

    from policyctl.diff.differ import behavior_diff, behavior_diff_trace
    from policyctl.policy.load import load_policy
    from policyctl.simulate.run import run
    from policyctl.traces.reader import read_trace

    old = load_policy(str(out / "diff-v1.policy.json")).policy
    new = load_policy(str(out / "diff-v2.policy.json")).policy
    t_diff, b = best(lambda: behavior_diff_trace(old, new, str(trace)), ns.repeat)
    t_diff_calls, _ = best(lambda: behavior_diff(old, new, read_trace(str(trace))), ns.repeat)
    t_sim_old, _ = best(lambda: run(old, str(trace)), ns.repeat)
    t_sim_new, _ = best(lambda: run(new, str(trace)), ns.repeat)
    t_sims = t_sim_old + t_sim_new

    def cli(*args: str) -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "policyctl", *args], stdout=subprocess.DEVNULL, check=False)
        return time.perf_counter() - t

    c_diff = min(cli("diff", str(out / "diff-v1.policy.json"), str(out / "diff-v2.policy.json"), "--trace",
                     str(trace), "-f", "json") for _ in range(ns.repeat))
    c_sims = min(cli("simulate", str(trace), "--policy", str(out / "diff-v1.policy.json"), "-f", "json")
                 for _ in range(ns.repeat)) + \
        min(cli("simulate", str(trace), "--policy", str(out / "diff-v2.policy.json"), "-f", "json")
            for _ in range(ns.repeat))
    rows = [
        ("behavior_diff_trace (one read, two evaluators)", t_diff),
        ("behavior_diff over read_trace (TraceCall API)", t_diff_calls),
        ("simulator.run x2 (fast path)", t_sims),
        ("policyctl diff --trace (CLI)", c_diff),
        ("policyctl simulate x2 (CLI)", c_sims),
    ]
    print(f"trace: {trace.name} ({b.calls:,} calls, {b.changed:,} changed: {b.transitions})")  # type: ignore[attr-defined]
    for name, t in rows:
        print(f"{name:45s} {t:7.2f} s  {b.calls / t / 1e3:8.0f} k calls/s")  # type: ignore[attr-defined]
    print(f"ratio diff / two simulations: in-process {t_diff / t_sims:.2f}, CLI {c_diff / c_sims:.2f}")


if __name__ == "__main__":
    main()
