"""What does `policyctl scan` cost beyond the server's own time to answer?

    python bench/scan_bench.py [--runs N]

For each stdio server it measures, as medians over N runs:
  server   spawn → tools/list answered, with a bare-bones raw JSON-RPC client (the floor: the
           server's own start-up and answer time; the process is killed right after)
  listed   policyctl's client in-process, spawn → every page listed (era probe and pagination
           included): compare with "server"
  +shutdown  the same plus the shutdown sequence (close stdin, wait for the server to exit)
  cli      wall time of `python -m policyctl scan --format json -- CMD` (adds interpreter and
           CLI start-up, classification and rendering)
and for streamable HTTP, scan_url() against the stdlib fixture on 127.0.0.1.

Results go to bench/out/scan.json. Servers: mcp-server-time (PyPI, test extra), the stdlib
fixture (tests/servers/stdio_fixture.py, 12 tools over 3 pages) and the official-SDK fixture
(tests/servers/sdk_server.py, 25 tools over 3 pages).
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
REPO = HERE.parent
sys.path.insert(0, str(REPO))

SERVERS = {
    "mcp-server-time": [sys.executable, "-m", "mcp_server_time"],
    "stdlib-fixture": [sys.executable, str(REPO / "tests" / "servers" / "stdio_fixture.py"), "normal", "--page", "4"],
    "sdk-fixture": [sys.executable, str(REPO / "tests" / "servers" / "sdk_server.py"), "stdio"],
}


def raw_time_to_answer(argv: list[str]) -> float:
    """Spawn, handshake (2025-11-25, no probe) and one tools/list: the server's own cost."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdin and proc.stdout

    def call(msg: dict) -> dict:
        proc.stdin.write(json.dumps(msg).encode() + b"\n")
        proc.stdin.flush()
        while True:
            reply = json.loads(proc.stdout.readline())
            if reply.get("id") == msg["id"]:
                return reply

    call({"jsonrpc": "2.0", "id": 1, "method": "initialize",
          "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}})
    proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    call({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    elapsed = time.perf_counter() - start
    proc.kill()
    proc.wait()
    return elapsed


def client_times(argv: list[str]) -> tuple[float, float]:
    """(spawn → all tools listed, spawn → server shut down) with policyctl's own client."""
    from policyctl.mcp.protocol import list_tools
    from policyctl.mcp.stdio import StdioConnection, child_environment

    start = time.perf_counter()
    with StdioConnection(argv, env=child_environment(), grace=2.0) as conn:
        list_tools(conn, timeout=30)
        listed = time.perf_counter() - start
    return listed, time.perf_counter() - start


def cli_time(argv: list[str]) -> float:
    env = dict(os.environ, NO_COLOR="1", POLICYCTL_MCP_CONFIG="")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "policyctl", "scan", "--format", "json", "--", *argv],
                   check=True, stdout=subprocess.DEVNULL, env=env, cwd=REPO)
    return time.perf_counter() - start


def http_time() -> float:
    from policyctl.mcp.client import scan_url
    from tests.servers.http_fixture import Behaviour, FixtureServer

    with FixtureServer(Behaviour(sse=True, legacy_only=True, page=5)) as server:
        start = time.perf_counter()
        scan_url(server.url, timeout=10)
        return time.perf_counter() - start


def median(fn, runs: int) -> float:  # noqa: ANN001
    fn()  # warm the file cache
    return round(statistics.median(fn() for _ in range(runs)), 3)


def medians(fn, runs: int) -> tuple[float, ...]:  # noqa: ANN001
    fn()
    samples = [fn() for _ in range(runs)]
    return tuple(round(statistics.median(col), 3) for col in zip(*samples))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    results: dict = {"runs": args.runs, "python": sys.version.split()[0], "stdio": {}}
    print(f"{'server':<18} {'server':>8} {'listed':>8} {'+shutdown':>10} {'cli wall':>9}   (seconds, medians)")
    for name, server_argv in SERVERS.items():
        raw = median(lambda argv=server_argv: raw_time_to_answer(argv), args.runs)
        listed, total = medians(lambda argv=server_argv: client_times(argv), args.runs)
        cli = median(lambda argv=server_argv: cli_time(argv), args.runs)
        results["stdio"][name] = {"server_answer_s": raw, "client_listed_s": listed, "client_total_s": total,
                                  "cli_wall_s": cli, "client_overhead_s": round(listed - raw, 3)}
        print(f"{name:<18} {raw:>8.3f} {listed:>8.3f} {total:>10.3f} {cli:>9.3f}")
    results["http_fixture_scan_s"] = median(http_time, args.runs)
    print(f"streamable HTTP (stdlib fixture, SSE, handshake era, 3 pages): {results['http_fixture_scan_s']:.3f} s")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "scan.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
