"""A streamable-HTTP MCP server on 127.0.0.1 (standard library only) whose behaviour tests choose.

It speaks both eras (``server/discover`` + ``Mcp-Method`` headers, or ``initialize`` with an
``Mcp-Session-Id``), answers as JSON or as an event stream (optionally with an empty "priming"
event first and a server→client ``ping`` the client must answer), paginates, redirects ``/mcp/``
to ``/mcp`` with 307, can require a bearer token, and records every request so tests can check
headers, sessions and the final DELETE. Hostile modes: ``hang``, ``trickle``, ``html``,
``not-jsonrpc``, ``no-answer`` (202 to a request), ``loop-cursor``. ``tools/call`` echoes its
arguments as text (``oops`` answers ``isError``, ``fail`` a JSON-RPC error).

    python http_fixture.py PORT [--sse] [--legacy] [--page N]     # for manual runs and bench
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODERN = "2026-07-28"


def default_tools() -> list[dict]:
    tools = [
        {"name": "list_issues", "description": "List issues of a project.",
         "inputSchema": {"type": "object", "properties": {"project": {"type": "string"}}},
         "annotations": {"readOnlyHint": True, "openWorldHint": False}},
        {"name": "create_issue", "description": "Open a new issue.",
         "inputSchema": {"type": "object", "properties": {"title": {"type": "string"}, "body": {"type": "string"}}},
         "annotations": {"readOnlyHint": False, "destructiveHint": False}},
        {"name": "delete_project", "description": "Delete a project and all its issues.",
         "inputSchema": {"type": "object", "properties": {"project": {"type": "string"}}},
         "annotations": {"readOnlyHint": False, "destructiveHint": True}},
        {"name": "trigger_build", "description": "Start a CI build.",
         "inputSchema": {"type": "object", "properties": {"ref": {"type": "string"}, "api_token": {"type": "string"}}}},
        {"name": "pay_invoice", "description": "Pay a supplier invoice from the project budget.",
         "inputSchema": {"type": "object", "properties": {"invoice_id": {"type": "string"}}}},
        {"name": "fetch_url", "description": "Fetch a web page.",
         "inputSchema": {"type": "object", "properties": {"url": {"type": "string", "format": "uri"}}},
         "annotations": {"readOnlyHint": True, "openWorldHint": True}},
    ]
    tools += [{"name": f"metric_{i:02d}", "description": f"Return metric {i}.", "inputSchema": {"type": "object"},
               "annotations": {"readOnlyHint": True}} for i in range(8)]
    return tools


@dataclass
class Behaviour:
    sse: bool = False
    priming: bool = True
    server_ping: bool = False
    legacy_only: bool = False  # answers server/discover with HTTP 400, like the TS SDK
    page: int = 5
    require_token: str | None = None
    mode: str = "normal"  # normal, hang, trickle, html, not-jsonrpc, no-answer, loop-cursor, bad-redirect
    tools: list = field(default_factory=default_tools)


class _Handler(BaseHTTPRequestHandler):
    server: "FixtureServer"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _record(self, body: object) -> None:
        self.server.requests.append({"method": self.command, "path": self.path,
                                     "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})

    def _send(self, status: int, body: bytes = b"", ctype: str | None = None, headers: dict | None = None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_DELETE(self) -> None:  # noqa: N802 - http.server naming
        self._record(None)
        sid = self.headers.get("Mcp-Session-Id")
        if sid and sid in self.server.sessions:
            self.server.sessions.discard(sid)
            self._send(200)
        else:
            self._send(404)

    def do_POST(self) -> None:  # noqa: N802
        b = self.server.behaviour
        if self.path == "/mcp/":
            self._record(None)
            self._send(307, headers={"Location": "/mcp"})
            return
        if b.mode == "bad-redirect":  # a Location that is no usable URL
            self._record(None)
            self._send(307, headers={"Location": "http://[::1/mcp"})
            return
        if self.path != "/mcp":
            self._record(None)
            self._send(404, b"not found", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        msg = json.loads(raw)
        self._record(msg)
        if b.require_token and self.headers.get("Authorization") != f"Bearer {b.require_token}":
            self._send(401, b'{"error":"unauthorized"}', "application/json", {"WWW-Authenticate": "Bearer"})
            return
        method = msg.get("method")
        if "method" not in msg:  # a response from the client (to our ping)
            self.server.client_replies.append(msg)
            self._send(202)
            return
        if "id" not in msg:  # notification
            self._send(202)
            return
        if b.mode == "hang":
            time.sleep(30)
            return
        if b.mode == "html":
            self._send(200, b"<html>oops</html>", "text/html")
            return
        if b.mode == "not-jsonrpc":
            self._send(200, b'{"hello": "world"}', "application/json")
            return
        if b.mode == "no-answer":
            self._send(202)
            return
        rid = msg["id"]
        if method == "server/discover":
            if b.legacy_only:
                self._send(400, b'{"error":"Bad Request: unsupported protocol version"}', "application/json")
                return
            if self.headers.get("MCP-Protocol-Version") != MODERN or self.headers.get("Mcp-Method") != method:
                self._send(400, b"missing modern headers", "text/plain")
                return
            self._answer(rid, {"supportedVersions": [MODERN], "capabilities": {"tools": {}},
                               "resultType": "complete", "ttlMs": 0, "cacheScope": "private",
                               "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "http-fixture",
                                                                                "version": "2.0"}}})
            return
        if method == "initialize":
            sid = uuid.uuid4().hex
            self.server.sessions.add(sid)
            self._answer(rid, {"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                               "serverInfo": {"name": "http-fixture", "version": "2.0"}},
                         {"Mcp-Session-Id": sid})
            return
        if method == "tools/list":
            modern = self.headers.get("MCP-Protocol-Version") == MODERN
            if not modern:
                sid = self.headers.get("Mcp-Session-Id")
                if sid not in self.server.sessions:
                    self._send(404, b"unknown session", "text/plain")
                    return
                if self.headers.get("MCP-Protocol-Version") != "2025-11-25":
                    self._send(400, b"missing protocol version header", "text/plain")
                    return
            elif self.headers.get("Mcp-Method") != "tools/list":
                self._send(400, b"Mcp-Method header mismatch", "text/plain")
                return
            params = msg.get("params") or {}
            cursor = params.get("cursor")
            if b.mode == "loop-cursor":
                self._answer(rid, {"tools": b.tools[:1], "nextCursor": "same"})
                return
            start = int(cursor) if cursor else 0
            result: dict = {"tools": b.tools[start:start + b.page]}
            if start + b.page < len(b.tools):
                result["nextCursor"] = str(start + b.page)
            self._answer(rid, result)
            return
        if method == "tools/call":  # echo the arguments; "oops" is a tool error, "fail" a JSON-RPC error
            params = msg.get("params") or {}
            if params.get("name") == "fail":
                self._answer_error(rid, -32000, "it failed")
                return
            result = {"content": [{"type": "text", "text": json.dumps(params.get("arguments") or {},
                                                                      sort_keys=True)}]}
            if params.get("name") == "oops":
                result["isError"] = True
            self._answer(rid, result)
            return
        self._answer_error(rid, -32601, "Method not found")

    def _answer_error(self, rid: object, code: int, message: str) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}).encode()
        self._send(200, body, "application/json")

    def _answer(self, rid: object, result: dict, headers: dict | None = None) -> None:
        b = self.server.behaviour
        body = json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}).encode()
        if b.mode == "trickle":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b": keep-alive\n")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
            return
        if not b.sse:
            self._send(200, body, "application/json", headers)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Connection", "close")
        self.end_headers()
        out = b""
        if b.priming:
            out += b"id: 0\ndata:\n\n"  # the empty priming event TS servers send
        if b.server_ping:
            out += b"event: message\ndata: " + json.dumps({"jsonrpc": "2.0", "id": "srv-ping",
                                                           "method": "ping"}).encode() + b"\n\n"
            out += b": a comment line\r\n"
        # the answer split across two data lines (at a token boundary: the lines are joined with a
        # newline, which JSON allows only between tokens) with CRLF line endings
        text = body.decode()
        half = text.find(", ", len(text) // 2) + 1 or len(text)
        out += b"id: 1\r\nevent: message\r\ndata: " + text[:half].encode() + b"\r\ndata: " + text[half:].encode() + b"\r\n\r\n"
        self.wfile.write(out)
        self.wfile.flush()
        self.close_connection = True


class FixtureServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: Behaviour | None = None, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.behaviour = behaviour or Behaviour()
        self.requests: list[dict] = []
        self.sessions: set[str] = set()
        self.client_replies: list[dict] = []
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/mcp"

    def start(self) -> "FixtureServer":
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> "FixtureServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    behaviour = Behaviour(sse="--sse" in args, legacy_only="--legacy" in args)
    if "--page" in args:
        behaviour.page = int(args[args.index("--page") + 1])
    server = FixtureServer(behaviour, port=int(args[0]) if args else 0)
    print(server.url, flush=True)
    server.serve_forever()
