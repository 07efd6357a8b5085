"""A stdio MCP server (standard library only) for testing ``policyctl record``'s relay.

    python relay_server.py --log FILE [--exit-code N] [--pidfile FILE]

It logs every line it reads (``> ``) and writes (``< ``) to FILE, byte for byte, so a test can
compare what the client sent and received with what the server saw and said. Tools:

  echo      answers {"echo": arguments} (and sends a progress notification first)
  slow      answers after arguments.delay seconds, in a thread (answers overtake each other)
  fail      answers with a JSON-RPC error
  oops      answers with a tool result whose isError is true
  big       answers with a text of arguments.size bytes in one line (id first, Python-SDK style)
  bigts     the same with the id last (TypeScript-SDK style)
  ask       asks the client for sampling/createMessage and answers with what the client said
  garbage   writes a line that is not JSON, then answers
  crash     exits at once with status 7
  secret    (hidden by the tests' policies)

tools/list pages two tools at a time. A JSON array on stdin is a batch: answered as an array. On
end of input the server exits with --exit-code (default 0); SIGTERM exits 143.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

NAMES = ["echo", "slow", "fail", "oops", "big", "bigts", "ask", "garbage", "crash", "secret"]
TOOLS = [{"name": n, "description": f"The {n} tool.", "inputSchema": {"type": "object"}} for n in NAMES]
PAGE = 2

_lock = threading.Lock()
_log = None
_pending_asks: dict = {}


def write(line: bytes) -> None:
    with _lock:
        sys.stdout.buffer.write(line + b"\n")
        sys.stdout.buffer.flush()
        _log.write(b"< " + line + b"\n")
        _log.flush()


def send(msg: object) -> None:
    write(json.dumps(msg, separators=(",", ":")).encode())


def result(ident: object, value: dict) -> dict:
    return {"jsonrpc": "2.0", "id": ident, "result": value}


def text(ident: object, body: str, error: bool = False) -> dict:
    res: dict = {"content": [{"type": "text", "text": body}]}
    if error:
        res["isError"] = True
    return result(ident, res)


def answer(msg: dict) -> dict | None:
    method = msg.get("method")
    ident = msg.get("id")
    if method is None:  # a response to our own request (sampling)
        waiter = _pending_asks.pop(ident, None)
        if waiter is not None:
            send(text(waiter, json.dumps(msg.get("result"), sort_keys=True)))
        return None
    if ident is None:
        return None
    if method == "initialize":
        return result(ident, {"protocolVersion": msg["params"].get("protocolVersion", "2025-11-25"),
                              "capabilities": {"tools": {"listChanged": False}},
                              "serverInfo": {"name": "relay-fixture", "version": "1.2.3"}})
    if method == "ping":
        return result(ident, {})
    if method == "tools/list":
        cursor = (msg.get("params") or {}).get("cursor")
        start = int(cursor) if cursor else 0
        page: dict = {"tools": TOOLS[start:start + PAGE]}
        if start + PAGE < len(TOOLS):
            page["nextCursor"] = str(start + PAGE)
        return result(ident, page)
    if method != "tools/call":
        return {"jsonrpc": "2.0", "id": ident, "error": {"code": -32601, "message": "Method not found"}}
    name = msg["params"]["name"]
    args = msg["params"].get("arguments") or {}
    if name == "echo":
        send({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": str(ident),
                                                                              "progress": 1}})
        return text(ident, json.dumps({"echo": args}, sort_keys=True))
    if name == "slow":
        def later() -> None:
            time.sleep(float(args.get("delay", 0.1)))
            send(text(ident, "slept"))
        threading.Thread(target=later, daemon=True).start()
        return None
    if name == "fail":
        return {"jsonrpc": "2.0", "id": ident, "error": {"code": -32000, "message": "it failed"}}
    if name == "oops":
        return text(ident, "the tool could not do it", error=True)
    if name in ("big", "bigts"):
        body = "x" * int(args.get("size", 1))
        if name == "big":
            write(b'{"jsonrpc":"2.0","id":' + json.dumps(ident).encode() + b',"result":{"content":[{"type":"text","text":"'
                  + body.encode() + b'"}]}}')
        else:
            write(b'{"result":{"content":[{"type":"text","text":"' + body.encode()
                  + b'"}],"isError":true},"jsonrpc":"2.0","id":' + json.dumps(ident).encode() + b"}")
        return None
    if name == "ask":
        key = f"ask-{ident}"
        _pending_asks[key] = ident
        send({"jsonrpc": "2.0", "id": key, "method": "sampling/createMessage",
              "params": {"messages": [], "maxTokens": 1}})
        return None
    if name == "garbage":
        write(b"this is not JSON")
        return text(ident, "after garbage")
    if name == "crash":
        os._exit(7)
    return text(ident, name)


def main(argv: list[str]) -> None:
    global _log
    log_path = argv[argv.index("--log") + 1]
    code = int(argv[argv.index("--exit-code") + 1]) if "--exit-code" in argv else 0
    if "--pidfile" in argv:
        with open(argv[argv.index("--pidfile") + 1], "w") as fh:
            fh.write(str(os.getpid()))
    _log = open(log_path, "ab")
    signal.signal(signal.SIGTERM, lambda *a: os._exit(143))
    for raw in sys.stdin.buffer:
        line = raw.rstrip(b"\n")
        with _lock:
            _log.write(b"> " + line + b"\n")
            _log.flush()
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, list):
            answers = [a for a in (answer(m) for m in data if isinstance(m, dict)) if a is not None]
            if answers:
                send(answers)
            continue
        if isinstance(data, dict):
            out = answer(data)
            if out is not None:
                send(out)
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
