"""``policyctl record -- CMD`` with real processes: the proxy spawned as a user's client would, a
real stdio server behind it (the in-repo relay fixture, which logs every byte it reads and writes,
and ``mcp-server-time`` driven by the ``mcp`` SDK's own client)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.slow

SERVERS = Path(__file__).parent / "servers"
RELAY = [sys.executable, str(SERVERS / "relay_server.py")]
POLICY = {
    "version": "1", "default": "allow", "hide": ["secret"],
    "tools": {"echo": {"deny_if": [{"conditions": [{"path": "args.mode", "op": "eq", "value": "rm"}],
                                    "on_deny": "No rm here."}],
                       "limits": [{"counter": "echo", "window": "minute", "max": 3, "scope": "grant"}]}},
}


def msg(ident, method, params=None) -> bytes:
    m = {"jsonrpc": "2.0", "id": ident, "method": method}
    if params is not None:
        m["params"] = params
    return orjson.dumps(m)


def tool_call(ident, name, args=None) -> bytes:
    return msg(ident, "tools/call", {"name": name, "arguments": args or {}})


class Proxy:
    """``policyctl record`` as a child, spoken to line by line."""

    def __init__(self, tmp: Path, *extra: str, server_args: tuple[str, ...] = (), trace: str = "t.jsonl") -> None:
        self.tmp = tmp
        self.trace = tmp / trace
        self.log = tmp / "server.log"
        self.pidfile = tmp / "server.pid"
        cmd = [sys.executable, "-m", "policyctl", "record", "-o", str(self.trace), *extra, "--",
               *RELAY, "--log", str(self.log), "--pidfile", str(self.pidfile), *server_args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.sent: list[bytes] = []
        self.received: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr = b""
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def send(self, line: bytes) -> None:
        assert self.proc.stdin is not None
        self.sent.append(line)
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()

    def recv(self, timeout: float = 10.0) -> bytes:
        line = self.lines.get(timeout=timeout)
        assert line is not None, "the proxy closed its stdout"
        self.received.append(line.rstrip(b"\n"))
        return self.received[-1]

    def recv_json(self, timeout: float = 10.0) -> dict:
        return orjson.loads(self.recv(timeout))

    def close(self, timeout: float = 15.0) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=timeout)

    def rest(self) -> list[bytes]:
        out = []
        while True:
            line = self.lines.get(timeout=10)
            if line is None:
                return out
            out.append(line.rstrip(b"\n"))

    def server_log(self) -> tuple[list[bytes], list[bytes]]:
        got, said = [], []
        for line in self.log.read_bytes().split(b"\n"):
            if line.startswith(b"> "):
                got.append(line[2:])
            elif line.startswith(b"< "):
                said.append(line[2:])
        return got, said

    def trace_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.trace.read_text().splitlines() if line.strip()]


def server_pid(proxy: Proxy) -> int:
    for _ in range(100):
        if proxy.pidfile.exists() and proxy.pidfile.read_text():
            return int(proxy.pidfile.read_text())
        time.sleep(0.05)
    raise AssertionError("the server did not start")


def gone(pid: int, within: float = 5.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.05)
    return False


def test_every_message_passes_byte_for_byte_both_ways(tmp_path: Path) -> None:
    p = Proxy(tmp_path, server_args=("--exit-code", "5"))
    p.send(msg(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t"}}))
    assert p.recv_json()["result"]["serverInfo"]["name"] == "relay-fixture"
    p.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
    p.send(msg(1, "tools/list"))
    assert p.recv_json()["result"]["nextCursor"] == "2"
    p.send(b"this line is not JSON at all")  # forwarded unchanged and counted
    p.send(b'{ "jsonrpc" : "2.0", "id" : "e1", "method" : "tools/call", "params" : {"name": "echo", "arguments": {"x": [1, 2.50, "\\u00e9"]}} }')
    assert p.recv_json()["method"] == "notifications/progress"
    assert p.recv_json()["id"] == "e1"
    p.send(tool_call(2, "garbage"))
    assert p.recv() == b"this is not JSON"
    assert p.recv_json()["id"] == 2
    p.send(tool_call(3, "ask"))  # the server asks the client (sampling) before it answers
    ask = p.recv_json()
    assert ask["method"] == "sampling/createMessage"
    p.send(orjson.dumps({"jsonrpc": "2.0", "id": ask["id"], "result": {"role": "assistant", "model": "m",
                                                                      "content": {"type": "text", "text": "hi"}}}))
    assert p.recv_json()["id"] == 3
    p.send(b"[" + tool_call(4, "oops") + b"," + tool_call(5, "fail") + b"]")  # a batch
    assert [m["id"] for m in p.recv_json()] == [4, 5]
    p.send(msg(6, "ping"))
    assert p.recv_json() == {"jsonrpc": "2.0", "id": 6, "result": {}}
    assert p.close() == 5  # the server's own exit status
    got, said = p.server_log()
    assert got == p.sent  # the server read exactly what the client wrote
    assert p.rest() == []
    assert p.received == said  # and the client read exactly what the server wrote
    recorded = p.trace_lines()
    assert [(r["id"], r["tool"], r["upstream"], r["upstream_error"]) for r in recorded] == [
        ("e1", "echo", "ok", False), (2, "garbage", "ok", False), (3, "ask", "ok", False),
        (4, "oops", "tool_error", True), (5, "fail", "jsonrpc_error", True)]
    assert recorded[0]["args"] == {"x": [1, 2.5, "é"]} and recorded[0]["server"] == "relay-fixture"
    assert b"2 malformed from the server" not in p.stderr  # one line: "this is not JSON"
    assert b"1 malformed from the client, 1 malformed from the server" in p.stderr


def test_pipelined_calls_answered_out_of_order_replay_in_simulate(tmp_path: Path) -> None:
    policy = tmp_path / "p.policy.json"
    policy.write_text(json.dumps(POLICY))
    p = Proxy(tmp_path, "--policy", str(policy), "--grant", "ci")
    p.send(tool_call(1, "slow", {"delay": 0.4}))
    for i in range(2, 7):
        p.send(tool_call(i, "echo", {"mode": "rm" if i == 3 else "ls"}))
    p.send(tool_call(7, "slow", {"delay": 0.1}))
    ids = []
    for _ in range(12):
        m = p.recv_json()
        if "id" in m:
            ids.append(m["id"])
    assert ids[0] != 1 and set(ids) == set(range(1, 8))  # answers overtook each other
    assert p.close() == 0
    recorded = p.trace_lines()
    assert [r["id"] for r in recorded] == list(range(1, 8))  # arrival order
    assert [r["shadow"]["reason"] for r in recorded] == ["allowed", "allowed", "deny_if", "allowed", "allowed",
                                                        "rate_limited", "allowed"]
    out = subprocess.run([sys.executable, "-m", "policyctl", "simulate", str(p.trace), "--policy", str(policy),
                          "--format", "jsonl"], capture_output=True, check=True)
    replayed = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(d["decision"], d["reason"], d["rule"]) for d in replayed] == \
        [(r["shadow"]["decision"], r["shadow"]["reason"], r["shadow"]["rule"]) for r in recorded]
    assert b"policy: allowed 5, would deny 2 (deny_if 1, rate_limited 1)" in p.stderr


def test_enforce_keeps_denied_calls_and_hidden_tools_from_the_server(tmp_path: Path) -> None:
    policy = tmp_path / "p.policy.json"
    policy.write_text(json.dumps(POLICY))
    p = Proxy(tmp_path, "--policy", str(policy), "--enforce", "--tools-out", str(tmp_path / "tools.json"))
    p.send(msg(0, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t"}}))
    p.recv_json()
    names, cursor, ident = [], None, 10
    while True:
        p.send(msg(ident, "tools/list", {"cursor": cursor} if cursor else None))
        page = p.recv_json()["result"]
        names += [t["name"] for t in page["tools"]]
        cursor = page.get("nextCursor")
        ident += 1
        if not cursor:
            break
    assert names == ["echo", "slow", "fail", "oops", "big", "bigts", "ask", "garbage", "crash"]  # no "secret"
    p.send(tool_call(1, "echo", {"mode": "rm"}))
    assert p.recv_json() == {"jsonrpc": "2.0", "id": 1, "result": {
        "content": [{"type": "text", "text": "No rm here."}], "isError": True}}
    p.send(tool_call(2, "secret"))
    assert p.recv_json()["result"]["content"][0]["text"] == 'Tool "secret" is hidden by policy'
    p.send(tool_call(3, "echo", {"mode": "ls"}))
    assert p.recv_json()["method"] == "notifications/progress"
    assert p.recv_json()["id"] == 3
    assert p.close() == 0
    got, _ = p.server_log()
    calls = [json.loads(line) for line in got if b"tools/call" in line]
    assert [c["id"] for c in calls] == [3]  # the server never saw the denied calls
    assert [(r["id"], r["upstream"]) for r in p.trace_lines()] == [(1, "not_forwarded"), (2, "not_forwarded"),
                                                                   (3, "ok")]
    snapshot = json.loads((tmp_path / "tools.json").read_text())
    assert snapshot["policyctl_snapshot"] == 1 and snapshot["server"]["name"] == "relay-fixture"
    assert [t["name"] for t in snapshot["tools"]][-1] == "secret"  # the server's own list, unfiltered
    lint = subprocess.run([sys.executable, "-m", "policyctl", "lint", "--tools", str(tmp_path / "tools.json"),
                           str(policy)], capture_output=True)
    assert lint.returncode == 0, lint.stdout


def test_a_changed_policy_is_enforced_and_a_broken_one_refused(tmp_path: Path) -> None:
    policy = tmp_path / "p.policy.json"
    policy.write_text(json.dumps(POLICY))
    p = Proxy(tmp_path, "--policy", str(policy), "--enforce")
    p.send(tool_call(1, "fail"))
    assert "error" in p.recv_json()  # allowed: the server answered
    policy.write_text(json.dumps({**POLICY, "default": "deny"}))
    time.sleep(0.3)
    p.send(tool_call(2, "fail"))
    assert p.recv_json()["result"]["isError"] is True  # denied by the new version
    policy.write_text('{"version": "1", "default": "perhaps"}')
    time.sleep(0.3)
    p.send(tool_call(3, "fail"))
    assert p.recv_json()["result"]["content"][0]["text"] == 'Tool "fail" is not permitted by policy'
    assert p.close() == 0
    assert b"changed but the new version is refused" in p.stderr


def test_kill_9_leaves_a_whole_trace_and_no_server_behind(tmp_path: Path) -> None:
    p = Proxy(tmp_path)
    pid = server_pid(p)
    for i in range(3):
        p.send(tool_call(i, "echo", {"i": i}))
        p.recv_json()
        p.recv_json()
    p.send(tool_call(9, "slow", {"delay": 30}))
    time.sleep(0.2)
    p.proc.kill()
    p.proc.wait(timeout=5)
    assert [r["id"] for r in p.trace_lines()] == [0, 1, 2]  # every answered call, every line whole
    assert gone(pid)


def test_sigterm_stops_the_server_writes_the_trace_and_passes_its_status_on(tmp_path: Path) -> None:
    p = Proxy(tmp_path, server_args=("--exit-code", "4"))
    pid = server_pid(p)
    p.send(tool_call(1, "echo"))
    p.recv_json()
    p.recv_json()
    p.send(tool_call(2, "slow", {"delay": 30}))
    time.sleep(0.2)
    p.proc.send_signal(signal.SIGTERM)
    assert p.proc.wait(timeout=10) == 4
    assert [(r["id"], r["upstream"]) for r in p.trace_lines()] == [(1, "ok"), (2, "no_response")]
    assert gone(pid)


def test_a_crashing_server_ends_the_session_with_its_status(tmp_path: Path) -> None:
    p = Proxy(tmp_path)
    p.send(tool_call(1, "crash"))
    assert p.proc.wait(timeout=10) == 7
    assert [(r["id"], r["upstream"]) for r in p.trace_lines()] == [(1, "no_response")]


def test_a_stubborn_server_group_is_stopped(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    pidfile = tmp_path / "pids"
    proc = subprocess.Popen([sys.executable, "-m", "policyctl", "record", "-o", str(trace), "--",
                             sys.executable, str(SERVERS / "stdio_fixture.py"), "stubborn", "--pidfile", str(pidfile)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    proc.stdin.close()  # type: ignore[union-attr]
    assert proc.wait(timeout=20) == 128 + signal.SIGKILL
    pids = [int(x) for x in pidfile.read_text().split()]
    assert pids and all(gone(pid) for pid in pids)


def test_fifty_megabyte_messages_stream_through_with_bounded_memory(tmp_path: Path) -> None:
    size = 50 * 1024 * 1024
    p = Proxy(tmp_path)
    p.send(tool_call(1, "big", {"size": size}))
    line = p.recv(timeout=60)
    assert len(line) > size and line.startswith(b'{"jsonrpc":"2.0","id":1,')
    assert orjson.loads(line)["result"]["content"][0]["text"] == "x" * size
    p.send(tool_call(2, "bigts", {"size": size}))
    assert orjson.loads(p.recv(timeout=60))["id"] == 2
    p.send(tool_call(3, "echo", {"blob": "y" * size}))  # and one the client sends
    assert p.recv_json(timeout=60)["method"] == "notifications/progress"
    assert orjson.loads(p.recv(timeout=60))["id"] == 3
    with open(f"/proc/{p.proc.pid}/status") as fh:
        peak_kib = next(int(row.split()[1]) for row in fh if row.startswith("VmHWM:"))
    assert p.close() == 0
    assert peak_kib < 130 * 1024, peak_kib  # a 50 MB message held whole (and parsed) would need far more
    assert [(r["id"], r["upstream"]) for r in p.trace_lines()] == [(1, "ok"), (2, "tool_error")]
    # four: the two answers, the client's call (too large to record) and its echo
    assert b"4 too large to read (relayed unread)" in p.stderr


def test_enforce_refuses_a_call_too_large_to_check(tmp_path: Path) -> None:
    """Under --enforce a client message of 16 MiB or more cannot be read, so it cannot be checked:
    it is not forwarded (fail closed) and the client hears why once; shadow mode passes it on
    unread (the test above). The session goes on normally afterwards."""
    policy = tmp_path / "p.policy.json"
    policy.write_text(json.dumps(POLICY))
    size = 17 * 1024 * 1024
    p = Proxy(tmp_path, "--policy", str(policy), "--enforce")
    p.send(tool_call(1, "echo", {"mode": "ls", "blob": "y" * size}))
    assert p.recv_json(timeout=60) == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32600, "message": "policyctl record --enforce: message too large to check; not forwarded"}}
    p.send(tool_call(2, "echo", {"mode": "ls"}))
    assert p.recv_json()["method"] == "notifications/progress"
    assert p.recv_json()["id"] == 2
    assert p.close() == 0
    got, _ = p.server_log()
    assert [json.loads(line)["id"] for line in got if b"tools/call" in line] == [2]
    assert max(len(line) for line in got) < 1024  # not a byte of the large one reached the server
    assert [(r["id"], r["upstream"]) for r in p.trace_lines()] == [(2, "ok")]
    assert b"1 too large to read" in p.stderr and b"(too-large client messages refused under --enforce)" in p.stderr


def test_existing_traces_are_refused_continued_or_replaced(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"ts": "2026-11-24T10:00:00.000Z", "tool": "echo", "args": {}}\n')
    run = lambda *a: subprocess.run([sys.executable, "-m", "policyctl", "record", "-o", str(trace), *a, "--",  # noqa: E731
                                     *RELAY, "--log", str(tmp_path / "log")], input=b"", capture_output=True)
    refused = run()
    assert refused.returncode == 2 and b"already exists" in refused.stderr
    assert run("--append").returncode == 0
    assert trace.read_text().count("\n") == 1
    assert run("--force").returncode == 0 and trace.read_text() == ""
    assert (trace.stat().st_mode & 0o777) == 0o600
    usage = subprocess.run([sys.executable, "-m", "policyctl", "record", "-o", str(tmp_path / "x"), "--enforce",
                            "--", *RELAY], capture_output=True)
    assert usage.returncode == 2 and b"--enforce needs --policy" in usage.stderr


def test_the_sdk_client_gets_what_the_server_sent_through_the_proxy(tmp_path: Path) -> None:
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    async def session(params: StdioServerParameters) -> list:
        seen = []
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                init = await s.initialize()
                seen.append(init.model_dump(mode="json", by_alias=True, exclude_none=True))
                seen.append((await s.list_tools()).model_dump(mode="json", by_alias=True, exclude_none=True))
                for args in ({"source_timezone": "UTC", "time": "10:00", "target_timezone": "Asia/Tokyo"},
                             {"source_timezone": "Nowhere/City", "time": "10:00", "target_timezone": "UTC"}):
                    res = await s.call_tool("convert_time", args)
                    seen.append(res.model_dump(mode="json", by_alias=True, exclude_none=True))
        return seen

    server = [sys.executable, "-m", "mcp_server_time"]
    trace = tmp_path / "t.jsonl"
    direct = anyio.run(session, StdioServerParameters(command=server[0], args=server[1:]))
    proxied = anyio.run(session, StdioServerParameters(
        command=sys.executable, args=["-m", "policyctl", "record", "-o", str(trace), "--", *server]))
    assert proxied == direct
    assert [(r["tool"], r["server"], r["upstream"]) for r in map(json.loads, trace.read_text().splitlines())] == [
        ("convert_time", "mcp-time", "ok"), ("convert_time", "mcp-time", "tool_error")]


def test_enforce_keeps_a_lenient_parsers_call_from_a_real_sdk_server(tmp_path: Path) -> None:
    """The Python SDK's server (pydantic) reads NaN, which the proxy's strict parser refuses: a
    call to a hidden tool with a NaN argument would run behind a proxy that passed on what it could
    not read. Shadow mode shows the server running it; --enforce refuses it and the server never
    sees it."""
    policy = tmp_path / "p.policy.json"
    policy.write_text(json.dumps({"version": "1", "default": "allow", "hide": ["get_current_time"]}))
    sneaky = (b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_current_time",'
              b'"arguments":{"timezone":"UTC","x":NaN}}}\n')
    start = (msg(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                   "clientInfo": {"name": "t", "version": "1"}}) + b"\n"
             + msg(None, "notifications/initialized").replace(b'"id":null,', b"") + b"\n")

    def session(*flags: str) -> list[dict]:
        """Until the server (or the proxy) has answered the sneaky call: the stdin stays open."""
        proc = subprocess.Popen([sys.executable, "-m", "policyctl", "record", "-o",
                                 str(tmp_path / f"t{len(flags)}.jsonl"), *flags, "--",
                                 sys.executable, "-m", "mcp_server_time"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(start + sneaky)
        proc.stdin.flush()
        got = []
        for line in proc.stdout:
            got.append(orjson.loads(line))
            if got[-1].get("id") in (2, None):
                break
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
        return got

    shadow = session()
    answer = next(m for m in shadow if m.get("id") == 2)
    assert answer["result"]["isError"] is False and "UTC" in answer["result"]["content"][0]["text"]
    enforced = session("--policy", str(policy), "--enforce")
    assert next(m for m in enforced if m.get("id") is None and "error" in m) == {
        "jsonrpc": "2.0", "id": None,
        "error": {"code": -32700, "message": "policyctl record --enforce: not valid JSON; not forwarded"}}
    assert all(m.get("id") != 2 for m in enforced)  # refused at once: the server never answered it
    assert (tmp_path / "t3.jsonl").read_text() == ""  # nor was it a call to record


def test_the_server_gets_a_minimal_environment_plus_what_is_named(tmp_path: Path) -> None:
    env = {**os.environ, "GIVEN_TOKEN": "from-the-client", "OTHER_SECRET": "kept-back"}
    out = subprocess.run([sys.executable, "-m", "policyctl", "record", "-o", str(tmp_path / "t.jsonl"),
                          "--env", "GIVEN_TOKEN", "--env", "EXTRA=1", "--", sys.executable,
                          str(SERVERS / "stdio_fixture.py"), "env"],
                         input=msg(1, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                                     "clientInfo": {"name": "t"}}) + b"\n" + msg(2, "tools/list") + b"\n",
                         capture_output=True, env=env, timeout=30)
    listed = json.loads(out.stdout.splitlines()[1])["result"]["tools"][0]["description"]
    assert "GIVEN_TOKEN" in listed and "EXTRA" in listed and "OTHER_SECRET" not in listed


def test_a_server_that_cannot_start_leaves_no_trace_file(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    out = subprocess.run([sys.executable, "-m", "policyctl", "record", "-o", str(trace), "--",
                          "no-such-command-anywhere"], capture_output=True, input=b"")
    assert out.returncode == 2 and b"command not found: no-such-command-anywhere" in out.stderr
    assert not trace.exists()
