"""Peak memory of `policyctl simulate` on traces of distinct long arguments checked by one regex.

Each call carries a distinct 1 MiB string that a `require` regex checks, so nothing a regex memo
could remember is ever seen twice: memory must not grow with the number of calls (SPEC §3, "Traces
are streamed"). Runs ``simulate --format json`` in one process (``POLICYCTL_WORKERS=1``) on traces
of each size and prints the peak RSS of the child (``os.wait4``). Usage::

    python bench/simulate_memory.py [--calls 60 300 600] [--check]

Writes its inputs to ``bench/out/`` (git-ignored) and removes the traces afterwards. ``--check``
exits 1 when the largest trace needs more than 1.5x the peak of the smallest.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
POLICY = {"version": "1", "default": "deny", "tools": {"t": {"require": [{"conditions": [
    {"path": "args.s", "op": "regex", "value": "^[a-z0-9]+$"}]}]}}}


def write_trace(path: Path, calls: int) -> None:
    with open(path, "w") as fh:
        for i in range(calls):  # a distinct 1 MiB string per call
            fh.write(json.dumps({"ts": 1795514400 + i, "tool": "t", "grant": "g",
                                 "args": {"s": "%08d" % i + "a" * (1 << 20)}}) + "\n")


def peak_rss(argv: list[str]) -> int:
    env = dict(os.environ, POLICYCTL_WORKERS="1")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"simulate failed: {err.decode()[-2000:]}")
    return usage.ru_maxrss * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, nargs="+", default=[60, 300, 600])
    ap.add_argument("--check", action="store_true")
    ns = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    policy = OUT / "memory.policy.json"
    policy.write_text(json.dumps(POLICY))
    peaks = []
    for calls in ns.calls:
        trace = OUT / f"memory-{calls}.jsonl"
        write_trace(trace, calls)
        try:
            rss = peak_rss([sys.executable, "-m", "policyctl", "simulate", str(trace), "--policy", str(policy),
                            "--format", "json"])
        finally:
            trace.unlink()
        peaks.append(rss)
        print(f"{calls:6,} calls of a distinct 1 MiB string: peak RSS {rss / 2**20:6.1f} MiB")
    ok = max(peaks) <= 1.5 * peaks[0]
    print("PASS" if ok else "FAIL", "(limit: the largest trace needs at most 1.5x the peak of the smallest)")
    if ns.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
