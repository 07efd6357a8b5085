"""Start-up benchmark: `policyctl lint one.policy.json` against check-jsonschema on the same file.

A pre-commit hook pays its start-up on every commit, so the target (issue 2) is

    policyctl lint one.policy.json  <=  0.60 x  check-jsonschema --schemafile schemas/policy.schema.json one.policy.json

Both commands run N times each, interleaved (so drift in machine load hits both alike), on a small
realistic policy written to bench/out/; the script prints the median and spread of each and the
ratio of the medians, and exits 1 when the ratio is above the target (``--target``).

    python bench/startup.py            # 21 runs each
    python bench/startup.py --runs 41 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SCHEMA = ROOT / "schemas" / "policy.schema.json"

POLICY = {
    "version": "1",
    "default": "deny",
    "hide": ["delete_customer"],
    "all_tools": {"limits": [{"counter": "calls-per-minute", "window": "minute", "max": 120, "scope": "grant"}]},
    "tools": {
        "list_customers": {},
        "create_refund": {
            "deny_if": [{"conditions": [{"path": "args.amount", "op": "gt", "value": 10000}],
                         "on_deny": "Refunds above 100.00 need a human."}],
            "limits": [{"counter": "refunds_per_hour", "window": "hour", "max": 20, "scope": "grant"}],
        },
        "create_payment_link": {"deny_if": [{"conditions": [], "on_deny": "Requires human approval."}]},
    },
}


def _tool(name: str) -> str:
    """The console script installed next to this interpreter, else the one on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        sys.exit(f"startup.py: {name} not found (pip install -e '.[bench]')")
    return found


def _time(cmd: list[str], expect: int) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                          env={**os.environ, "NO_COLOR": "1"})
    elapsed = time.perf_counter() - start
    if proc.returncode != expect:
        sys.exit(f"startup.py: {' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=21, help="runs per command (default 21)")
    ap.add_argument("--target", type=float, default=0.60, help="maximum ratio (default 0.60)")
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = ap.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    policy = OUT / "one.policy.json"
    policy.write_text(json.dumps(POLICY, indent=2) + "\n", encoding="utf-8")

    ours = [_tool("policyctl"), "lint", str(policy)]
    theirs = [_tool("check-jsonschema"), "--schemafile", str(SCHEMA), str(policy)]
    for cmd in (ours, theirs):  # warm the OS file cache and .pyc files before measuring
        _time(cmd, 0)

    samples: dict[str, list[float]] = {"policyctl": [], "check-jsonschema": []}
    for _ in range(args.runs):
        samples["policyctl"].append(_time(ours, 0))
        samples["check-jsonschema"].append(_time(theirs, 0))

    med = {k: statistics.median(v) for k, v in samples.items()}
    ratio = med["policyctl"] / med["check-jsonschema"]
    result = {
        "runs": args.runs,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "median_ms": {k: round(v * 1000, 1) for k, v in med.items()},
        "min_ms": {k: round(min(v) * 1000, 1) for k, v in samples.items()},
        "max_ms": {k: round(max(v) * 1000, 1) for k, v in samples.items()},
        "ratio": round(ratio, 3),
        "target": args.target,
        "ok": ratio <= args.target,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name in samples:
            print(f"{name:>17}: median {result['median_ms'][name]:7.1f} ms "
                  f"(min {result['min_ms'][name]:.1f}, max {result['max_ms'][name]:.1f}, n={args.runs})")
        verdict = "ok" if result["ok"] else "TOO SLOW"
        print(f"{'ratio':>17}: {ratio:.3f} (target <= {args.target:.2f}) {verdict}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
