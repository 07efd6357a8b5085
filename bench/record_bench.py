"""What does `policyctl record` add to a tools/call round trip?

    python bench/record_bench.py [--calls N] [--pipelined M]

stdio: a minimal stdio server (written by this script: one fixed answer per tools/call) is spoken
to directly and through `policyctl record -o TRACE -- SERVER` (and with `--policy`, so every call
also gets a shadow decision). N sequential calls each; the added latency is the difference of the
percentiles (p50, p99). Then M calls are written back to back (pipelined) and the answers counted:
calls per second.

HTTP: the stdlib fixture (tests/servers/http_fixture.py, JSON answers) directly and through
`policyctl record --upstream URL --listen 127.0.0.1:PORT`, N sequential POSTs of tools/call on one
keep-alive connection.

Results go to bench/out/record.json and stdout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

SERVER = r'''
import sys
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    i = line.find(b'"id":')
    if i < 0:
        continue
    j = line.find(b",", i)
    ident = line[i + 5:j]
    if b'"initialize"' in line:
        out.write(b'{"jsonrpc":"2.0","id":' + ident + b',"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"bench","version":"1"}}}\n')
    else:
        out.write(b'{"jsonrpc":"2.0","id":' + ident + b',"result":{"content":[{"type":"text","text":"ok"}]}}\n')
    out.flush()
'''

POLICY = {"version": "1", "default": "allow",
          "tools": {"work": {"deny_if": [{"conditions": [{"path": "args.mode", "op": "eq", "value": "rm"}]}],
                             "limits": [{"counter": "work", "window": "minute", "max": 1000000, "scope": "grant"}]}}}


def call(i: int) -> bytes:
    return (b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"work","arguments":{"mode":"ls","n":%d}}}\n'
            % (i, i))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def stdio_cmd(proxy: list[str] | None, folder: str, tag: str) -> list[str]:
    server = [sys.executable, "-c", SERVER]
    if proxy is None:
        return server
    return [sys.executable, "-m", "policyctl", "record", "-o", os.path.join(folder, f"{tag}.jsonl"), *proxy,
            "--", *server]


def stdio_run(cmd: list[str], calls: int, pipelined: int) -> dict:
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO, bufsize=0)
    w, r = proc.stdin, proc.stdout
    assert w is not None and r is not None
    w.write(b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}\n')
    r.readline()
    times = []
    for i in range(1, calls + 201):
        t0 = time.perf_counter_ns()
        w.write(call(i))
        r.readline()
        if i > 200:  # warm-up
            times.append((time.perf_counter_ns() - t0) / 1e6)
    start = calls + 1000

    def writer() -> None:
        chunk = b"".join(call(start + k) for k in range(pipelined))
        w.write(chunk)

    t0 = time.perf_counter()
    threading.Thread(target=writer, daemon=True).start()
    for _ in range(pipelined):
        r.readline()
    rate = pipelined / (time.perf_counter() - t0)
    w.close()
    proc.wait(timeout=30)
    return {"p50_ms": pct(times, 50), "p99_ms": pct(times, 99), "calls_per_s": rate}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int) -> None:
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def http_run(port: int, calls: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    conn.request("POST", "/mcp", body=json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench"}}}), headers=headers)
    resp = conn.getresponse()
    resp.read()
    headers = {**headers, "Mcp-Session-Id": resp.getheader("Mcp-Session-Id") or "",
               "MCP-Protocol-Version": "2025-11-25"}
    times = []
    for i in range(1, calls + 101):
        body = call(i)
        t0 = time.perf_counter_ns()
        conn.request("POST", "/mcp", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if i > 100:
            times.append((time.perf_counter_ns() - t0) / 1e6)
    conn.close()
    return {"p50_ms": pct(times, 50), "p99_ms": pct(times, 99)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--pipelined", type=int, default=20000)
    opts = ap.parse_args()
    out: dict = {"calls": opts.calls, "pipelined": opts.pipelined}
    with tempfile.TemporaryDirectory() as folder:
        policy = os.path.join(folder, "p.policy.json")
        with open(policy, "w") as fh:
            json.dump(POLICY, fh)
        stdio = {}
        for tag, proxy in (("direct", None), ("record", []), ("record+policy", ["--policy", policy])):
            stdio[tag] = stdio_run(stdio_cmd(proxy, folder, tag), opts.calls, opts.pipelined)
        for tag in ("record", "record+policy"):
            stdio[tag]["added_p50_ms"] = stdio[tag]["p50_ms"] - stdio["direct"]["p50_ms"]
            stdio[tag]["added_p99_ms"] = stdio[tag]["p99_ms"] - stdio["direct"]["p99_ms"]
        out["stdio"] = stdio
        port = free_port()
        fixture = subprocess.Popen([sys.executable, str(REPO / "tests" / "servers" / "http_fixture.py"), str(port)],
                                   stdout=subprocess.DEVNULL, cwd=REPO)
        listen = free_port()
        proxy = subprocess.Popen([sys.executable, "-m", "policyctl", "record", "-o", os.path.join(folder, "h.jsonl"),
                                  "--upstream", f"http://127.0.0.1:{port}/mcp", "--listen", f"127.0.0.1:{listen}",
                                  "--policy", policy], stderr=subprocess.DEVNULL, cwd=REPO)
        try:
            wait_port(port)
            wait_port(listen)
            direct = http_run(port, opts.calls)
            via = http_run(listen, opts.calls)
        finally:
            proxy.terminate()
            fixture.terminate()
            proxy.wait(timeout=10)
            fixture.wait(timeout=10)
        via["added_p50_ms"] = via["p50_ms"] - direct["p50_ms"]
        via["added_p99_ms"] = via["p99_ms"] - direct["p99_ms"]
        out["http"] = {"direct": direct, "record+policy": via}
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "record.json").write_text(json.dumps(out, indent=2) + "\n")
    for transport in ("stdio", "http"):
        for tag, row in out[transport].items():
            cells = ", ".join(f"{k} {v:,.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())
            print(f"{transport:5} {tag:14} {cells}")


if __name__ == "__main__":
    main()
