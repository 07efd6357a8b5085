"""Benchmark: how fast ``diff --search`` finds and shrinks planted differences.

Takes the 20-tool benchmark policy of bench/simulate_gen.py and plants one change at a time — a
raised limit, a raised threshold, a removed deny_if, a dropped hide (plus a widened regex) — then
runs the search with several seeds and prints, per planted change, the time to the first hit, the
time until the shrunk counterexample is ready, its length, and the whole search's time (which goes
on to look for the other direction until its example budget is spent); then the wall time of the
same searches through the CLI (start-up and rendering included).

Usage::

    python bench/diff_search.py [--seeds 5] [--budget 10]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import simulate_gen  # noqa: E402


def planted(base: dict) -> dict[str, dict]:
    def change(fn) -> dict:  # type: ignore[no-untyped-def]
        p = copy.deepcopy(base)
        fn(p)
        return p

    t = "tools"
    return {
        "raised limit (end_session 5 -> 6/minute)":
            change(lambda p: p[t]["end_session"]["limits"][0].update(max=6)),
        "raised threshold (query_all limit gt 100 -> 150)":
            change(lambda p: p[t]["query_all"]["deny_if"][0]["conditions"][0].update(value=150)),
        "removed deny_if (create_refund amount gt 100)":
            change(lambda p: p[t]["create_refund"].pop("deny_if")),
        "dropped hide (delete_repo, listed with no rules)":
            change(lambda p: p.update(hide=[])),
        "widened regex (execute_command allowlist + make)":
            change(lambda p: p[t]["execute_command"]["require"][0]["conditions"][0].update(
                value=p[t]["execute_command"]["require"][0]["conditions"][0]["value"].replace("|pwd|", "|pwd|make .*|"))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=10.0)
    ns = ap.parse_args()

    from policyctl.diff.search import search
    from policyctl.policy.dialects.policylayer.model import Policy

    base = simulate_gen.policy()
    # List the hidden tool too (hide wins), so dropping the hide lets it through rather than
    # leaving it to default deny (which only changes the reason: a neutral difference).
    base["tools"]["delete_repo"] = {}
    old = Policy.from_data(base)
    print(f"{'planted change':52s} {'found (median/max)':>20s} {'shrunk (median/max)':>21s} {'calls':>6s} {'search':>8s}")
    cli_cases: list[tuple[str, dict]] = []
    for name, data in planted(base).items():
        new = Policy.from_data(data)
        found, shrunk, lengths, totals = [], [], set(), []
        for seed in range(ns.seeds):
            t = time.perf_counter()
            result = search(old, new, budget=ns.budget, seed=seed)
            totals.append(time.perf_counter() - t)
            ce = next((c for c in result.counterexamples if c.effect == "loosened"), None)
            if ce is None:
                found.append(float("inf"))
                continue
            found.append(ce.found_after)
            shrunk.append(ce.shrunk_after)
            lengths.add(len(ce.calls))
        fmt = lambda xs: f"{statistics.median(xs):6.2f}/{max(xs):5.2f} s" if xs else "   not found"  # noqa: E731
        print(f"{name:52s} {fmt(found):>20s} {fmt(shrunk):>21s} {','.join(map(str, sorted(lengths))):>6s} "
              f"{statistics.median(totals):7.2f}s")
        cli_cases.append((name, data))

    # End to end through the CLI (start-up, loading, the whole search, rendering), seed 0.
    out = HERE / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "search-old.policy.json").write_text(json.dumps(base), encoding="utf-8")
    print(f"\n{'policyctl diff OLD NEW --search (CLI, seed 0)':52s} {'wall':>8s} {'exit':>5s}")
    for name, data in cli_cases:
        (out / "search-new.policy.json").write_text(json.dumps(data), encoding="utf-8")
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "policyctl", "diff", str(out / "search-old.policy.json"),
                            str(out / "search-new.policy.json"), "--search", "--search-budget", str(ns.budget),
                            "-f", "json"], stdout=subprocess.DEVNULL, check=False)
        print(f"{name:52s} {time.perf_counter() - t:7.2f}s {r.returncode:5d}")


if __name__ == "__main__":
    main()
