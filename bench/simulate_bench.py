"""Benchmark `policyctl simulate --format json` against merely parsing the same trace with orjson.

Both run as child processes on the same file in the same run (alternating, best of N), and each
child's peak RSS comes from ``os.wait4``. Usage::

    python bench/simulate_bench.py [--calls 1000000] [--repeat 3] [--windows fixed] [--check]

Generates ``bench/out/trace-<calls>.jsonl`` and ``bench/out/bench.policy.json`` first if missing
(see ``bench/simulate_gen.py``). ``--check`` exits 1 unless simulate takes at most 3.0x the parse
time and at most 64 MiB of peak RSS.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

BASELINE = r"""
import sys, orjson
loads = orjson.loads
n = 0
with open(sys.argv[1], "rb") as fh:
    for line in fh:
        loads(line)
        n += 1
print(n)
"""


def measure(argv: list[str], stdout: int | None = subprocess.DEVNULL) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS in bytes and stdout of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE)
    out = b""
    if stdout is None:
        out = proc.stdout.read()  # type: ignore[union-attr]
    err = proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        sys.exit(f"{argv[:4]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss * 1024, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--windows", default="fixed", choices=("fixed", "sliding"))
    ap.add_argument("--check", action="store_true")
    ns = ap.parse_args()
    trace = OUT / f"trace-{ns.calls}.jsonl"
    policy = OUT / "bench.policy.json"
    if not trace.exists() or not policy.exists():
        subprocess.run([sys.executable, str(HERE / "simulate_gen.py"), "--calls", str(ns.calls)], check=True)
    py = sys.executable
    base_cmd = [py, "-c", BASELINE, str(trace)]
    sim_cmd = [py, "-m", "policyctl", "simulate", str(trace), "--policy", str(policy), "--format", "json",
               "--windows", ns.windows]
    size = trace.stat().st_size
    print(f"trace: {trace.name}, {ns.calls:,} calls, {size / 1e6:.1f} MB; windows: {ns.windows}; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    base, sim = [], []
    summary = b""
    for _ in range(ns.repeat):
        base.append(measure(base_cmd))
        wall, rss, summary = measure(sim_cmd, stdout=None)
        sim.append((wall, rss, summary))
    b_wall = min(w for w, _, _ in base)
    s_wall = min(w for w, _, _ in sim)
    s_rss = max(r for _, r, _ in sim)
    b_rss = max(r for _, r, _ in base)
    ratio = s_wall / b_wall
    print(f"orjson parse only : {b_wall:6.2f} s  (peak RSS {b_rss / 2**20:5.1f} MiB)  runs: "
          + ", ".join(f"{w:.2f}" for w, _, _ in base))
    print(f"simulate --format json: {s_wall:6.2f} s  (peak RSS {s_rss / 2**20:5.1f} MiB)  runs: "
          + ", ".join(f"{w:.2f}" for w, _, _ in sim))
    print(f"ratio: {ratio:.2f}x parse time; {ns.calls / s_wall:,.0f} calls/s")
    import json

    data = json.loads(summary)
    print("decisions: " + ", ".join(f"{k} {v:,}" for k, v in data["by_reason"].items()))
    ok = ratio <= 3.0 and s_rss <= 64 * 2**20
    print("PASS" if ok else "FAIL", "(limits: <= 3.0x, <= 64 MiB)")
    if ns.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
