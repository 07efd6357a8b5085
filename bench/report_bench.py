"""Benchmark `simulate --report`: what the page costs on top of `simulate --format json`, and its size.

Runs, as child processes on the same trace, alternating (best of N each)::

    policyctl simulate TRACE --policy P --format json                     (the baseline)
    policyctl simulate TRACE --policy P --format json --report OUT.html   (the same run, plus the page)

and prints both times, the overhead in percent, the page's size, and the time to render the page
alone (inside the second run). Usage::

    python bench/report_bench.py [--calls 1000000] [--repeat 3] [--windows fixed] [--workers N]

``--workers 1`` sets POLICYCTL_WORKERS=1 (one process) for both commands; without it the simulator
chooses (a big file uses a forked worker when a CPU is idle). Generates the trace with
``bench/simulate_gen.py`` when it is missing.

Byte code is compiled first (``compileall``), as an installed package has it. Measured on an idle
2-vCPU machine, 1,000,000 calls, ``--workers 1 --repeat 5``: CPU 2.09 s without the page, 2.74 s
with it (+31%). Earlier figures (+22%) were taken without byte code, where both runs recompiled
policyctl. The deterministic figure is the instruction count, one process, e.g. on the first
200,000 calls (``head -200000 bench/out/trace-1000000.jsonl > t200k.jsonl``)::

    PYTHONHASHSEED=0 POLICYCTL_WORKERS=1 valgrind --tool=callgrind python -m policyctl simulate \
        t200k.jsonl --policy bench/out/bench.policy.json --format json [--report /tmp/p.html --force]

4.093 G without ``--report``, 5.157 G with it: +26%.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child and its worker) — CPU time is what to compare on a
    machine shared with other work; wall time is what a user waits on an idle one."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--windows", default="fixed")
    ap.add_argument("--workers", choices=("1", "2"), default=None)
    ns = ap.parse_args()
    # an installed package has byte code; a checkout run with PYTHONDONTWRITEBYTECODE=1 would
    # otherwise compile policyctl's modules again on every start (about 0.1 s of each run)
    compileall.compile_dir(str(HERE.parent / "policyctl"), quiet=1)
    trace = OUT / f"trace-{ns.calls}.jsonl"
    policy = OUT / "bench.policy.json"
    if not trace.exists() or not policy.exists():
        subprocess.run([sys.executable, str(HERE / "simulate_gen.py"), "--calls", str(ns.calls)], check=True)
    env = dict(os.environ)
    if ns.workers:
        env["POLICYCTL_WORKERS"] = ns.workers
    page = OUT / f"report-{ns.calls}.html"
    base = [sys.executable, "-m", "policyctl", "simulate", str(trace), "--policy", str(policy), "--format", "json",
            "--windows", ns.windows]
    plain, with_page = [], []
    for _ in range(ns.repeat):
        plain.append(timed(base, env))
        with_page.append(timed(base + ["--report", str(page), "--force"], env))
    # the page alone: aggregate in-process once, then time the rendering
    sys.path.insert(0, str(HERE.parent))
    from policyctl.policy.load import load_policy
    from policyctl.reporters.html.simulate import render
    from policyctl.simulate.run import run

    loaded = load_policy(str(policy))
    result = run(loaded.policy, str(trace), windows=ns.windows, report=True)
    start = time.perf_counter()
    html = render(result, trace=str(trace), policy=str(policy), position=loaded.document.position)
    render_s = time.perf_counter() - start
    print(f"trace: {trace.name} ({trace.stat().st_size / 1e6:.0f} MB), windows {ns.windows}, "
          f"workers {ns.workers or 'auto'}, best of {ns.repeat}; load average {os.getloadavg()[0]:.1f}")
    for what, i in (("wall", 0), ("CPU", 1)):
        a, b = min(x[i] for x in plain), min(x[i] for x in with_page)
        print(f"{what:>4}: simulate --format json {a:.2f} s, with --report {b:.2f} s: {100 * (b - a) / a:+.0f}%  "
              f"(all: {', '.join(f'{x[i]:.2f}' for x in plain)} / {', '.join(f'{x[i]:.2f}' for x in with_page)})")
    print(f"page: {page.stat().st_size / 1e6:.2f} MB ({len(html.encode()) / 1e6:.2f} MB rendered in-process in "
          f"{render_s:.2f} s)")
    browser = shutil.which("chromium")
    if browser:  # opening the page: headless chromium's --dump-dom, against a one-line page
        empty = OUT / "empty.html"
        empty.write_text("<!DOCTYPE html><title>x</title>")
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 f"--user-data-dir={OUT / 'chromium-profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",
                 "--proxy-server=127.0.0.1:9", "--dump-dom"]
        times = {}
        for name, target in (("empty page", empty), ("report", page)):
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                subprocess.run([browser, *flags, target.resolve().as_uri()], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
                runs.append(time.perf_counter() - start)
            times[name] = min(runs)
        print(f"chromium --dump-dom: report {times['report']:.2f} s, empty page {times['empty page']:.2f} s "
              f"(the page itself: {times['report'] - times['empty page']:.2f} s)")


if __name__ == "__main__":
    main()
