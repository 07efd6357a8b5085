"""Benchmark `policyctl simulate --format json` against merely parsing the same trace with orjson.

Both run as child processes on the same file in the same run (alternating, best of N). simulate
runs twice per round: as shipped (a big file uses a second, forked worker process when the machine
has two CPUs) and with ``POLICYCTL_WORKERS=1`` (one process). Memory: peak RSS of the largest
process (``os.wait4``) and the peak sums of RSS and PSS over the process tree (sampled from /proc;
PSS splits the pages the forked worker shares with its parent). Usage::

    python bench/simulate_bench.py [--calls 1000000] [--repeat 3] [--windows fixed] [--check]

Generates ``bench/out/trace-<calls>.jsonl`` and ``bench/out/bench.policy.json`` first if missing
(see ``bench/simulate_gen.py``). ``--check`` exits 1 unless simulate takes at most 3.0x the parse
time and at most 64 MiB of peak RSS.
"""

from __future__ import annotations

import argparse
import compileall
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


def _tree_memory(root: int) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) in bytes over ``root`` and its descendants, from /proc (0, 0 elsewhere)."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as fh:
                todo += [int(x) for x in fh.read().split()]
        except OSError:
            pass
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return rss, pss


def measure(argv: list[str], stdout: int | None = subprocess.DEVNULL,
            env: dict[str, str] | None = None) -> tuple[float, int, bytes, int, int]:
    """Wall seconds, peak RSS (wait4: the largest single process), stdout, and the peak sums of RSS
    and PSS over the process tree (sampled every 5 ms) of one run."""
    import threading

    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE if stdout is None else stdout, stderr=subprocess.PIPE,
                            env=env)
    peaks = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            rss, pss = _tree_memory(proc.pid)
            peaks[0], peaks[1] = max(peaks[0], rss), max(peaks[1], pss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = b""
    if stdout is None:
        out = proc.stdout.read()  # type: ignore[union-attr]
    err = proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        sys.exit(f"{argv[:4]} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss * 1024, out, peaks[0], peaks[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--windows", default="fixed", choices=("fixed", "sliding"))
    ap.add_argument("--check", action="store_true")
    ns = ap.parse_args()
    # an installed package has byte code; a checkout run with PYTHONDONTWRITEBYTECODE=1 would
    # otherwise compile policyctl's modules again on every start (about 0.1 s of each run)
    compileall.compile_dir(str(HERE.parent / "policyctl"), quiet=1)
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
    base, sim, seq, par = [], [], [], []
    summary = b""
    env1 = dict(os.environ, POLICYCTL_WORKERS="1")
    env2 = dict(os.environ, POLICYCTL_WORKERS="2")
    for _ in range(ns.repeat):
        base.append(measure(base_cmd))
        run = measure(sim_cmd, stdout=None)
        summary = run[2]
        sim.append(run)
        seq.append(measure(sim_cmd, stdout=None, env=env1))
        par.append(measure(sim_cmd, stdout=None, env=env2))
    print(f"load average before the last round: {os.getloadavg()[0]:.2f}")
    b_wall = min(r[0] for r in base)
    print(f"orjson parse only         : {b_wall:5.2f} s   peak RSS {max(r[1] for r in base) / 2**20:5.1f} MiB"
          f"   runs: " + ", ".join(f"{r[0]:.2f}" for r in base))
    ok = True
    for label, runs in (("simulate --format json   ", sim), ("  one process  (WORKERS=1)", seq),
                        ("  with worker  (WORKERS=2)", par)):
        wall = min(r[0] for r in runs)
        ratio = wall / b_wall
        rss = max(r[1] for r in runs)
        tree_rss = max(r[3] for r in runs)
        tree_pss = max(r[4] for r in runs)
        print(f"{label}: {wall:5.2f} s = {ratio:.2f}x, {ns.calls / wall:,.0f} calls/s; peak RSS {rss / 2**20:.1f} MiB "
              f"per process, {tree_rss / 2**20:.1f} MiB RSS / {tree_pss / 2**20:.1f} MiB PSS summed over processes"
              f"   runs: " + ", ".join(f"{r[0]:.2f}" for r in runs))
        if runs is sim:
            ok = ratio <= 3.0 and tree_pss <= 64 * 2**20 and rss <= 64 * 2**20
    import json

    data = json.loads(summary)
    print("decisions: " + ", ".join(f"{k} {v:,}" for k, v in data["by_reason"].items()))
    print("PASS" if ok else "FAIL", "(limits: <= 3.0x the parse time, <= 64 MiB)")
    if ns.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
