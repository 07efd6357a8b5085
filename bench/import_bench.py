"""Benchmark `policyctl import claude-code` on a generated projects folder.

Generates ``bench/out/transcripts-<mb>/`` first if missing (``bench/import_gen.py``: Claude Code
2.1-shaped sessions, subagent files in three layouts, resumed copies, MCP calls one line in 40,
large built-in tool results that an importer must skip), then runs the real CLI as a child process
``--repeat`` times, writing the trace to a temporary file. Reports, per run: wall time, CPU time
(user + system of the child, from ``os.wait4``: the steadier number on a shared machine), MB/s of
transcript by wall and by CPU time, and peak RSS. Checks the import's answer against the
generator's manifest (calls per server, duplicates, not executed, upstream errors, denials).

    python bench/import_bench.py [--mb 1024] [--repeat 3] [--huge-line-mb 0] [--check]

``--check`` exits 1 unless the best run reaches 100 MB/s (CPU time) and every run stays within
64 MiB of peak RSS beyond the call-id set (estimated from the number of calls).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
# bytes per distinct call id kept for de-duplication and pairing (a set entry, a dict entry, the str)
ID_BYTES = 300


def _folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.jsonl"))


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall s, cpu s, peak RSS KiB, stderr) of one child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        err.seek(0)
        text = err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"import failed ({proc.returncode}):\n{text}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, text


def _check_answer(stderr: str, manifest: dict) -> list[str]:
    problems = []
    m = re.search(r"imported ([\d,]+) calls", stderr)
    if not m or int(m.group(1).replace(",", "")) != manifest["calls"]:
        problems.append(f"calls: expected {manifest['calls']}")
    for server, n in manifest["calls_per_server"].items():
        if f"  {server}: {n:,} call" not in stderr:
            problems.append(f"{server}: expected {n}")
    for key, words in (("duplicates_removed", "duplicates removed"), ("not_executed", "not executed"),
                       ("upstream_errors", "upstream errors"), ("observed_denied", "denied by a gateway")):
        if manifest[key] and f"  {manifest[key]:,} {words}" not in stderr:
            problems.append(f"{key}: expected {manifest[key]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=1024, help="size of the generated folder in MB (default 1024)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--huge-line-mb", type=int, default=0, help="add one tool-result line of N MiB")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)

    corpus = OUT / (f"transcripts-{a.mb}" + (f"-huge{a.huge_line_mb}" if a.huge_line_mb else ""))
    if not (corpus / "manifest.json").exists():
        OUT.mkdir(exist_ok=True)
        gen = [sys.executable, str(HERE / "import_gen.py"), str(corpus), "--mb", str(a.mb), "--seed", "7"]
        if a.huge_line_mb:
            gen += ["--huge-line-mb", str(a.huge_line_mb)]
        subprocess.run(gen, check=True)
    manifest = json.loads((corpus / "manifest.json").read_text())
    size = _folder_bytes(corpus / "projects")
    env = {**os.environ, "POLICYCTL_MCP_CONFIG": ""}
    print(f"corpus: {corpus.relative_to(HERE.parent)}: {size / 1e6:.0f} MB in {manifest['files']} files, "
          f"{manifest['calls']:,} distinct MCP calls (+{manifest['duplicates_removed']} copies, "
          f"{manifest['not_executed']} not executed); load average {os.getloadavg()[0]:.1f}")
    best_cpu = best_wall = float("inf")
    worst_rss = 0
    for i in range(a.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "trace.jsonl")
            wall, cpu, rss, stderr = _run([sys.executable, "-m", "policyctl", "import", "claude-code",
                                           str(corpus / "projects"), "-o", out], env)
        problems = _check_answer(stderr, manifest)
        if problems:
            print("WRONG ANSWER: " + "; ".join(problems) + "\n" + stderr)
            return 1
        best_cpu, best_wall, worst_rss = min(best_cpu, cpu), min(best_wall, wall), max(worst_rss, rss)
        print(f"run {i + 1}: wall {wall:.2f} s ({size / 1e6 / wall:.0f} MB/s), cpu {cpu:.2f} s "
              f"({size / 1e6 / cpu:.0f} MB/s), peak RSS {rss / 1024:.1f} MiB")
    ids = manifest["calls"] + manifest["not_executed"]
    id_mib = ids * ID_BYTES / (1 << 20)
    print(f"best: {size / 1e6 / best_wall:.0f} MB/s wall, {size / 1e6 / best_cpu:.0f} MB/s cpu; "
          f"peak RSS {worst_rss / 1024:.1f} MiB (call-id set ~{id_mib:.1f} MiB for {ids:,} ids); answer matches the manifest")
    if a.check and (size / 1e6 / best_cpu < 100 or worst_rss / 1024 - id_mib > 64):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
