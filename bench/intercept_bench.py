"""Benchmark `policyctl simulate --format json` on an Intercept policy against its PolicyLayer twin.

The Intercept policy (``INTERCEPT_POLICY`` below: 20 tools, ``hide``, evaluate rules with regex,
set, number and presence conditions, ``rate_limit`` shorthands, explicit ``state`` rules and a
``"*"`` rate limit) is converted with ``policyctl convert --to policylayer``, which converts only
where the meaning is kept exactly, so the two decide every call alike. The trace is
``bench/simulate_gen.py``'s (the same tools, arguments and grants). Both simulations run as child
processes on the same file, interleaved (PolicyLayer, Intercept, PolicyLayer, …) so that a busy
machine slows both alike; each run's wall time and CPU time (user + sys of the process tree, from
``os.wait4``) are recorded, and the ratios are of the best runs. The allow/deny tallies of the two
must be identical. Usage::

    python bench/intercept_bench.py [--calls 1000000] [--repeat 3] [--workers 1|2|auto] [--check]
                                    [--python PYTHON]

``--workers`` sets ``POLICYCTL_WORKERS`` for both runs (``auto``: leave it unset, as shipped).
``--check`` exits 1 unless the Intercept run takes at most 1.2x the PolicyLayer run (best CPU time).
``--python`` runs simulate with another interpreter (a virtualenv with an older policyctl installed)
to compare before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

INTERCEPT_POLICY = r'''version: "1"
default: "deny"

hide:
    - delete_repo

tools:
    create_session:
        rules:
            - name: "session rate"
              rate_limit: "10/minute"
    get_console_logs:
        rules:
            - name: "console reads"
              rate_limit: "600/hour"
    get_page_snapshot:
        rules:
            - name: "snapshots"
              rate_limit: "20/minute"
    check_session:
        rules: []
    end_session:
        rules:
            - name: "end session rate"
              rate_limit: "5/minute"
    query_element:
        rules:
            - name: "css selectors only"
              conditions:
                  - path: "args.selector"
                    op: "regex"
                    value: '^[#.\[a-zA-Z][^<>]*$'
            - name: "query rate"
              conditions:
                  - path: "state.query_element.query_rate"
                    op: "lte"
                    value: 30
              state:
                  counter: "query_rate"
                  window: "minute"
    query_all:
        rules:
            - name: "at most 100 elements"
              conditions:
                  - path: "args.limit"
                    op: "lte"
                    value: 100
              on_deny: "At most 100 elements per query."
    get_network_log:
        rules:
            - name: "no beacons"
              conditions:
                  - path: "args.type"
                    op: "not_in"
                    value: ["beacon", "ping"]
    get_js_value:
        rules:
            - name: "no credentials"
              conditions:
                  - path: "args.path"
                    op: "regex"
                    value: '^(window\.location|app\.state|document\.title)'
              on_deny: "Reading credentials from the page is not allowed."
    get_feedback:
        rules:
            - name: "feedback rate"
              rate_limit: "60/hour"
    report_issue:
        rules:
            - name: "known categories"
              conditions:
                  - path: "args.category"
                    op: "in"
                    value: ["bug", "feature", "question"]
    create_charge:
        rules:
            - name: "currencies"
              conditions:
                  - path: "args.currency"
                    op: "in"
                    value: ["usd", "eur", "gbp"]
            - name: "charge ceiling"
              conditions:
                  - path: "args.amount"
                    op: "lte"
                    value: 10000
              on_deny: "Charges above 10000 need approval."
            - name: "charges per hour"
              conditions:
                  - path: "state.create_charge.charges"
                    op: "lte"
                    value: 50
              state:
                  counter: "charges"
                  window: "hour"
            - name: "charges per day"
              conditions:
                  - path: "state.create_charge.charges_day"
                    op: "lt"
                    value: 401
              state:
                  counter: "charges_day"
                  window: "day"
    create_refund:
        rules:
            - name: "refunds need a reason"
              conditions:
                  - path: "args.reason"
                    op: "exists"
                    value: true
            - name: "refund ceiling"
              conditions:
                  - path: "args.amount"
                    op: "lte"
                    value: 100
              on_deny: "Refund exceeds the policy limit."
    list_customers:
        rules: []
    execute_command:
        rules:
            - name: "allowlisted commands"
              conditions:
                  - path: "args.command"
                    op: "regex"
                    value: '^(npm (test|run lint|run build)|git (status|diff|log)( .*)?|ls( .*)?|pwd|cat [A-Za-z0-9_/.-]+)$'
              on_deny: "Command not on the allowlist."
            - name: "no shell metacharacters"
              conditions:
                  - path: "args.command"
                    op: "regex"
                    value: '^[^;&|`$]*$'
              on_deny: "Shell metacharacters or a blocked binary."
            - name: "exec rate"
              rate_limit: "10/minute"
    read_file:
        rules:
            - name: "workspace sources"
              conditions:
                  - path: "args.path"
                    op: "regex"
                    value: '^/workspace/(src/|README)'
    write_file:
        rules:
            - name: "writes under /workspace"
              conditions:
                  - path: "args.path"
                    op: "regex"
                    value: '^/workspace/'
            - name: "writes"
              rate_limit: "30/minute"
    search_code:
        rules:
            - name: "plain queries"
              conditions:
                  - path: "args.query"
                    op: "regex"
                    value: '^[A-Za-z0-9_ ]+$'
    create_issue:
        rules:
            - name: "issues have a title"
              conditions:
                  - path: "args.title"
                    op: "exists"
                    value: true
            - name: "public repositories"
              conditions:
                  - path: "args.repo.private"
                    op: "neq"
                    value: true
    merge_pr:
        rules:
            - name: "reviewed"
              conditions:
                  - path: "args.approvals"
                    op: "gte"
                    value: 1
    "*":
        rules:
            - name: "calls per minute"
              rate_limit: "40/minute"
'''


def prepare(calls: int) -> tuple[Path, Path, Path]:
    """The trace and the two policies (generated when missing)."""
    OUT.mkdir(parents=True, exist_ok=True)
    trace = OUT / f"trace-{calls}.jsonl"
    if not trace.exists():
        subprocess.run([sys.executable, str(HERE / "simulate_gen.py"), "--calls", str(calls), "--out", str(OUT)],
                       check=True, stdout=subprocess.DEVNULL)
    yaml_path = OUT / "bench.intercept.yaml"
    if not yaml_path.exists() or yaml_path.read_text() != INTERCEPT_POLICY:
        yaml_path.write_text(INTERCEPT_POLICY)
    json_path = OUT / "bench.intercept-as-policylayer.json"
    subprocess.run([sys.executable, "-m", "policyctl", "convert", str(yaml_path), "--to", "policylayer",
                    "-o", str(json_path), "--force"], check=True)
    return trace, yaml_path, json_path


def run_one(argv: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """Wall and CPU seconds (RUSAGE_CHILDREN difference: the child and every process it waited for)."""
    before = os.times()
    start = time.perf_counter()
    # from bench/out: ``-m`` puts the working directory first on sys.path, and a source checkout
    # there would shadow the policyctl that ``--python`` has installed
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=OUT)
    wall = time.perf_counter() - start
    after = os.times()
    if proc.returncode not in (0, 1):
        sys.exit(f"{argv[3:8]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", default="1", choices=("1", "2", "auto"))
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--python", default=sys.executable,
                    help="the interpreter that runs simulate (e.g. a virtualenv with an older policyctl, to "
                         "compare before and after)")
    ns = ap.parse_args()
    trace, yaml_path, json_path = prepare(ns.calls)
    env = dict(os.environ)
    if ns.workers != "auto":
        env["POLICYCTL_WORKERS"] = ns.workers
    py = ns.python
    cmds = {
        "policylayer": [py, "-m", "policyctl", "simulate", str(trace), "--policy", str(json_path), "--format", "json"],
        "intercept": [py, "-m", "policyctl", "simulate", str(trace), "--policy", str(yaml_path), "--format", "json"],
    }
    print(f"trace: {trace.name}, {ns.calls:,} calls, {trace.stat().st_size / 1e6:.1f} MB; "
          f"POLICYCTL_WORKERS={ns.workers}; python {sys.version.split()[0]}, {os.cpu_count()} cpus; "
          f"load average {os.getloadavg()[0]:.2f}" + (f"; simulate run by {ns.python}" if ns.python != sys.executable else ""))
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    outputs: dict[str, dict] = {}
    for _ in range(ns.repeat):
        for name, argv in cmds.items():
            wall, cpu, out = run_one(argv, env)
            runs[name].append((wall, cpu))
            outputs[name] = json.loads(out)
    best = {}
    for name, rs in runs.items():
        wall, cpu = min(r[0] for r in rs), min(r[1] for r in rs)
        best[name] = (wall, cpu)
        print(f"{name:12}: wall {wall:5.2f} s, cpu {cpu:5.2f} s, {ns.calls / wall:,.0f} calls/s   runs (wall/cpu): "
              + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in rs))
    wall_ratio = best["intercept"][0] / best["policylayer"][0]
    cpu_ratio = best["intercept"][1] / best["policylayer"][1]
    med = {name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)) for name, rs in runs.items()}
    print(f"intercept / policylayer: best wall {wall_ratio:.2f}x, best cpu {cpu_ratio:.2f}x; median wall "
          f"{med['intercept'][0] / med['policylayer'][0]:.2f}x, median cpu "
          f"{med['intercept'][1] / med['policylayer'][1]:.2f}x  (target <= 1.20x)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    tallies = {}
    for name, data in outputs.items():
        tallies[name] = {k: v for k, v in data["by_reason"].items() if v}
        print(f"{name:12}: " + ", ".join(f"{k} {v:,}" for k, v in data["by_reason"].items() if v))
    if tallies["intercept"] != tallies["policylayer"]:
        sys.exit(f"the two policies disagree: {tallies}")
    print("same decisions and reasons on every call count: "
          + ", ".join(f"{k} {v:,}" for k, v in tallies["intercept"].items()))
    if ns.check and cpu_ratio > 1.2:
        sys.exit(1)


if __name__ == "__main__":
    main()
