"""Lint benchmarks: start-up on one file against check-jsonschema, and 1,000 files in one call.

Targets:

    policyctl lint one.policy.json  <=  0.35 x  check-jsonschema --schemafile schemas/policy.schema.json one.policy.json
                                            (issue 9; the first target, issue 2, was 0.60 x)
    policyctl lint <folder with 1,000 policy files>  <=  2 s

The script writes its own data under bench/out/lint/: one realistic policy, and 1,000 varied
policies (three in four JSON, one in four YAML; regexes, limits, rules of every kind) in a folder.
Commands run interleaved, N times each after a warm-up; medians are reported. Byte code is compiled
first (``compileall``) because an installed package always has it, while a checkout run with
``PYTHONDONTWRITEBYTECODE=1`` would otherwise recompile policyctl on every start.

    python bench/lint_bench.py                 # 15 runs each
    python bench/lint_bench.py --runs 31 --json
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "lint"
SCHEMA = ROOT / "schemas" / "policy.schema.json"

ONE = {
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
        "execute_command": {"require": [{"conditions": [
            {"path": "args.command", "op": "regex", "value": "^(npm test|git (status|diff))$"}],
            "on_deny": "Command not on the allowlist."}]},
    },
}


def _policy(rng: random.Random, i: int) -> dict:
    tools: dict = {}
    for t in range(rng.randint(3, 15)):
        name = f"tool_{i}_{t}"
        entry: dict = {}
        kind = rng.random()
        if kind < 0.3:
            entry["limits"] = [{"counter": f"{name}_rate", "window": rng.choice(["minute", "hour", "day"]),
                                "max": rng.randint(1, 100), "scope": "grant"}]
        elif kind < 0.5:
            entry["deny_if"] = [{"conditions": [{"path": "args.amount", "op": "gt", "value": rng.randint(1, 10**6)},
                                                {"path": "args.currency", "op": "in", "value": ["usd", "eur"]}],
                                 "on_deny": "Too large."}]
        elif kind < 0.65:
            entry["require"] = [{"conditions": [{"path": "args.url", "op": "regex",
                                                 "value": f"^https://api{i % 7}\\.example\\.com/[a-z/]*$"}],
                                 "on_deny": "Only the API host."}]
        elif kind < 0.75:
            entry["deny_if"] = [{"conditions": [], "on_deny": "Requires human approval."}]
        tools[name] = entry
    data: dict = {"version": "1", "default": "deny", "tools": tools}
    if rng.random() < 0.3:
        data["hide"] = [f"dangerous_{i}"]
    if rng.random() < 0.3:
        data["all_tools"] = {"limits": [{"counter": "calls", "window": "hour", "max": 1000, "scope": "grant"}]}
    return data


def _yaml(data: object, indent: int = 0) -> str:
    """A tiny block-YAML writer (quoting every string) so the bench needs no YAML library."""
    pad = "  " * indent
    if isinstance(data, dict):
        if not data:
            return "{}"
        lines = []
        for k, v in data.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{json.dumps(k)}:\n{_yaml(v, indent + 1)}")
            else:
                lines.append(f"{pad}{json.dumps(k)}: {_yaml(v, indent + 1)}")
        return "\n".join(lines)
    if isinstance(data, list):
        if not data:
            return "[]"
        return "\n".join(f"{pad}- " + _yaml(v, indent + 1).lstrip() for v in data)
    return json.dumps(data)


def generate() -> tuple[Path, Path]:
    if OUT.exists():
        shutil.rmtree(OUT)
    many = OUT / "many"
    many.mkdir(parents=True)
    one = OUT / "one.policy.json"
    one.write_text(json.dumps(ONE, indent=2) + "\n", encoding="utf-8")
    rng = random.Random(20261124)
    for i in range(1000):
        data = _policy(rng, i)
        if i % 4 == 3:
            (many / f"p{i:04d}.policy.yaml").write_text(_yaml(data) + "\n", encoding="utf-8")
        else:
            (many / f"p{i:04d}.policy.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return one, many


def _tool(name: str) -> str:
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        sys.exit(f"lint_bench.py: {name} not found (pip install -e '.[bench]')")
    return found


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=OUT,
                          env={**os.environ, "NO_COLOR": "1"})
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"lint_bench.py: {' '.join(cmd)} exited {proc.returncode}:\n"
                 f"{proc.stderr.decode(errors='replace')}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = ap.parse_args()

    compileall.compile_dir(str(ROOT / "policyctl"), quiet=1)
    one, many = generate()
    commands = {
        "policyctl lint one": [_tool("policyctl"), "lint", str(one)],
        "check-jsonschema one": [_tool("check-jsonschema"), "--schemafile", str(SCHEMA), str(one)],
        "policyctl lint 1000 files": [_tool("policyctl"), "lint", str(many)],
    }
    for cmd in commands.values():  # warm-up: OS file cache, byte code
        _time(cmd)
    samples: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            samples[name].append(_time(cmd))
    med = {k: statistics.median(v) for k, v in samples.items()}
    ratio = med["policyctl lint one"] / med["check-jsonschema one"]
    result = {
        "runs": args.runs,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "median_ms": {k: round(v * 1000, 1) for k, v in med.items()},
        "min_ms": {k: round(min(v) * 1000, 1) for k, v in samples.items()},
        "startup_ratio": round(ratio, 3),
        "startup_ok": ratio <= 0.35,
        "many_ok": med["policyctl lint 1000 files"] <= 2.0,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name in commands:
            print(f"{name:>26}: median {result['median_ms'][name]:7.1f} ms "
                  f"(min {result['min_ms'][name]:.1f}, n={args.runs})")
        print(f"{'start-up ratio':>26}: {ratio:.3f} (target <= 0.35) "
              f"{'ok' if result['startup_ok'] else 'TOO SLOW'}")
        print(f"{'1,000 files':>26}: {med['policyctl lint 1000 files']:.2f} s (target <= 2 s) "
              f"{'ok' if result['many_ok'] else 'TOO SLOW'}")
    return 0 if result["startup_ok"] and result["many_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
